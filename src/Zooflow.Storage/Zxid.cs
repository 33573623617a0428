using System.Globalization;

namespace Zooflow.Storage;

/// <summary>
/// Helpers for ZooKeeper transaction ids: a 64-bit value whose high 32 bits are the epoch and low 32 bits a counter
/// within the epoch. Storage treats a zxid as an opaque, strictly increasing, positive <see cref="long"/>.
/// </summary>
public static class Zxid
{
    /// <summary>Builds a zxid from an epoch and a counter (<c>epoch &lt;&lt; 32 | counter</c>).</summary>
    public static long Make(int epoch, uint counter) => ((long)epoch << 32) | counter;

    /// <summary>The epoch (high 32 bits).</summary>
    public static int Epoch(long zxid) => (int)(zxid >> 32);

    /// <summary>The counter within the epoch (low 32 bits).</summary>
    public static uint Counter(long zxid) => (uint)zxid;

    /// <summary>Lower-case hexadecimal without prefix, as ZooKeeper names its files (<c>log.100000001</c>).</summary>
    public static string ToHex(long zxid) => zxid.ToString("x", CultureInfo.InvariantCulture);

    /// <summary><c>0x</c>-prefixed hexadecimal for messages.</summary>
    public static string Format(long zxid) => "0x" + ToHex(zxid);

    /// <summary>Parses the hex suffix of a file name such as <c>log.1a</c> with the given prefix.</summary>
    /// <returns>false when the name is not <paramref name="prefix"/> followed by 1-16 hex digits only.</returns>
    public static bool TryParseFileName(string fileName, string prefix, out long zxid)
    {
        zxid = 0;
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var hex = fileName.AsSpan(prefix.Length);
        if (hex.Length is 0 or > 16)
        {
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out zxid);
    }
}
