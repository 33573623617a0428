using System.Text;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>A malformed Avro container (or spool meta file): names the file, the byte offset and what was expected.</summary>
public sealed class AvroFormatException(string path, long offset, string message)
    : IOException($"{path}: malformed Avro data at byte {offset}: {message}")
{
    /// <summary>The file.</summary>
    public string FilePath { get; } = path;

    /// <summary>Where the problem was found.</summary>
    public long Offset { get; } = offset;
}

/// <summary>
/// Avro's binary primitives over spans (the parts of the specification's "Binary encoding" that the container readers
/// need): zig-zag varint longs, length-prefixed bytes and strings, and the object container file header.
/// </summary>
/// <remarks>
/// <code>
/// long   = zig-zag varint, at most 10 bytes
/// bytes  = long(length) byte*length                     string = bytes (UTF-8)
/// header = "Obj" 0x01  map(bytes)  sync[16]             map    = { long(count) [long(byteSize) if count &lt; 0] (string value)*|count| } long(0)
/// block  = long(objectCount) long(byteSize) byte*byteSize sync[16]
/// </code>
/// </remarks>
internal static class AvroBinary
{
    /// <summary>The container magic <c>Obj\x01</c>.</summary>
    public static ReadOnlySpan<byte> Magic => "Obj\u0001"u8;

    /// <summary>Length of a sync marker.</summary>
    public const int SyncBytes = 16;

    /// <summary>Reads a zig-zag varint long at <paramref name="position"/>; false when the span ends first. Throws
    /// <see cref="FormatException"/> for a varint longer than 10 bytes.</summary>
    public static bool TryReadLong(ReadOnlySpan<byte> data, ref int position, out long value)
    {
        ulong raw = 0;
        var shift = 0;
        var at = position;
        while (true)
        {
            if (at >= data.Length)
            {
                value = 0;
                return false;
            }
            var b = data[at++];
            raw |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
            shift += 7;
            if (shift > 63)
            {
                throw new FormatException("varint longer than 10 bytes");
            }
        }
        position = at;
        value = (long)(raw >> 1) ^ -(long)(raw & 1);
        return true;
    }

    /// <summary>Writes a zig-zag varint long; returns the bytes written (at most 10).</summary>
    public static int WriteLong(Span<byte> into, long value)
    {
        var raw = (ulong)((value << 1) ^ (value >> 63));
        var at = 0;
        while (raw >= 0x80)
        {
            into[at++] = (byte)(raw | 0x80);
            raw >>= 7;
        }
        into[at++] = (byte)raw;
        return at;
    }

    /// <summary>Appends a long.</summary>
    public static void WriteLong(Stream into, long value)
    {
        Span<byte> buffer = stackalloc byte[10];
        into.Write(buffer[..WriteLong(buffer, value)]);
    }

    /// <summary>Appends length-prefixed bytes.</summary>
    public static void WriteBytes(Stream into, ReadOnlySpan<byte> value)
    {
        WriteLong(into, value.Length);
        into.Write(value);
    }

    /// <summary>
    /// Parses a container header at the start of <paramref name="data"/>: the metadata map and the sync marker. Returns
    /// false when <paramref name="data"/> ends before the header does; throws <see cref="AvroFormatException"/> for a file
    /// that is not an Avro container.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> data, string path, out Dictionary<string, byte[]> metadata, out byte[] sync, out int headerLength)
    {
        metadata = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        sync = [];
        headerLength = 0;
        if (data.Length < Magic.Length)
        {
            return false;
        }
        if (!data[..Magic.Length].SequenceEqual(Magic))
        {
            throw new AvroFormatException(path, 0, "not an Avro object container file (no 'Obj\\x01' magic)");
        }
        var position = Magic.Length;
        try
        {
            while (true)
            {
                if (!TryReadLong(data, ref position, out var count))
                {
                    return false;
                }
                if (count == 0)
                {
                    break;
                }
                if (count < 0)
                {
                    count = -count;
                    if (!TryReadLong(data, ref position, out _))
                    {
                        return false;
                    }
                }
                for (long i = 0; i < count; i++)
                {
                    if (!TryReadBytes(data, ref position, path, out var key) || !TryReadBytes(data, ref position, path, out var value))
                    {
                        return false;
                    }
                    metadata[Encoding.UTF8.GetString(key)] = value.ToArray();
                }
            }
        }
        catch (FormatException ex)
        {
            throw new AvroFormatException(path, position, "header: " + ex.Message);
        }
        if (data.Length - position < SyncBytes)
        {
            return false;
        }
        sync = data.Slice(position, SyncBytes).ToArray();
        headerLength = position + SyncBytes;
        return true;
    }

    private static bool TryReadBytes(ReadOnlySpan<byte> data, ref int position, string path, out ReadOnlySpan<byte> value)
    {
        var start = position;
        if (!TryReadLong(data, ref position, out var length))
        {
            value = default;
            return false;
        }
        if (length < 0 || length > int.MaxValue)
        {
            throw new AvroFormatException(path, start, $"negative or huge length {length}");
        }
        if (data.Length - position < length)
        {
            value = default;
            return false;
        }
        value = data.Slice(position, (int)length);
        position += (int)length;
        return true;
    }
}
