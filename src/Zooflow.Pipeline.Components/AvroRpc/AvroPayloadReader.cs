using System.Text;
using Avro;
using Avro.IO;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Reads Avro binary values from one frame payload with Apache.Avro's <see cref="BinaryDecoder"/>, checking every length
/// and count against the bytes left in the payload before anything is allocated (Apache.Avro's own
/// <c>ReadBytes</c>/<c>ReadString</c> allocate the announced length first). Errors name the field and the payload
/// offset. Reusable: <see cref="Reset"/> points it at the next payload.
/// </summary>
/// <remarks>Not thread-safe; one per connection.</remarks>
internal sealed class AvroPayloadReader
{
    private readonly PayloadStream _stream = new();
    private readonly BinaryDecoder _decoder;
    private long _frameOffset;

    public AvroPayloadReader()
    {
        _decoder = new BinaryDecoder(_stream);
    }

    /// <summary>Bytes not read yet.</summary>
    public int Remaining => _stream.Count - _stream.Index;

    /// <summary>Offset of the next byte within the payload.</summary>
    public int Position => _stream.Index;

    /// <summary>The payload array (bodies are copied straight from it).</summary>
    public byte[] Buffer => _stream.Array;

    /// <summary>Reads from <paramref name="array"/>[0..<paramref name="length"/>], the payload of the frame at
    /// <paramref name="frameOffset"/>.</summary>
    public void Reset(byte[] array, int length, long frameOffset)
    {
        _stream.Reset(array, length);
        _frameOffset = frameOffset;
    }

    /// <summary>Throws the error for <paramref name="field"/> at payload offset <paramref name="at"/>.</summary>
    public AvroRpcException Error(string field, int at, string problem) =>
        new(field, _frameOffset, $"payload byte {at}: {problem}");

    public bool ReadBoolean(string field)
    {
        var at = Position;
        if (Remaining < 1)
        {
            throw Error(field, at, "payload ends before the boolean");
        }
        var value = Buffer[at];
        if (value > 1)
        {
            throw Error(field, at, $"boolean byte {value} is neither 0 nor 1");
        }
        _stream.Index++;
        return value == 1;
    }

    public long ReadLong(string field)
    {
        var at = Position;
        try
        {
            var start = Position;
            var value = _decoder.ReadLong();
            if (Position - start > 10)
            {
                throw Error(field, at, "variable-length integer is longer than 10 bytes");
            }
            return value;
        }
        catch (AvroException)
        {
            throw Error(field, at, "payload ends inside a variable-length integer");
        }
    }

    /// <summary>An int (zig-zag varint) within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int ReadInt(string field, int min, int max)
    {
        var at = Position;
        var value = ReadLong(field);
        if (value < min || value > max)
        {
            throw Error(field, at, $"{value} is out of range (allowed: {min}..{max})");
        }
        return (int)value;
    }

    /// <summary>A length prefix (bytes or string): must fit in what is left.</summary>
    public int ReadLength(string field)
    {
        var at = Position;
        var length = ReadLong(field);
        if (length < 0)
        {
            throw Error(field, at, $"length {length} is negative");
        }
        if (length > Remaining)
        {
            throw Error(field, at, $"length {length} exceeds the {Remaining} bytes left in the payload");
        }
        return (int)length;
    }

    /// <summary>The item count of the next array or map block (the byte size of a negative-count block is read and
    /// checked). Each item takes at least <paramref name="minItemBytes"/>, so a count the payload cannot hold is refused.</summary>
    public int ReadBlockCount(string field, int minItemBytes)
    {
        var at = Position;
        var count = ReadLong(field);
        if (count < 0)
        {
            if (count == long.MinValue)
            {
                throw Error(field, at, "block count is out of range");
            }
            count = -count;
            var size = ReadLong(field + " block size");
            if (size < 0 || size > Remaining)
            {
                throw Error(field, at, $"block byte size {size} does not fit the {Remaining} bytes left");
            }
        }
        if (count * minItemBytes > Remaining)
        {
            throw Error(field, at, $"count {count} cannot fit in the {Remaining} bytes left in the payload");
        }
        return (int)count;
    }

    public string ReadString(string field)
    {
        var length = ReadLength(field);
        var at = Position;
        try
        {
            var value = Encoding.UTF8.GetString(Buffer, at, length);
            _stream.Index += length;
            return value;
        }
        catch (DecoderFallbackException)
        {
            throw Error(field, at, "string is not valid UTF-8");
        }
    }

    /// <summary>Reads a length-prefixed value and returns where its bytes start; the caller copies them.</summary>
    public int ReadBytesSpan(string field, out int length)
    {
        length = ReadLength(field);
        var start = Position;
        _stream.Index += length;
        return start;
    }

    /// <summary>The next string's UTF-8 bytes (a view of the payload, no allocation).</summary>
    public ReadOnlySpan<byte> ReadStringBytes(string field)
    {
        var start = ReadBytesSpan(field, out var length);
        return Buffer.AsSpan(start, length);
    }

    public void ReadFixed(string field, Span<byte> destination)
    {
        var at = Position;
        if (Remaining < destination.Length)
        {
            throw Error(field, at, $"payload ends before the {destination.Length}-byte fixed value");
        }
        Buffer.AsSpan(at, destination.Length).CopyTo(destination);
        _stream.Index += destination.Length;
    }

    /// <summary>Skips a <c>map&lt;bytes&gt;</c> (call metadata, handshake meta).</summary>
    public void SkipBytesMap(string field)
    {
        while (true)
        {
            var count = ReadBlockCount(field + " count", 2);
            if (count == 0)
            {
                return;
            }
            for (var i = 0; i < count; i++)
            {
                ReadBytesSpan(field + " key", out _);
                ReadBytesSpan(field + " value", out _);
            }
        }
    }

    /// <summary>A read-only stream over the payload that <see cref="BinaryDecoder"/> reads from.</summary>
    private sealed class PayloadStream : Stream
    {
        public byte[] Array = [];
        public int Count;
        public int Index;

        public void Reset(byte[] array, int count)
        {
            Array = array;
            Count = count;
            Index = 0;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => Count;

        public override long Position
        {
            get => Index;
            set => Index = (int)Math.Clamp(value, 0, Count);
        }

        public override int ReadByte() => Index < Count ? Array[Index++] : -1;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, Count - Index);
            System.Array.Copy(Array, Index, buffer, offset, n);
            Index += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => Index + offset,
                _ => Count + offset,
            };
            return Index;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
