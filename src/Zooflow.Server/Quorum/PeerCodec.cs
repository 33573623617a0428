using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Zooflow.Consensus;
using Zooflow.Consensus.Messages;
using Zooflow.Jute;
using SyncRequest = Zooflow.Consensus.Messages.SyncRequest;
using Zooflow.Storage;

namespace Zooflow.Server.Quorum;

/// <summary>Which of a member's two listening ports a connection belongs to (ZooKeeper's electionPort and quorumPort).</summary>
public enum PeerChannel : byte
{
    /// <summary>Leader election notifications (<c>electionPort</c>).</summary>
    Election = 1,

    /// <summary>Leader-learner traffic: every <see cref="LinkMessage"/> and <see cref="LinkReset"/> (<c>quorumPort</c>).</summary>
    Quorum = 2,
}

/// <summary>The first frame on every peer connection: who dials whom, on which channel.</summary>
/// <param name="Channel">Election or quorum.</param>
/// <param name="From">The dialing server's id.</param>
/// <param name="To">The id the dialer believes it is talking to.</param>
public readonly record struct PeerHello(PeerChannel Channel, long From, long To);

/// <summary>
/// Zooflow's wire encoding of the consensus messages between ensemble members (the core has none; ZooKeeper's own quorum
/// packets are not used because the messages differ: link ids, sequence numbers, cumulative commits).
/// </summary>
/// <remarks>
/// <para>Grammar (integers big-endian):</para>
/// <code>
/// connection := hello frame*                     one TCP connection per (dialer, peer, channel); the dialer only sends
/// frame      := length:i32 body crc:u32          length = bytes of body, 2 .. maxFrameBytes; crc = CRC-32C of body
/// body       := version:u8 = 1  type:u8  fields
/// hello      := frame with type 0: channel:u8 (1 election, 2 quorum) from:i64 to:i64
///
/// type  message        fields (after type; every link message starts with linkId:i64 seq:i64)
///  1    Notification   leader:i64 zxid:i64 peerEpoch:i64 round:i64 state:u8 (0 looking, 1 following, 2 leading, 3 observing)
///  2    LinkReset      linkId:i64
///  3    FollowerInfo   link acceptedEpoch:i64 isObserver:u8
///  4    AckEpoch       link epoch:i64 currentEpoch:i64 lastZxid:i64 alreadyAccepted:u8
///  5    AckNewLeader   link epoch:i64
///  6    Ack            link zxid:i64
///  7    PingReply      link round:i64 count:i32 (bytes)*          bytes := length:i32 byte[length]
///  8    Request        link bytes
///  9    SyncRequest    link syncId:i64
/// 10    LeaderInfo     link epoch:i64 learnerNonce:i64
/// 11    NewLeader      link epoch:i64 mode:u8 (0 diff, 1 trunc, 2 snap) truncateZxid:i64 committedZxid:i64
///                      hasSnapshot:u8 [snapshotZxid:i64 bytes] count:i32 (zxid:i64 bytes)*
/// 12    UpToDate       link committedZxid:i64
/// 13    Proposal       link zxid:i64 bytes
/// 14    Commit         link zxid:i64
/// 15    Inform         link zxid:i64 bytes
/// 16    Ping           link round:i64
/// 17    SyncReply      link syncId:i64
/// </code>
/// <para>From and To of a message are not on the wire: the hello fixes them for the whole connection. A frame longer than
/// the limit, a bad CRC, an unknown version or type, a count or length that does not fit the frame, bytes left over, or
/// a value out of range throws <see cref="ProtocolException"/> naming the field and offset; the transport closes that
/// connection only. The length is checked before the frame is buffered or anything is allocated.</para>
/// </remarks>
public static class PeerCodec
{
    /// <summary>The only wire version so far.</summary>
    public const byte Version = 1;

    /// <summary>Bytes around a body: the length prefix and the trailing CRC.</summary>
    public const int OverheadBytes = 8;

    private const byte HelloType = 0;

