using System.Text;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Kafka;

/// <summary>
/// Encodes and decodes a Flume event as the bare binary Avro datum of Flume's <c>AvroFlumeEvent</c> record — the
/// message value the Kafka sink writes with <c>useFlumeEventFormat = true</c>, the Kafka source reads with the same key,
/// and the Kafka channel uses with <c>parseAsFlumeEvent = true</c> (the default). No container, no framing, no schema
/// fingerprint: exactly what Java's <c>SpecificDatumWriter&lt;AvroFlumeEvent&gt;</c> writes through a
/// <c>directBinaryEncoder</c>, so Zooflow and Flume agents can share topics.
/// </summary>
/// <remarks>
/// Schema (<c>flume-ng-sdk/src/main/avro/flume.avdl</c>):
/// <c>record AvroFlumeEvent { map&lt;string&gt; headers; bytes body; }</c>. Binary grammar (Avro 1.x specification):
/// <code>
/// datum   := headers body
/// headers := { block } 0x00                      ; a map is blocks of entries ended by a zero count
/// block   := count:long { key:string value:string } (count &gt; 0)
///          | count:long size:long { key:string value:string } (count &lt; 0: -count entries in size bytes)
/// body    := length:long byte{length}
/// string  := length:long utf8{length}
/// long    := zig-zag varint, at most 10 bytes
/// </code>
/// The encoder writes all headers in one block (what Java's <c>BinaryEncoder</c> does), in the order of
/// <see cref="Event.Headers"/>; Java writes a <c>HashMap</c>'s order, so two writers may order entries differently —
/// readers do not care. The decoder accepts any block layout, checks every length against the bytes left before
/// allocating (a corrupt or hostile message cannot make it allocate more than the message holds), and rejects trailing
/// bytes. Decoding errors throw <see cref="FormatException"/> naming the field and byte offset.
/// </remarks>
public static class AvroFlumeEventCodec
{
    /// <summary>Most bytes of one zig-zag varint (a 64-bit long).</summary>
    private const int MaxVarintBytes = 10;

    /// <summary>The encoded size of <paramref name="event"/>.</summary>
    public static int EncodedLength(Event @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var length = 0;
        var count = @event.Headers.Count;
        if (count > 0)
        {
            length += VarintLength(count);
            foreach (var (key, value) in @event.Headers)
            {
                length += StringLength(key) + StringLength(value);
            }
        }
        length += 1; // the terminating zero block count
        length += VarintLength(@event.Body.Length) + @event.Body.Length;
        return length;
    }

    /// <summary>Returns the datum of <paramref name="event"/> as a new array (the Kafka client keeps the array until the
    /// broker acknowledged the message, so it cannot be pooled).</summary>
    public static byte[] Encode(Event @event)
    {
        var bytes = new byte[EncodedLength(@event)];
        var written = Encode(@event, bytes);
        System.Diagnostics.Debug.Assert(written == bytes.Length, "EncodedLength and Encode disagree");
        return bytes;
    }

    /// <summary>Writes the datum of <paramref name="event"/> into <paramref name="destination"/> (at least
    /// <see cref="EncodedLength"/> bytes) and returns the bytes written.</summary>
    public static int Encode(Event @event, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var position = 0;
        var count = @event.Headers.Count;
        if (count > 0)
        {
            position += WriteLong(count, destination[position..]);
            foreach (var (key, value) in @event.Headers)
            {
                position += WriteString(key, destination[position..]);
                position += WriteString(value, destination[position..]);
            }
        }
        destination[position++] = 0;
        position += WriteLong(@event.Body.Length, destination[position..]);
        @event.Body.Span.CopyTo(destination[position..]);
        return position + @event.Body.Length;
    }

    /// <summary>Decodes one datum that fills <paramref name="datum"/> exactly.</summary>
    /// <exception cref="FormatException">The bytes are not an <c>AvroFlumeEvent</c> datum; the message names the field
    /// and offset.</exception>
    public static Event Decode(ReadOnlySpan<byte> datum)
    {
        var position = 0;
        Dictionary<string, string>? headers = null;
        while (true)
        {
            var blockOffset = position;
            var count = ReadLong(datum, ref position, "headers block count");
            if (count == 0)
            {
                break;
            }
            if (count < 0)
            {
                // A negative count is followed by the block's size in bytes (lets readers skip it); we read it anyway.
                count = -count;
                var size = ReadLong(datum, ref position, "headers block size");
                if (size < 0 || size > datum.Length - position)
                {
                    throw Malformed("headers block size", blockOffset, $"{size} bytes but {datum.Length - position} remain");
                }
            }
            // Each entry needs at least two bytes (two empty strings), so a count above that is corrupt.
            if (count > (datum.Length - position) / 2)
            {
                throw Malformed("headers block count", blockOffset, $"{count} entries cannot fit in the {datum.Length - position} bytes left");
            }
            headers ??= new Dictionary<string, string>((int)count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = ReadString(datum, ref position, "header key");
                var value = ReadString(datum, ref position, "header value");
                headers[key] = value;
            }
        }
        var bodyOffset = position;
        var length = ReadLong(datum, ref position, "body length");
        if (length < 0 || length > datum.Length - position)
        {
            throw Malformed("body length", bodyOffset, $"{length} bytes but {datum.Length - position} remain");
        }
        var body = datum.Slice(position, (int)length).ToArray();
        position += (int)length;
        if (position != datum.Length)
        {
            throw Malformed("end of datum", position, $"{datum.Length - position} bytes follow the body");
        }
        return new Event(body, headers);
    }

    private static int StringLength(string value)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        return VarintLength(bytes) + bytes;
    }

    private static int WriteString(string value, Span<byte> destination)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        var position = WriteLong(bytes, destination);
        return position + Encoding.UTF8.GetBytes(value, destination[position..]);
    }

    private static string ReadString(ReadOnlySpan<byte> datum, ref int position, string field)
    {
        var offset = position;
        var length = ReadLong(datum, ref position, field + " length");
        if (length < 0 || length > datum.Length - position)
        {
            throw Malformed(field + " length", offset, $"{length} bytes but {datum.Length - position} remain");
        }
        string text;
        try
        {
            text = StrictUtf8.GetString(datum.Slice(position, (int)length));
        }
        catch (DecoderFallbackException)
        {
            throw Malformed(field, position, "is not valid UTF-8");
        }
        position += (int)length;
        return text;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static int VarintLength(long value)
    {
        var zigzag = (ulong)((value << 1) ^ (value >> 63));
        var length = 1;
        while (zigzag >= 0x80)
        {
            zigzag >>= 7;
            length++;
        }
        return length;
    }

    private static int WriteLong(long value, Span<byte> destination)
    {
        var zigzag = (ulong)((value << 1) ^ (value >> 63));
        var position = 0;
        while (zigzag >= 0x80)
        {
            destination[position++] = (byte)(zigzag | 0x80);
            zigzag >>= 7;
        }
        destination[position++] = (byte)zigzag;
        return position;
    }

    private static long ReadLong(ReadOnlySpan<byte> datum, ref int position, string field)
    {
        var start = position;
        ulong result = 0;
        for (var shift = 0; shift < MaxVarintBytes * 7; shift += 7)
        {
            if (position >= datum.Length)
            {
                throw Malformed(field, start, "ends inside a varint");
            }
            var b = datum[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(result >> 1) ^ -(long)(result & 1);
            }
        }
        throw Malformed(field, start, $"varint is longer than {MaxVarintBytes} bytes");
    }

    private static FormatException Malformed(string field, int offset, string problem) =>
        new($"not an AvroFlumeEvent datum: {field} at byte {offset} {problem}");
}
