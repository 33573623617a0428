using System.Text;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>Flume's <c>decodeErrorPolicy</c>: what to do with bytes that are not valid in the input charset.</summary>
public enum DecodeErrorPolicy
{
    /// <summary>Stop reading the file (Flume: the source fails; Zooflow: the file is set aside with the offset).</summary>
    Fail,
    /// <summary>Replace each malformed sequence with U+FFFD.</summary>
    Replace,
    /// <summary>Drop the malformed bytes.</summary>
    Ignore,
}

/// <summary>
/// A character set named as Java names it (<c>inputCharset</c>, <c>outputCharset</c>), mapped to .NET with Java's
/// behaviour: the byte sequence of a newline, BOM handling of <c>UTF-16</c>/<c>UTF-32</c> (input: a BOM picks the byte
/// order, big-endian without one; output: a big-endian BOM before every encoded string, as Java's
/// <c>String.getBytes("UTF-16")</c>), and <c>?</c> for characters the charset cannot encode.
/// </summary>
internal sealed class JavaCharset
{
    /// <summary>The names accepted (case-insensitive), for error messages.</summary>
    public const string Allowed = "UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE, UTF-32, UTF-32BE, UTF-32LE";

    private readonly DecodeErrorPolicy _policy;

    private JavaCharset(string name, Encoding encoding, DecodeErrorPolicy policy, bool detectBom, bool bigEndianBomOnOutput)
    {
        _policy = policy;
        Name = name;
        Encoding = encoding;
        Newline = encoding.GetBytes("\n");
        DetectBom = detectBom;
        OutputPreamble = bigEndianBomOnOutput ? encoding.GetPreamble() : [];
    }

    /// <summary>The Java name, as configured.</summary>
    public string Name { get; }

    /// <summary>The .NET encoding with the configured decode fallback.</summary>
    public Encoding Encoding { get; }

    /// <summary>The encoded <c>\n</c>; its length is also the alignment of code units.</summary>
    public byte[] Newline { get; }

    /// <summary><c>UTF-16</c> / <c>UTF-32</c> input: a BOM at the start of a file selects the byte order.</summary>
    public bool DetectBom { get; }

    /// <summary>Bytes Java puts before every encoded string (the BOM for <c>UTF-16</c>).</summary>
    public byte[] OutputPreamble { get; }

    /// <summary>Whether this is UTF-8 (the fast path: valid UTF-8 lines are passed through as bytes).</summary>
    public bool IsUtf8 => Encoding is UTF8Encoding;

    /// <summary>Resolves <paramref name="name"/>; null when it is not one of <see cref="Allowed"/>.</summary>
    public static JavaCharset? TryResolve(string name, DecodeErrorPolicy policy)
    {
        var (encoding, detectBom) = name.ToUpperInvariant() switch
        {
            "UTF-8" or "UTF8" => ((Encoding)new UTF8Encoding(false), false),
            "US-ASCII" or "ASCII" => (Encoding.ASCII, false),
            "ISO-8859-1" or "ISO8859_1" or "ISO8859-1" or "LATIN1" => (Encoding.Latin1, false),
            "UTF-16" or "UTF_16" => (new UnicodeEncoding(bigEndian: true, byteOrderMark: true), true),
            "UTF-16BE" or "UNICODEBIGUNMARKED" => (new UnicodeEncoding(bigEndian: true, byteOrderMark: false), false),
            "UTF-16LE" or "UNICODELITTLEUNMARKED" => (new UnicodeEncoding(bigEndian: false, byteOrderMark: false), false),
            "UTF-32" or "UTF_32" => (new UTF32Encoding(bigEndian: true, byteOrderMark: true), true),
            "UTF-32BE" => (new UTF32Encoding(bigEndian: true, byteOrderMark: false), false),
            "UTF-32LE" => (new UTF32Encoding(bigEndian: false, byteOrderMark: false), false),
            _ => ((Encoding?)null, false),
        };
        return encoding is null ? null : new JavaCharset(name, WithFallbacks(encoding, policy), policy, detectBom, bigEndianBomOnOutput: detectBom && encoding is UnicodeEncoding);
    }

    /// <summary>For a BOM-detecting charset, the concrete byte order of a file that starts with <paramref name="start"/>
    /// and the BOM's length; otherwise this charset and 0.</summary>
    public JavaCharset ForFile(ReadOnlySpan<byte> start, out int bomLength)
    {
        bomLength = 0;
        if (!DetectBom)
        {
            return this;
        }
        var utf32 = Encoding is UTF32Encoding;
        var littleEndian = false;
        if (utf32 && start.Length >= 4 && start[..4].SequenceEqual(new byte[] { 0xFF, 0xFE, 0, 0 }))
        {
            littleEndian = true;
            bomLength = 4;
        }
        else if (utf32 && start.Length >= 4 && start[..4].SequenceEqual(new byte[] { 0, 0, 0xFE, 0xFF }))
        {
            bomLength = 4;
        }
        else if (!utf32 && start.Length >= 2 && start[0] == 0xFF && start[1] == 0xFE)
        {
            littleEndian = true;
            bomLength = 2;
        }
        else if (!utf32 && start.Length >= 2 && start[0] == 0xFE && start[1] == 0xFF)
        {
            bomLength = 2;
        }
        Encoding concrete = utf32 ? new UTF32Encoding(!littleEndian, false) : new UnicodeEncoding(!littleEndian, false);
        return new JavaCharset(Name, WithFallbacks(concrete, _policy), _policy, detectBom: false, bigEndianBomOnOutput: false);
    }

    /// <summary>Encodes <paramref name="chars"/> as Java's <c>String.getBytes</c> would.</summary>
    public byte[] GetBytes(ReadOnlySpan<char> chars)
    {
        var length = Encoding.GetByteCount(chars);
        var bytes = new byte[OutputPreamble.Length + length];
        OutputPreamble.CopyTo(bytes, 0);
        Encoding.GetBytes(chars, bytes.AsSpan(OutputPreamble.Length));
        return bytes;
    }

    private static Encoding WithFallbacks(Encoding encoding, DecodeErrorPolicy policy)
    {
        var clone = (Encoding)encoding.Clone();
        clone.EncoderFallback = new EncoderReplacementFallback("?");
        clone.DecoderFallback = policy switch
        {
            DecodeErrorPolicy.Fail => DecoderFallback.ExceptionFallback,
            DecodeErrorPolicy.Ignore => new DecoderReplacementFallback(""),
            _ => new DecoderReplacementFallback("\uFFFD"),
        };
        return clone;
    }
}
