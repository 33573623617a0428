using System.Buffers.Binary;
using System.Text;
using Avro.IO;
using Zooflow.Common;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Builds one Netty frame (<see cref="NettyFrame"/>) in a pooled buffer: the header, then buffers whose length prefixes
/// are patched when each buffer ends. Values are written with Apache.Avro's <see cref="BinaryEncoder"/> (which writes
/// straight through to the buffer, unbuffered); strings and byte runs go straight into the buffer after the encoder wrote
/// their length, so no temporary arrays are made.
/// </summary>
/// <remarks>Not thread-safe; one per connection. The frame stays valid until the next <see cref="Begin"/>.</remarks>
internal sealed class FrameWriter : IDisposable
{
    private readonly PooledBufferWriter _buffer;
    private int _bufferCount;
    private int _lengthAt = -1;

    public FrameWriter(int initialCapacity = 16 * 1024)
    {
        _buffer = new PooledBufferWriter(initialCapacity);
        Encoder = new BinaryEncoder(new WriterStream(_buffer));
    }

    /// <summary>The Avro encoder writing into the current buffer.</summary>
    public BinaryEncoder Encoder { get; }

    /// <summary>The frame written so far.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    /// <summary>Starts a frame with <paramref name="serial"/>.</summary>
    public void Begin(int serial)
    {
        _buffer.Clear();
        _bufferCount = 0;
        _lengthAt = -1;
        var header = _buffer.GetSpan(NettyFrame.HeaderBytes);
        NettyFrame.WriteHeader(header, serial, 0);
        _buffer.Advance(NettyFrame.HeaderBytes);
    }

    /// <summary>Starts the next buffer of the frame (ends the current one).</summary>
    public void NextBuffer()
    {
        EndBuffer();
        _lengthAt = _buffer.WrittenCount;
        _buffer.GetSpan(NettyFrame.LengthBytes);
        _buffer.Advance(NettyFrame.LengthBytes);
        _bufferCount++;
    }

    /// <summary>Ends the frame and returns it.</summary>
    public ReadOnlyMemory<byte> Finish()
    {
        EndBuffer();
        BinaryPrimitives.WriteInt32BigEndian(_buffer.WrittenSpan[NettyFrame.LengthBytes..], _bufferCount);
        return _buffer.WrittenMemory;
    }

    /// <summary>An Avro string: the encoder writes the length, the UTF-8 bytes go straight into the buffer.</summary>
    public void WriteString(string value)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        Encoder.WriteLong(byteCount);
        var written = Encoding.UTF8.GetBytes(value, _buffer.GetSpan(byteCount));
        _buffer.Advance(written);
    }

    /// <summary>Avro bytes: the encoder writes the length, the bytes are copied straight into the buffer.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        Encoder.WriteLong(value.Length);
        value.CopyTo(_buffer.GetSpan(value.Length));
        _buffer.Advance(value.Length);
    }

    public void Dispose() => _buffer.Dispose();

    private void EndBuffer()
    {
        if (_lengthAt >= 0)
        {
            var length = _buffer.WrittenCount - _lengthAt - NettyFrame.LengthBytes;
            BinaryPrimitives.WriteInt32BigEndian(_buffer.WrittenSpan[_lengthAt..], length);
            _lengthAt = -1;
        }
    }

    /// <summary>A write-only stream appending to the pooled buffer (what <see cref="BinaryEncoder"/> writes to).</summary>
    private sealed class WriterStream(PooledBufferWriter buffer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => buffer.WrittenCount;

        public override long Position
        {
            get => buffer.WrittenCount;
            set => throw new NotSupportedException();
        }

        public override void WriteByte(byte value)
        {
            buffer.GetSpan(1)[0] = value;
            buffer.Advance(1);
        }

        public override void Write(byte[] data, int offset, int count) => Write(data.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            data.CopyTo(buffer.GetSpan(data.Length));
            buffer.Advance(data.Length);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] data, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
