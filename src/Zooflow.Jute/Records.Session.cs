namespace Zooflow.Jute;

// Codecs for session set-up, framing headers, auth, set-watches and watch notifications.

public sealed partial record ConnectRequest : IJuteRecord<ConnectRequest>
{
    /// <summary>Whether the trailing readOnly byte was on the wire (false for pre-3.4 clients). ZooKeeper answers such a
    /// client without the readOnly byte in its <see cref="ConnectResponse"/>; copy this into
    /// <see cref="ConnectResponse.HasReadOnlyFlag"/>. Defaults to true.</summary>
    public bool HasReadOnlyFlag { get; init; } = true;

    /// <summary>Reads a connect request; the trailing readOnly flag is read only if bytes remain (pre-3.4 clients omit it).</summary>
    public static ConnectRequest Read(ref JuteReader reader)
    {
        var protocolVersion = reader.ReadInt("ConnectRequest.protocolVersion");
        var lastZxidSeen = reader.ReadLong("ConnectRequest.lastZxidSeen");
        var timeOut = reader.ReadInt("ConnectRequest.timeOut");
        var sessionId = reader.ReadLong("ConnectRequest.sessionId");
        var passwd = reader.ReadBuffer("ConnectRequest.passwd");
        var hasReadOnly = !reader.End;
        var readOnly = hasReadOnly && reader.ReadBool("ConnectRequest.readOnly");
        return new ConnectRequest(protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly) { HasReadOnlyFlag = hasReadOnly };
    }

    /// <summary>Writes all fields; readOnly only when <see cref="HasReadOnlyFlag"/>.</summary>
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(ProtocolVersion);
        writer.WriteLong(LastZxidSeen);
        writer.WriteInt(TimeOutMs);
        writer.WriteLong(SessionId);
        writer.WriteBuffer(Password);
        if (HasReadOnlyFlag)
        {
            writer.WriteBool(ReadOnly);
        }
    }
}

public sealed partial record ConnectResponse : IJuteRecord<ConnectResponse>
{
    /// <summary>Whether the trailing readOnly byte is (or was) on the wire. ZooKeeper writes it only to clients that sent
    /// one in their <see cref="ConnectRequest"/> (<c>ZooKeeperServer.finishSessionInit</c>: <c>if (!cnxn.isOldClient)</c>).
    /// Defaults to true.</summary>
    public bool HasReadOnlyFlag { get; init; } = true;

    /// <summary>Reads a connect response; the trailing readOnly flag is read only if bytes remain (old servers omit it).</summary>
    public static ConnectResponse Read(ref JuteReader reader)
    {
        var protocolVersion = reader.ReadInt("ConnectResponse.protocolVersion");
        var timeOut = reader.ReadInt("ConnectResponse.timeOut");
        var sessionId = reader.ReadLong("ConnectResponse.sessionId");
        var passwd = reader.ReadBuffer("ConnectResponse.passwd");
        var hasReadOnly = !reader.End;
        var readOnly = hasReadOnly && reader.ReadBool("ConnectResponse.readOnly");
        return new ConnectResponse(protocolVersion, timeOut, sessionId, passwd, readOnly) { HasReadOnlyFlag = hasReadOnly };
    }

    /// <summary>Writes all fields; readOnly only when <see cref="HasReadOnlyFlag"/>.</summary>
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(ProtocolVersion);
        writer.WriteInt(TimeOutMs);
        writer.WriteLong(SessionId);
        writer.WriteBuffer(Password);
        if (HasReadOnlyFlag)
        {
            writer.WriteBool(ReadOnly);
        }
    }
}

public readonly partial record struct RequestHeader : IJuteRecord<RequestHeader>
{
    /// <summary>Reads <c>int xid, int type</c>. The type is not validated here.</summary>
    public static RequestHeader Read(ref JuteReader reader) =>
        new(reader.ReadInt("RequestHeader.xid"), (OpCode)reader.ReadInt("RequestHeader.type"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(Xid);
        writer.WriteInt((int)Type);
    }
}

public readonly partial record struct ReplyHeader : IJuteRecord<ReplyHeader>
{
    /// <summary>Reads <c>int xid, long zxid, int err</c>.</summary>
    public static ReplyHeader Read(ref JuteReader reader) =>
        new(reader.ReadInt("ReplyHeader.xid"), reader.ReadLong("ReplyHeader.zxid"), (ErrorCode)reader.ReadInt("ReplyHeader.err"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(Xid);
        writer.WriteLong(Zxid);
        writer.WriteInt((int)Err);
    }
}

public readonly partial record struct MultiHeader : IJuteRecord<MultiHeader>
{
    /// <summary>Reads <c>int type, boolean done, int err</c>.</summary>
    public static MultiHeader Read(ref JuteReader reader) =>
        new((OpCode)reader.ReadInt("MultiHeader.type"), reader.ReadBool("MultiHeader.done"), (ErrorCode)reader.ReadInt("MultiHeader.err"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt((int)Type);
        writer.WriteBool(Done);
        writer.WriteInt((int)Err);
    }
}

public sealed partial record AuthPacket : IJuteRecord<AuthPacket>
{
    /// <inheritdoc />
    public static AuthPacket Read(ref JuteReader reader) =>
        new(reader.ReadInt("AuthPacket.type"), reader.ReadString("AuthPacket.scheme"), reader.ReadBuffer("AuthPacket.auth"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(Type);
        writer.WriteString(Scheme);
        writer.WriteBuffer(Auth);
    }
}

public sealed partial record SetWatches : IJuteRecord<SetWatches>
{
    /// <inheritdoc />
    public static SetWatches Read(ref JuteReader reader) => new(
        reader.ReadLong("SetWatches.relativeZxid"),
        reader.ReadStringVector("SetWatches.dataWatches"),
        reader.ReadStringVector("SetWatches.existWatches"),
        reader.ReadStringVector("SetWatches.childWatches"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteLong(RelativeZxid);
        writer.WriteStringVector(DataWatches);
        writer.WriteStringVector(ExistWatches);
        writer.WriteStringVector(ChildWatches);
    }
}

public sealed partial record SetWatches2 : IJuteRecord<SetWatches2>
{
    /// <inheritdoc />
    public static SetWatches2 Read(ref JuteReader reader) => new(
        reader.ReadLong("SetWatches2.relativeZxid"),
        reader.ReadStringVector("SetWatches2.dataWatches"),
        reader.ReadStringVector("SetWatches2.existWatches"),
        reader.ReadStringVector("SetWatches2.childWatches"),
        reader.ReadStringVector("SetWatches2.persistentWatches"),
        reader.ReadStringVector("SetWatches2.persistentRecursiveWatches"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteLong(RelativeZxid);
        writer.WriteStringVector(DataWatches);
        writer.WriteStringVector(ExistWatches);
        writer.WriteStringVector(ChildWatches);
        writer.WriteStringVector(PersistentWatches);
        writer.WriteStringVector(PersistentRecursiveWatches);
    }
}

public sealed partial record WatcherEvent : IJuteRecord<WatcherEvent>
{
    /// <inheritdoc />
    public static WatcherEvent Read(ref JuteReader reader) => new(
        (EventType)reader.ReadInt("WatcherEvent.type"),
        (KeeperState)reader.ReadInt("WatcherEvent.state"),
        reader.ReadString("WatcherEvent.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt((int)Type);
        writer.WriteInt((int)State);
        writer.WriteString(Path);
    }
}