    /// <summary>Writes the hello frame.</summary>
    public static void WriteHello(IBufferWriter<byte> output, PeerHello hello)
    {
        var w = new BodyWriter(output, 2 + 1 + 8 + 8);
        w.Byte(Version);
        w.Byte(HelloType);
        w.Byte((byte)hello.Channel);
        w.Long(hello.From);
        w.Long(hello.To);
        w.End();
    }

    /// <summary>Writes one message as a frame. Returns the frame's size in bytes.</summary>
    public static int Write(IBufferWriter<byte> output, ZabMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bodyBytes = BodyBytes(message);
        var w = new BodyWriter(output, bodyBytes);
        w.Byte(Version);
        w.Byte((byte)TypeOf(message));
        switch (message)
        {
            case Notification n:
                w.Long(n.Vote.Leader);
                w.Long(n.Vote.Zxid);
                w.Long(n.Vote.PeerEpoch);
                w.Long(n.Round);
                w.Byte((byte)n.State);
                break;
            case LinkReset r:
                w.Long(r.LinkId);
                break;
            case LinkMessage l:
                w.Long(l.LinkId);
                w.Long(l.Seq);
                WriteLinkFields(ref w, l);
                break;
        }

        w.End();
        return bodyBytes + OverheadBytes;
    }

    private static void WriteLinkFields(ref BodyWriter w, LinkMessage message)
    {
        switch (message)
        {
            case FollowerInfo m:
                w.Long(m.AcceptedEpoch);
                w.Bool(m.IsObserver);
                break;
            case AckEpoch m:
                w.Long(m.Epoch);
                w.Long(m.CurrentEpoch);
                w.Long(m.LastZxid);
                w.Bool(m.AlreadyAccepted);
                break;
            case AckNewLeader m:
                w.Long(m.Epoch);
                break;
            case Ack m:
                w.Long(m.Zxid);
                break;
            case PingReply m:
                w.Long(m.Round);
                w.Int(m.SessionReports.Count);
                foreach (var report in m.SessionReports)
                {
                    w.Bytes(report.Span);
                }

                break;
            case Request m:
                w.Bytes(m.Data.Span);
                break;
            case SyncRequest m:
                w.Long(m.SyncId);
                break;
            case LeaderInfo m:
                w.Long(m.Epoch);
                w.Long(m.LearnerNonce);
                break;
            case NewLeader m:
                w.Long(m.Epoch);
                w.Byte((byte)m.Mode);
                w.Long(m.TruncateZxid);
                w.Long(m.CommittedZxid);
                w.Bool(m.Snapshot is not null);
                if (m.Snapshot is { } snapshot)
                {
                    w.Long(snapshot.Zxid);
                    w.Bytes(snapshot.Data.Span);
                }

                w.Int(m.Entries.Count);
                foreach (var e in m.Entries)
                {
                    w.Long(e.Zxid);
                    w.Bytes(e.Data.Span);
                }

                break;
            case UpToDate m:
                w.Long(m.CommittedZxid);
                break;
            case Proposal m:
                w.Long(m.Entry.Zxid);
                w.Bytes(m.Entry.Data.Span);
                break;
            case Commit m:
                w.Long(m.Zxid);
                break;
            case Inform m:
                w.Long(m.Entry.Zxid);
                w.Bytes(m.Entry.Data.Span);
                break;
            case Ping m:
                w.Long(m.Round);
                break;
            case SyncReply m:
                w.Long(m.SyncId);
                break;
            default:
                throw new ArgumentException($"no wire encoding for {message.GetType().Name}", nameof(message));
        }
    }

