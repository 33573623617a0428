using System.Buffers;
using System.Buffers.Binary;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// The framing of Avro's Netty transport (Java <c>NettyTransportCodec</c>), which Flume's avro source and sink use.
/// </summary>
/// <remarks>
/// <code>
/// frame   := serial:int32 count:int32 buffer{count}     (all integers big-endian)
/// buffer  := length:int32 bytes[length]
/// payload := the concatenation of the buffers' bytes    (boundaries carry no meaning; Java splits at 8 KiB and may
///                                                        send empty buffers)
/// </code>
/// <para>The client picks <c>serial</c> (Java counts up from 0 per connection) and the server echoes it in the reply.
/// There is no terminator (that is Avro's HTTP framing, not Netty's).</para>
/// <para>Limits are checked as soon as the header or a length is read, before anything is buffered or allocated: a
/// negative count or length, or a frame whose header plus lengths exceed <c>maxFrameBytes</c>, is refused.</para>
/// </remarks>
public static class NettyFrame
{
    /// <summary>Bytes of the frame header (serial and buffer count).</summary>
    public const int HeaderBytes = 8;

    /// <summary>Bytes of each buffer's length prefix.</summary>
    public const int LengthBytes = 4;

    /// <summary>
    /// Reads one whole frame from <paramref name="reader"/> and copies its payload into an array rented from
    /// <see cref="ArrayPool{T}.Shared"/> (the caller returns it with <see cref="FramePayload.Dispose"/>). Returns false,
    /// with the reader where it was, when the frame is not complete yet. Throws <see cref="AvroRpcException"/> for a
    /// malformed or oversized frame; <paramref name="streamOffset"/> is the stream offset of the reader's position, used
    /// in error messages.
    /// </summary>
    public static bool TryRead(ref SequenceReader<byte> reader, int maxFrameBytes, long streamOffset, out FramePayload frame)
    {
        frame = default;
        var start = reader;
        if (!reader.TryReadBigEndian(out int serial) || !reader.TryReadBigEndian(out int count))
        {
            reader = start;
            return false;
        }
        if (count < 0 || (long)count * LengthBytes > maxFrameBytes - HeaderBytes)
        {
            AvroRpcException.Throw("frame buffer count", streamOffset + LengthBytes,
                $"{count} is not allowed (allowed: 0..{(maxFrameBytes - HeaderBytes) / LengthBytes} for a frame limit of {maxFrameBytes} bytes)");
        }
        long frameBytes = HeaderBytes + (long)count * LengthBytes;
        long payloadBytes = 0;
        for (var i = 0; i < count; i++)
        {
            var lengthOffset = streamOffset + (reader.Consumed - start.Consumed);
            if (!reader.TryReadBigEndian(out int length))
            {
                reader = start;
                return false;
            }
            if (length < 0)
            {
                AvroRpcException.Throw($"frame buffer {i} length", lengthOffset, $"{length} is negative");
            }
            frameBytes += length;
            payloadBytes += length;
            if (frameBytes > maxFrameBytes)
            {
                AvroRpcException.Throw($"frame buffer {i} length", lengthOffset,
                    $"{length} makes the frame at least {frameBytes} bytes, more than the limit of {maxFrameBytes} bytes");
            }
            if (reader.Remaining < length)
            {
                reader = start;
                return false;
            }
            reader.Advance(length);
        }

        // The whole frame is buffered: copy the buffers' bytes into one pooled payload.
        var payload = ArrayPool<byte>.Shared.Rent((int)Math.Max(payloadBytes, 1));
        var copy = start;
        copy.Advance(HeaderBytes);
        var written = 0;
        for (var i = 0; i < count; i++)
        {
            copy.TryReadBigEndian(out int length);
            copy.UnreadSequence.Slice(0, length).CopyTo(payload.AsSpan(written));
            copy.Advance(length);
            written += length;
        }
        frame = new FramePayload(serial, count, payload, written, streamOffset);
        return true;
    }

    /// <summary>Writes the header of a frame with <paramref name="count"/> buffers.</summary>
    public static void WriteHeader(Span<byte> destination, int serial, int count)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination, serial);
        BinaryPrimitives.WriteInt32BigEndian(destination[LengthBytes..], count);
    }
}

/// <summary>One received frame: its serial and its payload in a pooled array (return it with <see cref="Dispose"/>).</summary>
/// <param name="Serial">The request id the client chose.</param>
/// <param name="BufferCount">How many buffers the frame had.</param>
/// <param name="Array">Pooled storage; the payload is <c>Array[0..Length]</c>.</param>
/// <param name="Length">Payload bytes.</param>
/// <param name="FrameOffset">Stream offset where the frame starts, for error messages.</param>
public readonly record struct FramePayload(int Serial, int BufferCount, byte[]? Array, int Length, long FrameOffset) : IDisposable
{
    /// <summary>The payload bytes.</summary>
    public ReadOnlySpan<byte> Span => Array is null ? default : Array.AsSpan(0, Length);

    /// <summary>Returns the pooled array.</summary>
    public void Dispose()
    {
        if (Array is not null)
        {
            ArrayPool<byte>.Shared.Return(Array);
        }
    }
}
