using System.Buffers;
using System.Buffers.Binary;

namespace Zooflow.Jute;

/// <summary>
/// ZooKeeper's length-prefixed framing: <c>frame = int length (big-endian), length bytes</c>. Every client request and
/// server reply (including the connect handshake) travels as one frame.
/// </summary>
public static class Frame
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int PrefixBytes = 4;

    /// <summary>
    /// Takes one complete frame off the front of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">Received bytes; advanced past the frame when one is returned, untouched otherwise.</param>
    /// <param name="maxFrameBytes">The largest accepted body length (jute.maxbuffer).</param>
    /// <param name="frame">The frame body (without its prefix); it aliases <paramref name="buffer"/>.</param>
    /// <returns>False when more bytes are needed (never throws for that).</returns>
    /// <exception cref="ProtocolException">The length is negative or larger than <paramref name="maxFrameBytes"/>;
    /// checked as soon as the 4 prefix bytes are present, before waiting for the body.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out ReadOnlySequence<byte> frame)
    {
        if (!TryPeekLength(buffer, out var length))
        {
            frame = default;
            return false;
        }

        if (length < 0)
        {
            JuteThrow.NegativeLength("Frame.length", "frame length", 0, length);
        }

        if (length > maxFrameBytes)
        {
            JuteThrow.LengthExceedsMax("Frame.length", "frame length", 0, length, maxFrameBytes);
        }

        if (buffer.Length - PrefixBytes < length)
        {
            frame = default;
            return false;
        }

        frame = buffer.Slice(PrefixBytes, length);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    /// <summary>Reads the 4-byte prefix without consuming anything (e.g. to recognise a four-letter word such as
    /// <c>ruok</c>, which ZooKeeper detects by the int value of the first four bytes).</summary>
    /// <returns>False when fewer than 4 bytes are buffered.</returns>
    public static bool TryPeekLength(in ReadOnlySequence<byte> buffer, out int length)
    {
        if (buffer.Length < PrefixBytes)
        {
            length = 0;
            return false;
        }

        Span<byte> prefix = stackalloc byte[PrefixBytes];
        buffer.Slice(0, PrefixBytes).CopyTo(prefix);
        length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        return true;
    }

    /// <summary>Starts a frame: reserves its length prefix. Write the body with <paramref name="writer"/>, then call <see cref="End"/>.</summary>
    /// <example><code>
    /// var w = new JuteWriter(pipeWriter);
    /// var frame = Frame.Begin(ref w);
    /// new ReplyHeader(xid, zxid, ErrorCode.Ok).Write(ref w);
    /// response.Write(ref w);
    /// Frame.End(ref w, frame);
    /// </code></example>
    public static LengthPrefix Begin(ref JuteWriter writer) => writer.BeginLengthPrefix();

    /// <summary>Ends a frame started by <see cref="Begin"/>, patching its length. Returns the body length.</summary>
    public static int End(ref JuteWriter writer, LengthPrefix frame) => writer.EndLengthPrefix(frame);

    /// <summary>Writes one frame holding <paramref name="body"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> body)
    {
        var writer = new JuteWriter(output);
        writer.WriteBuffer(body);
    }

    /// <summary>Writes one frame holding a single record (e.g. a <see cref="ConnectResponse"/>).</summary>
    public static void Write<T>(IBufferWriter<byte> output, T record)
        where T : IJuteWritable
    {
        var writer = new JuteWriter(output);
        var frame = writer.BeginLengthPrefix();
        record.Write(ref writer);
        writer.EndLengthPrefix(frame);
    }

    /// <summary>Writes one reply frame: a <see cref="ReplyHeader"/> with no body (errors, ping, setWatches, auth replies).</summary>
    public static void WriteReply(IBufferWriter<byte> output, ReplyHeader header)
    {
        var writer = new JuteWriter(output);
        var frame = writer.BeginLengthPrefix();
        header.Write(ref writer);
        writer.EndLengthPrefix(frame);
    }

    /// <summary>Writes one reply frame: a <see cref="ReplyHeader"/> followed by <paramref name="body"/>.</summary>
    public static void WriteReply<T>(IBufferWriter<byte> output, ReplyHeader header, T body)
        where T : IJuteWritable
    {
        var writer = new JuteWriter(output);
        var frame = writer.BeginLengthPrefix();
        header.Write(ref writer);
        body.Write(ref writer);
        writer.EndLengthPrefix(frame);
    }

    /// <summary>Writes one watch notification frame: <c>ReplyHeader(xid -1, zxid -1, err 0)</c> then the
    /// <see cref="WatcherEvent"/>, as ZooKeeper's <c>ServerCnxn.process</c> does.</summary>
    public static void WriteNotification(IBufferWriter<byte> output, WatcherEvent watcherEvent) =>
        WriteReply(output, new ReplyHeader(Xids.Notification, -1, ErrorCode.Ok), watcherEvent);

    /// <summary>Writes one request frame: a <see cref="RequestHeader"/> followed by an optional body (client side).</summary>
    public static void WriteRequest(IBufferWriter<byte> output, RequestHeader header, IJuteWritable? body)
    {
        var writer = new JuteWriter(output);
        var frame = writer.BeginLengthPrefix();
        header.Write(ref writer);
        body?.Write(ref writer);
        writer.EndLengthPrefix(frame);
    }
}
