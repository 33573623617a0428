namespace Zooflow.Jute;

// Codecs for request bodies (everything after the RequestHeader).

public sealed partial record CreateRequest : IJuteRecord<CreateRequest>
{
    /// <inheritdoc />
    public static CreateRequest Read(ref JuteReader reader) => new(
        reader.ReadString("CreateRequest.path"),
        reader.ReadBuffer("CreateRequest.data"),
        reader.ReadAclVector("CreateRequest.acl"),
        (CreateMode)reader.ReadInt("CreateRequest.flags"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteAclVector(Acl);
        writer.WriteInt((int)Flags);
    }
}

public sealed partial record CreateTtlRequest : IJuteRecord<CreateTtlRequest>
{
    /// <inheritdoc />
    public static CreateTtlRequest Read(ref JuteReader reader) => new(
        reader.ReadString("CreateTTLRequest.path"),
        reader.ReadBuffer("CreateTTLRequest.data"),
        reader.ReadAclVector("CreateTTLRequest.acl"),
        (CreateMode)reader.ReadInt("CreateTTLRequest.flags"),
        reader.ReadLong("CreateTTLRequest.ttl"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteAclVector(Acl);
        writer.WriteInt((int)Flags);
        writer.WriteLong(Ttl);
    }
}

public sealed partial record DeleteRequest : IJuteRecord<DeleteRequest>
{
    /// <inheritdoc />
    public static DeleteRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("DeleteRequest.path"), reader.ReadInt("DeleteRequest.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteInt(Version);
    }
}

public sealed partial record ExistsRequest : IJuteRecord<ExistsRequest>
{
    /// <inheritdoc />
    public static ExistsRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("ExistsRequest.path"), reader.ReadBool("ExistsRequest.watch"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBool(Watch);
    }
}

public sealed partial record GetDataRequest : IJuteRecord<GetDataRequest>
{
    /// <inheritdoc />
    public static GetDataRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("GetDataRequest.path"), reader.ReadBool("GetDataRequest.watch"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBool(Watch);
    }
}

public sealed partial record SetDataRequest : IJuteRecord<SetDataRequest>
{
    /// <inheritdoc />
    public static SetDataRequest Read(ref JuteReader reader) => new(
        reader.ReadString("SetDataRequest.path"),
        reader.ReadBuffer("SetDataRequest.data"),
        reader.ReadInt("SetDataRequest.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteInt(Version);
    }
}

public sealed partial record GetAclRequest : IJuteRecord<GetAclRequest>
{
    /// <inheritdoc />
    public static GetAclRequest Read(ref JuteReader reader) => new(reader.ReadString("GetACLRequest.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record SetAclRequest : IJuteRecord<SetAclRequest>
{
    /// <inheritdoc />
    public static SetAclRequest Read(ref JuteReader reader) => new(
        reader.ReadString("SetACLRequest.path"),
        reader.ReadAclVector("SetACLRequest.acl"),
        reader.ReadInt("SetACLRequest.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteAclVector(Acl);
        writer.WriteInt(Version);
    }
}

public sealed partial record GetChildrenRequest : IJuteRecord<GetChildrenRequest>
{
    /// <inheritdoc />
    public static GetChildrenRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("GetChildrenRequest.path"), reader.ReadBool("GetChildrenRequest.watch"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBool(Watch);
    }
}

public sealed partial record GetAllChildrenNumberRequest : IJuteRecord<GetAllChildrenNumberRequest>
{
    /// <inheritdoc />
    public static GetAllChildrenNumberRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("GetAllChildrenNumberRequest.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record GetEphemeralsRequest : IJuteRecord<GetEphemeralsRequest>
{
    /// <inheritdoc />
    public static GetEphemeralsRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("GetEphemeralsRequest.prefixPath"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(PrefixPath);
}

public sealed partial record SyncRequest : IJuteRecord<SyncRequest>
{
    /// <inheritdoc />
    public static SyncRequest Read(ref JuteReader reader) => new(reader.ReadString("SyncRequest.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record CheckVersionRequest : IJuteRecord<CheckVersionRequest>
{
    /// <inheritdoc />
    public static CheckVersionRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("CheckVersionRequest.path"), reader.ReadInt("CheckVersionRequest.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteInt(Version);
    }
}

public sealed partial record AddWatchRequest : IJuteRecord<AddWatchRequest>
{
    /// <inheritdoc />
    public static AddWatchRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("AddWatchRequest.path"), (AddWatchMode)reader.ReadInt("AddWatchRequest.mode"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteInt((int)Mode);
    }
}

public sealed partial record RemoveWatchesRequest : IJuteRecord<RemoveWatchesRequest>
{
    /// <inheritdoc />
    public static RemoveWatchesRequest Read(ref JuteReader reader) =>
        new(reader.ReadString("RemoveWatchesRequest.path"), (WatcherType)reader.ReadInt("RemoveWatchesRequest.type"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteInt((int)Type);
    }
}