    /// <summary>The body size of <paramref name="message"/> (what the length prefix will say).</summary>
    public static int BodyBytes(ZabMessage message)
    {
        const int Head = 2;
        const int Link = Head + 16;
        long size = message switch
        {
            Notification => Head + 32 + 1,
            LinkReset => Head + 8,
            FollowerInfo => Link + 8 + 1,
            AckEpoch => Link + 24 + 1,
            AckNewLeader or Ack or SyncRequest or UpToDate or Commit or Ping or SyncReply => Link + 8,
            PingReply m => Link + 8 + 4 + m.SessionReports.Sum(r => 4L + r.Length),
            Request m => Link + 4L + m.Data.Length,
            LeaderInfo => Link + 16,
            NewLeader m => Link + 8 + 1 + 16 + 1 + (m.Snapshot is { } s ? 8 + 4L + s.Data.Length : 0) + 4 + m.Entries.Sum(e => 12L + e.Data.Length),
            Proposal m => Link + 8 + 4L + m.Entry.Data.Length,
            Inform m => Link + 8 + 4L + m.Entry.Data.Length,
            _ => throw new ArgumentException($"no wire encoding for {message.GetType().Name}", nameof(message)),
        };
        if (size > int.MaxValue - OverheadBytes)
        {
            throw new ArgumentException($"{message.GetType().Name} of {size} bytes is too large for one frame", nameof(message));
        }

        return (int)size;
    }

    private static PeerMessageType TypeOf(ZabMessage message) => message switch
    {
        Notification => PeerMessageType.Notification,
        LinkReset => PeerMessageType.LinkReset,
        FollowerInfo => PeerMessageType.FollowerInfo,
        AckEpoch => PeerMessageType.AckEpoch,
        AckNewLeader => PeerMessageType.AckNewLeader,
        Ack => PeerMessageType.Ack,
        PingReply => PeerMessageType.PingReply,
        Request => PeerMessageType.Request,
        SyncRequest => PeerMessageType.SyncRequest,
        LeaderInfo => PeerMessageType.LeaderInfo,
        NewLeader => PeerMessageType.NewLeader,
        UpToDate => PeerMessageType.UpToDate,
        Proposal => PeerMessageType.Proposal,
        Commit => PeerMessageType.Commit,
        Inform => PeerMessageType.Inform,
        Ping => PeerMessageType.Ping,
        SyncReply => PeerMessageType.SyncReply,
        _ => throw new ArgumentException($"no wire encoding for {message.GetType().Name}", nameof(message)),
    };

    /// <summary>Reads the hello frame from the front of <paramref name="reader"/>.</summary>
    /// <returns>False when more bytes are needed (nothing consumed).</returns>
    /// <exception cref="ProtocolException">Malformed, oversize, or not a hello.</exception>
    public static bool TryReadHello(ref SequenceReader<byte> reader, out PeerHello hello)
    {
        hello = default;
        if (!TryTakeBody(ref reader, 64, out var body, out var frameOffset))
        {
            return false;
        }

        var r = new BodyReader(body, frameOffset);
        if (r.Type() != HelloType)
        {
            Fail("Hello.type", frameOffset + 5, "the first frame of a peer connection must be a hello (type 0)");
        }

        var channel = r.Byte("Hello.channel");
        if (channel is not ((byte)PeerChannel.Election or (byte)PeerChannel.Quorum))
        {
            Fail("Hello.channel", r.Offset - 1, $"unknown channel {channel} (1 election, 2 quorum)");
        }

        hello = new PeerHello((PeerChannel)channel, r.Long("Hello.from"), r.Long("Hello.to"));
        r.EndOfBody("Hello");
        return true;
    }

