using Zooflow.Common;
using Zooflow.Jute;

namespace Zooflow.Server.Quorum;

/// <summary>
/// A client write on its way to the leader's prep stage: what ZooKeeper's learner puts in a REQUEST packet (session,
/// cxid, opcode, the request and the connection's authentication). Learners send it encoded as the opaque
/// <c>ForwardRequest</c> bytes of the core; the leader's own clients' writes go straight into its queue.
/// </summary>
/// <remarks>
/// Grammar (jute encoding: big-endian integers, strings as int length + UTF-8):
/// <code>
/// forward := kind:u8 sessionId:i64 cxid:i32 rest
///   kind 1 (request):       type:i32 authCount:i32 (scheme:string id:string)* body   body = the request record of type
///   kind 2 (createSession): timeoutMs:i32
///   kind 3 (closeSession):  (nothing)
/// </code>
/// </remarks>
internal sealed record ForwardedWrite(ForwardKind Kind, long SessionId, int Cxid, OpCode Type, object? Body, IReadOnlyList<Id> AuthIds, int TimeoutMs)
{
    /// <summary>A client's write request.</summary>
    public static ForwardedWrite Request(long sessionId, int cxid, OpCode type, object? body, IReadOnlyList<Id> authIds) =>
        new(ForwardKind.Request, sessionId, cxid, type, body, authIds, 0);

    /// <summary>A new session (its id was chosen by the server the client connected to).</summary>
    public static ForwardedWrite CreateSession(long sessionId, int timeoutMs) =>
        new(ForwardKind.CreateSession, sessionId, 0, OpCode.CreateSession, null, [], timeoutMs);

    /// <summary>A session close: the client's closeSession (its cxid), or the leader's expiry (cxid 0).</summary>
    public static ForwardedWrite CloseSession(long sessionId, int cxid) =>
        new(ForwardKind.CloseSession, sessionId, cxid, OpCode.CloseSession, null, [], 0);

    /// <summary>Encodes for the wire (a fresh array: the core keeps it until the leader has it).</summary>
    public byte[] Encode()
    {
        using var buffer = new PooledBufferWriter(256);
        buffer.GetSpan(1)[0] = (byte)Kind;
        buffer.Advance(1);
        var w = new JuteWriter(buffer);
        w.WriteLong(SessionId);
        w.WriteInt(Cxid);
        switch (Kind)
        {
            case ForwardKind.Request:
                w.WriteInt((int)Type);
                w.WriteInt(AuthIds.Count);
                foreach (var id in AuthIds)
                {
                    w.WriteId(id);
                }

                if (Body is IJuteWritable body)
                {
                    body.Write(ref w);
                }

                break;
            case ForwardKind.CreateSession:
                w.WriteInt(TimeoutMs);
                break;
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes bytes a learner forwarded.</summary>
    /// <exception cref="ProtocolException">Malformed (names field and offset).</exception>
    public static ForwardedWrite Decode(ReadOnlyMemory<byte> bytes, int maxBufferBytes)
    {
        if (bytes.IsEmpty)
        {
            throw new ProtocolException("ForwardedWrite.kind", 0, "empty forwarded request");
        }

        var kind = (ForwardKind)bytes.Span[0];
        var r = new JuteReader(bytes[1..], maxBufferBytes);
        var sessionId = r.ReadLong("ForwardedWrite.sessionId");
        var cxid = r.ReadInt("ForwardedWrite.cxid");
        ForwardedWrite write;
        switch (kind)
        {
            case ForwardKind.Request:
            {
                var type = (OpCode)r.ReadInt("ForwardedWrite.type");
                var count = r.ReadInt("ForwardedWrite.authCount");
                if (count < 0 || count > r.Remaining / 8)
                {
                    throw new ProtocolException("ForwardedWrite.authCount", r.Consumed, $"count {count} does not fit the {r.Remaining} bytes left");
                }

                var ids = new List<Id>(count);
                for (var i = 0; i < count; i++)
                {
                    ids.Add(new Id(r.ReadString("ForwardedWrite.auth.scheme"), r.ReadString("ForwardedWrite.auth.id")));
                }

                if (!RequestCodec.TryReadBody(type, ref r, out var body))
                {
                    throw new ProtocolException("ForwardedWrite.type", r.Consumed, $"opcode {(int)type} has no request body this server knows");
                }

                write = Request(sessionId, cxid, type, body, ids);
                break;
            }

            case ForwardKind.CreateSession:
                write = CreateSession(sessionId, r.ReadInt("ForwardedWrite.timeoutMs"));
                break;
            case ForwardKind.CloseSession:
                write = CloseSession(sessionId, cxid);
                break;
            default:
                throw new ProtocolException("ForwardedWrite.kind", 0, $"unknown kind {(int)kind} (1 request, 2 createSession, 3 closeSession)");
        }

        if (r.Remaining != 0)
        {
            throw new ProtocolException("ForwardedWrite", r.Consumed, $"{r.Remaining} unexpected trailing bytes");
        }

        return write;
    }
}

/// <summary>What a <see cref="ForwardedWrite"/> carries.</summary>
internal enum ForwardKind : byte
{
    /// <summary>A client request (create, delete, setData, setACL, multi, ...).</summary>
    Request = 1,

    /// <summary>createSession.</summary>
    CreateSession = 2,

    /// <summary>closeSession.</summary>
    CloseSession = 3,
}
