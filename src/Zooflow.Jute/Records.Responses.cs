namespace Zooflow.Jute;

// Codecs for response bodies (everything after the ReplyHeader).

public sealed partial record CreateResponse : IJuteRecord<CreateResponse>
{
    /// <inheritdoc />
    public static CreateResponse Read(ref JuteReader reader) => new(reader.ReadString("CreateResponse.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record Create2Response : IJuteRecord<Create2Response>
{
    /// <inheritdoc />
    public static Create2Response Read(ref JuteReader reader) =>
        new(reader.ReadString("Create2Response.path"), reader.ReadStat("Create2Response.stat"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteStat(Stat);
    }
}

public sealed partial record StatResponse : IJuteRecord<StatResponse>
{
    /// <inheritdoc />
    public static StatResponse Read(ref JuteReader reader) => new(reader.ReadStat("StatResponse.stat"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteStat(Stat);
}

public sealed partial record GetDataResponse : IJuteRecord<GetDataResponse>
{
    /// <inheritdoc />
    public static GetDataResponse Read(ref JuteReader reader) =>
        new(reader.ReadBuffer("GetDataResponse.data"), reader.ReadStat("GetDataResponse.stat"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteBuffer(Data);
        writer.WriteStat(Stat);
    }
}

public sealed partial record GetAclResponse : IJuteRecord<GetAclResponse>
{
    /// <inheritdoc />
    public static GetAclResponse Read(ref JuteReader reader) =>
        new(reader.ReadAclVector("GetACLResponse.acl"), reader.ReadStat("GetACLResponse.stat"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteAclVector(Acl);
        writer.WriteStat(Stat);
    }
}

public sealed partial record GetChildrenResponse : IJuteRecord<GetChildrenResponse>
{
    /// <inheritdoc />
    public static GetChildrenResponse Read(ref JuteReader reader) =>
        new(reader.ReadStringVector("GetChildrenResponse.children"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteStringVector(Children);
}

public sealed partial record GetChildren2Response : IJuteRecord<GetChildren2Response>
{
    /// <inheritdoc />
    public static GetChildren2Response Read(ref JuteReader reader) =>
        new(reader.ReadStringVector("GetChildren2Response.children"), reader.ReadStat("GetChildren2Response.stat"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteStringVector(Children);
        writer.WriteStat(Stat);
    }
}

public sealed partial record GetAllChildrenNumberResponse : IJuteRecord<GetAllChildrenNumberResponse>
{
    /// <inheritdoc />
    public static GetAllChildrenNumberResponse Read(ref JuteReader reader) =>
        new(reader.ReadInt("GetAllChildrenNumberResponse.totalNumber"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteInt(TotalNumber);
}

public sealed partial record GetEphemeralsResponse : IJuteRecord<GetEphemeralsResponse>
{
    /// <inheritdoc />
    public static GetEphemeralsResponse Read(ref JuteReader reader) =>
        new(reader.ReadStringVector("GetEphemeralsResponse.ephemerals"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteStringVector(Ephemerals);
}

public sealed partial record SyncResponse : IJuteRecord<SyncResponse>
{
    /// <inheritdoc />
    public static SyncResponse Read(ref JuteReader reader) => new(reader.ReadString("SyncResponse.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record ErrorResponse : IJuteRecord<ErrorResponse>
{
    /// <inheritdoc />
    public static ErrorResponse Read(ref JuteReader reader) => new((ErrorCode)reader.ReadInt("ErrorResponse.err"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteInt((int)Err);
}

public sealed partial record ClientInfo : IJuteRecord<ClientInfo>
{
    /// <inheritdoc />
    public static ClientInfo Read(ref JuteReader reader) =>
        new(reader.ReadString("ClientInfo.authScheme"), reader.ReadString("ClientInfo.user"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(AuthScheme);
        writer.WriteString(User);
    }
}

public sealed partial record WhoAmIResponse : IJuteRecord<WhoAmIResponse>
{
    /// <inheritdoc />
    public static WhoAmIResponse Read(ref JuteReader reader)
    {
        // ClientInfo is two ustrings: at least 8 bytes.
        var count = reader.ReadVectorCount("WhoAmIResponse.clientInfo", 8);
        var items = new ClientInfo[count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = global::Zooflow.Jute.ClientInfo.Read(ref reader);
        }

        return new WhoAmIResponse(items);
    }

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteVectorCount(ClientInfo.Count);
        for (var i = 0; i < ClientInfo.Count; i++)
        {
            ClientInfo[i].Write(ref writer);
        }
    }
}