    /// <summary>
    /// Reads one message frame from the front of <paramref name="reader"/>; From and To come from the connection's hello.
    /// Byte payloads are copied into fresh arrays (the core keeps them).
    /// </summary>
    /// <param name="reader">The received bytes.</param>
    /// <param name="maxFrameBytes">Largest body of any message but NEWLEADER.</param>
    /// <param name="maxSyncFrameBytes">Largest body of a NEWLEADER (it carries a whole snapshot or a DIFF).</param>
    /// <param name="from">The connection's sender.</param>
    /// <param name="to">This server.</param>
    /// <param name="message">The message.</param>
    /// <returns>False when more bytes are needed (nothing consumed).</returns>
    /// <exception cref="ProtocolException">The frame is longer than its type's limit (checked from the length prefix and
    /// the type byte, before the body is buffered), its CRC does not match, or its body is malformed.</exception>
    public static bool TryReadMessage(ref SequenceReader<byte> reader, int maxFrameBytes, int maxSyncFrameBytes, long from, long to,
        [NotNullWhen(true)] out ZabMessage? message)
    {
        message = null;
        var limit = maxFrameBytes;
        if (reader.Remaining >= 6 && reader.TryPeek(5, out var peekedType) && peekedType == (byte)PeerMessageType.NewLeader)
        {
            limit = Math.Max(maxFrameBytes, maxSyncFrameBytes);
        }
        else if (reader.Remaining < 6 && maxSyncFrameBytes > maxFrameBytes)
        {
            // The type byte decides the limit: wait for it unless the frame is short enough for any type.
            if (reader.Remaining < 4 || !PeekLength(reader, out var announced) || announced > maxFrameBytes)
            {
                return false;
            }
        }

        if (!TryTakeBody(ref reader, limit, out var body, out var frameOffset))
        {
            return false;
        }

        var r = new BodyReader(body, frameOffset);
        var type = r.Type();
        switch ((PeerMessageType)type)
        {
            case PeerMessageType.Notification:
                var vote = new Vote(r.Long("Notification.leader"), r.Long("Notification.zxid"), r.Long("Notification.peerEpoch"));
                var round = r.Long("Notification.round");
                var state = r.Byte("Notification.state");
                if (state > (byte)PeerState.Observing)
                {
                    Fail("Notification.state", r.Offset - 1, $"unknown state {state}");
                }

                message = new Notification(from, to, vote, round, (PeerState)state);
                break;
            case PeerMessageType.LinkReset:
                message = new LinkReset(from, to, r.Long("LinkReset.linkId"));
                break;
            default:
                if (type is < (byte)PeerMessageType.FollowerInfo or > (byte)PeerMessageType.SyncReply)
                {
                    Fail("frame.type", frameOffset + 5, $"unknown message type {type}");
                }

                message = ReadLinkMessage(ref r, (PeerMessageType)type, from, to);
                break;
        }

        r.EndOfBody(((PeerMessageType)type).ToString());
        return true;
    }

    private static LinkMessage ReadLinkMessage(ref BodyReader r, PeerMessageType type, long from, long to)
    {
        var name = type.ToString();
        var link = r.Long(name + ".linkId");
        var seq = r.Long(name + ".seq");
        switch (type)
        {
            case PeerMessageType.FollowerInfo:
                return new FollowerInfo(from, to, link, seq, r.Long("FollowerInfo.acceptedEpoch"), r.Bool("FollowerInfo.isObserver"));
            case PeerMessageType.AckEpoch:
                return new AckEpoch(from, to, link, seq, r.Long("AckEpoch.epoch"), r.Long("AckEpoch.currentEpoch"), r.Long("AckEpoch.lastZxid"),
                    r.Bool("AckEpoch.alreadyAccepted"));
            case PeerMessageType.AckNewLeader:
                return new AckNewLeader(from, to, link, seq, r.Long("AckNewLeader.epoch"));
            case PeerMessageType.Ack:
                return new Ack(from, to, link, seq, r.Long("Ack.zxid"));
            case PeerMessageType.PingReply:
            {
                var round = r.Long("PingReply.round");
                var count = r.Count("PingReply.count", 4);
                var reports = new ReadOnlyMemory<byte>[count];
                for (var i = 0; i < count; i++)
                {
                    reports[i] = r.Bytes("PingReply.report");
                }

                return new PingReply(from, to, link, seq, round, reports);
            }

            case PeerMessageType.Request:
                return new Request(from, to, link, seq, r.Bytes("Request.data"));
            case PeerMessageType.SyncRequest:
                return new SyncRequest(from, to, link, seq, r.Long("SyncRequest.syncId"));
            case PeerMessageType.LeaderInfo:
                return new LeaderInfo(from, to, link, seq, r.Long("LeaderInfo.epoch"), r.Long("LeaderInfo.learnerNonce"));
            case PeerMessageType.NewLeader:
            {
                var epoch = r.Long("NewLeader.epoch");
                var mode = r.Byte("NewLeader.mode");
                if (mode > (byte)SyncMode.Snap)
                {
                    Fail("NewLeader.mode", r.Offset - 1, $"unknown sync mode {mode} (0 diff, 1 trunc, 2 snap)");
                }

                var truncate = r.Long("NewLeader.truncateZxid");
                var committed = r.Long("NewLeader.committedZxid");
                SnapshotData? snapshot = null;
                if (r.Bool("NewLeader.hasSnapshot"))
                {
                    var zxid = r.Long("NewLeader.snapshotZxid");
                    snapshot = new SnapshotData(zxid, r.Bytes("NewLeader.snapshot"));
                }

                var count = r.Count("NewLeader.count", 12);
                var entries = new LogEntry[count];
                for (var i = 0; i < count; i++)
                {
                    var zxid = r.Long("NewLeader.entry.zxid");
                    entries[i] = new LogEntry(zxid, r.Bytes("NewLeader.entry.data"));
                }

                return new NewLeader(from, to, link, seq, epoch, (SyncMode)mode, truncate, snapshot, entries, committed);
            }

            case PeerMessageType.UpToDate:
                return new UpToDate(from, to, link, seq, r.Long("UpToDate.committedZxid"));
            case PeerMessageType.Proposal:
            {
                var zxid = r.Long("Proposal.zxid");
                return new Proposal(from, to, link, seq, new LogEntry(zxid, r.Bytes("Proposal.data")));
            }

            case PeerMessageType.Commit:
                return new Commit(from, to, link, seq, r.Long("Commit.zxid"));
            case PeerMessageType.Inform:
            {
                var zxid = r.Long("Inform.zxid");
                return new Inform(from, to, link, seq, new LogEntry(zxid, r.Bytes("Inform.data")));
            }

            case PeerMessageType.Ping:
                return new Ping(from, to, link, seq, r.Long("Ping.round"));
            default:
                return new SyncReply(from, to, link, seq, r.Long("SyncReply.syncId"));
        }
    }

    private static bool PeekLength(SequenceReader<byte> reader, out int length) => reader.TryReadBigEndian(out length);

    /// <summary>Checks the length prefix against the limit, waits for the whole frame, checks its CRC and takes it.</summary>
    private static bool TryTakeBody(ref SequenceReader<byte> reader, int maxFrameBytes, out ReadOnlySequence<byte> body, out long frameOffset)
    {
        body = default;
        frameOffset = reader.Consumed;
        if (!reader.TryReadBigEndian(out int length))
        {
            return false;
        }

        if (length < 2 || length > maxFrameBytes)
        {
            reader.Rewind(4);
            Fail("frame.length", frameOffset,
                length < 2 ? $"frame length {length} is below the minimum of 2" : $"frame length {length} exceeds the limit of {maxFrameBytes} bytes");
        }

        if (reader.Remaining < (long)length + 4)
        {
            reader.Rewind(4);
            return false;
        }

        body = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length);
        reader.TryReadBigEndian(out int storedCrc);
        var crc = Crc32C.Initial;
        foreach (var segment in body)
        {
            crc = Crc32C.Update(crc, segment.Span);
        }

        crc = Crc32C.Finish(crc);
        if (crc != (uint)storedCrc)
        {
            Fail("frame.crc", frameOffset + 4 + length, $"checksum 0x{(uint)storedCrc:x8} does not match the body's 0x{crc:x8}");
        }

        return true;
    }

    [DoesNotReturn]
    private static void Fail(string field, long offset, string problem) => throw new ProtocolException(field, offset, problem + $" (offset {offset})");

    /// <summary>Parses fields of one verified body; every read is bounds-checked against the body.</summary>
    private ref struct BodyReader
    {
        private SequenceReader<byte> _reader;
        private readonly long _bodyStart;

        public BodyReader(ReadOnlySequence<byte> body, long frameOffset)
        {
            _reader = new SequenceReader<byte>(body);
            _bodyStart = frameOffset + 4;
        }

        public readonly long Offset => _bodyStart + _reader.Consumed;

        public byte Type()
        {
            var version = Byte("frame.version");
            if (version != Version)
            {
                Fail("frame.version", Offset - 1, $"unsupported peer protocol version {version} (this server speaks {Version})");
            }

            return Byte("frame.type");
        }

        public byte Byte(string field)
        {
            if (!_reader.TryRead(out var b))
            {
                Fail(field, Offset, "needs 1 byte but the frame ends");
            }

            return b;
        }

        public bool Bool(string field)
        {
            var b = Byte(field);
            if (b > 1)
            {
                Fail(field, Offset - 1, $"boolean byte {b} is neither 0 nor 1");
            }

            return b == 1;
        }

        public long Long(string field)
        {
            if (!_reader.TryReadBigEndian(out long value))
            {
                Fail(field, Offset, $"needs 8 bytes but only {_reader.Remaining} remain in the frame");
            }

            return value;
        }

        public int Count(string field, int minElementBytes)
        {
            var at = Offset;
            if (!_reader.TryReadBigEndian(out int count))
            {
                Fail(field, at, $"needs 4 bytes but only {_reader.Remaining} remain in the frame");
            }

            if (count < 0 || (long)count * minElementBytes > _reader.Remaining)
            {
                Fail(field, at, $"count {count} does not fit the {_reader.Remaining} bytes left in the frame (each element needs at least {minElementBytes})");
            }

            return count;
        }

        public ReadOnlyMemory<byte> Bytes(string field)
        {
            var at = Offset;
            if (!_reader.TryReadBigEndian(out int length))
            {
                Fail(field, at, $"needs 4 bytes but only {_reader.Remaining} remain in the frame");
            }

            if (length < 0 || length > _reader.Remaining)
            {
                Fail(field, at, $"length {length} does not fit the {_reader.Remaining} bytes left in the frame");
            }

            var bytes = new byte[length];
            _reader.TryCopyTo(bytes);
            _reader.Advance(length);
            return bytes;
        }

        public readonly void EndOfBody(string message)
        {
            if (_reader.Remaining != 0)
            {
                Fail(message, Offset, $"{_reader.Remaining} unexpected bytes after the last field");
            }
        }
    }

    /// <summary>Writes a body of known size into the output, CRC-ing every byte, then the CRC.</summary>
    private ref struct BodyWriter
    {
        private readonly IBufferWriter<byte> _output;
        private uint _crc;

        public BodyWriter(IBufferWriter<byte> output, int bodyBytes)
        {
            _output = output;
            _crc = Crc32C.Initial;
            var span = output.GetSpan(4);
            BinaryPrimitives.WriteInt32BigEndian(span, bodyBytes);
            output.Advance(4);
        }

        public void Byte(byte value)
        {
            var span = _output.GetSpan(1);
            span[0] = value;
            _crc = Crc32C.Update(_crc, span[..1]);
            _output.Advance(1);
        }

        public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

        public void Int(int value)
        {
            var span = _output.GetSpan(4);
            BinaryPrimitives.WriteInt32BigEndian(span, value);
            _crc = Crc32C.Update(_crc, span[..4]);
            _output.Advance(4);
        }

        public void Long(long value)
        {
            var span = _output.GetSpan(8);
            BinaryPrimitives.WriteInt64BigEndian(span, value);
            _crc = Crc32C.Update(_crc, span[..8]);
            _output.Advance(8);
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            while (bytes.Length > 0)
            {
                var span = _output.GetSpan(Math.Min(bytes.Length, 64 * 1024));
                var n = Math.Min(span.Length, bytes.Length);
                bytes[..n].CopyTo(span);
                _crc = Crc32C.Update(_crc, span[..n]);
                _output.Advance(n);
                bytes = bytes[n..];
            }
        }

        public readonly void End()
        {
            var span = _output.GetSpan(4);
            BinaryPrimitives.WriteUInt32BigEndian(span, Crc32C.Finish(_crc));
            _output.Advance(4);
        }
    }
}

/// <summary>Message type bytes of <see cref="PeerCodec"/>.</summary>
internal enum PeerMessageType : byte
{
    Notification = 1,
    LinkReset = 2,
    FollowerInfo = 3,
    AckEpoch = 4,
    AckNewLeader = 5,
    Ack = 6,
    PingReply = 7,
    Request = 8,
    SyncRequest = 9,
    LeaderInfo = 10,
    NewLeader = 11,
    UpToDate = 12,
    Proposal = 13,
    Commit = 14,
    Inform = 15,
    Ping = 16,
    SyncReply = 17,
}
