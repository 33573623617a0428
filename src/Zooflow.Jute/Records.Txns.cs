namespace Zooflow.Jute;

// Codecs for transaction records (zookeeper.jute, module org.apache.zookeeper.txn). See TxnCodec for whole entries.

public readonly partial record struct TxnHeader : IJuteRecord<TxnHeader>
{
    /// <summary>Reads <c>long clientId, int cxid, long zxid, long time, int type</c>.</summary>
    public static TxnHeader Read(ref JuteReader reader) => new(
        reader.ReadLong("TxnHeader.clientId"),
        reader.ReadInt("TxnHeader.cxid"),
        reader.ReadLong("TxnHeader.zxid"),
        reader.ReadLong("TxnHeader.time"),
        (OpCode)reader.ReadInt("TxnHeader.type"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteLong(ClientId);
        writer.WriteInt(Cxid);
        writer.WriteLong(Zxid);
        writer.WriteLong(Time);
        writer.WriteInt((int)Type);
    }
}

public sealed partial record CreateTxn : IJuteRecord<CreateTxn>
{
    /// <inheritdoc />
    public static CreateTxn Read(ref JuteReader reader) => new(
        reader.ReadString("CreateTxn.path"),
        reader.ReadBuffer("CreateTxn.data"),
        reader.ReadAclVector("CreateTxn.acl"),
        reader.ReadBool("CreateTxn.ephemeral"),
        reader.ReadInt("CreateTxn.parentCVersion"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteAclVector(Acl);
        writer.WriteBool(Ephemeral);
        writer.WriteInt(ParentCVersion);
    }
}

public sealed partial record CreateContainerTxn : IJuteRecord<CreateContainerTxn>
{
    /// <inheritdoc />
    public static CreateContainerTxn Read(ref JuteReader reader) => new(
        reader.ReadString("CreateContainerTxn.path"),
        reader.ReadBuffer("CreateContainerTxn.data"),
        reader.ReadAclVector("CreateContainerTxn.acl"),
        reader.ReadInt("CreateContainerTxn.parentCVersion"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteAclVector(Acl);
        writer.WriteInt(ParentCVersion);
    }
}

public sealed partial record CreateTtlTxn : IJuteRecord<CreateTtlTxn>
{
    /// <inheritdoc />
    public static CreateTtlTxn Read(ref JuteReader reader) => new(
        reader.ReadString("CreateTTLTxn.path"),
        reader.ReadBuffer("CreateTTLTxn.data"),
        reader.ReadAclVector("CreateTTLTxn.acl"),
        reader.ReadInt("CreateTTLTxn.parentCVersion"),
        reader.ReadLong("CreateTTLTxn.ttl"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteAclVector(Acl);
        writer.WriteInt(ParentCVersion);
        writer.WriteLong(Ttl);
    }
}

public sealed partial record DeleteTxn : IJuteRecord<DeleteTxn>
{
    /// <inheritdoc />
    public static DeleteTxn Read(ref JuteReader reader) => new(reader.ReadString("DeleteTxn.path"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteString(Path);
}

public sealed partial record SetDataTxn : IJuteRecord<SetDataTxn>
{
    /// <inheritdoc />
    public static SetDataTxn Read(ref JuteReader reader) => new(
        reader.ReadString("SetDataTxn.path"),
        reader.ReadBuffer("SetDataTxn.data"),
        reader.ReadInt("SetDataTxn.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteBuffer(Data);
        writer.WriteInt(Version);
    }
}

public sealed partial record CheckVersionTxn : IJuteRecord<CheckVersionTxn>
{
    /// <inheritdoc />
    public static CheckVersionTxn Read(ref JuteReader reader) =>
        new(reader.ReadString("CheckVersionTxn.path"), reader.ReadInt("CheckVersionTxn.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteInt(Version);
    }
}

public sealed partial record SetAclTxn : IJuteRecord<SetAclTxn>
{
    /// <inheritdoc />
    public static SetAclTxn Read(ref JuteReader reader) => new(
        reader.ReadString("SetACLTxn.path"),
        reader.ReadAclVector("SetACLTxn.acl"),
        reader.ReadInt("SetACLTxn.version"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteString(Path);
        writer.WriteAclVector(Acl);
        writer.WriteInt(Version);
    }
}

public sealed partial record CreateSessionTxn : IJuteRecord<CreateSessionTxn>
{
    /// <inheritdoc />
    public static CreateSessionTxn Read(ref JuteReader reader) => new(reader.ReadInt("CreateSessionTxn.timeOut"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteInt(TimeOutMs);
}

public sealed partial record CloseSessionTxn : IJuteRecord<CloseSessionTxn>
{
    /// <inheritdoc />
    public static CloseSessionTxn Read(ref JuteReader reader) =>
        new(reader.ReadStringVector("CloseSessionTxn.paths2Delete"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteStringVector(Paths2Delete);
}

public sealed partial record ErrorTxn : IJuteRecord<ErrorTxn>
{
    /// <inheritdoc />
    public static ErrorTxn Read(ref JuteReader reader) => new((ErrorCode)reader.ReadInt("ErrorTxn.err"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer) => writer.WriteInt((int)Err);
}

public sealed partial record MultiTxn : IJuteRecord<MultiTxn>
{
    private const int MinSubTxnBytes = 8; // int type + int buffer length

    /// <summary>Reads <c>vector&lt;Txn&gt;</c>, decoding each sub-transaction's buffer by its type
    /// (see <see cref="TxnCodec.ReadSubTxnBody"/>). The whole buffer must be consumed by the sub-record.</summary>
    public static MultiTxn Read(ref JuteReader reader)
    {
        var count = reader.ReadVectorCount("MultiTxn.txns", MinSubTxnBytes);
        var txns = new SubTxn[count];
        for (var i = 0; i < txns.Length; i++)
        {
            var type = (OpCode)reader.ReadInt("Txn.type");
            var offset = reader.Consumed;
            var data = reader.ReadBufferSequence("Txn.data");
            var inner = new JuteReader(data, reader.MaxBufferBytes);
            try
            {
                var body = TxnCodec.ReadSubTxnBody(type, ref inner);
                inner.ExpectEnd("Txn.data");
                txns[i] = new SubTxn(type, body);
            }
            catch (ProtocolException e)
            {
                // Offsets inside the sub-buffer are relative to it; say where the buffer itself starts.
                throw new ProtocolException($"MultiTxn.txns[{i}] (buffer at offset {offset}): {e.Message}", e);
            }
        }

        return new MultiTxn(txns);
    }

    /// <summary>Writes <c>vector&lt;Txn&gt;</c>: for each sub-transaction <c>int type, buffer data</c> where data is the
    /// serialized sub-record, exactly as ZooKeeper's PrepRequestProcessor builds it.</summary>
    public void Write(ref JuteWriter writer)
    {
        writer.WriteVectorCount(Txns.Count);
        for (var i = 0; i < Txns.Count; i++)
        {
            var sub = Txns[i];
            writer.WriteInt((int)sub.Type);
            var prefix = writer.BeginLengthPrefix();
            TxnCodec.WriteSubTxnBody(sub.Type, sub.Txn, ref writer);
            writer.EndLengthPrefix(prefix);
        }
    }
}

/// <summary>The optional digest ZooKeeper 3.6+ appends to a log entry: <c>int version, long treeDigest</c>.</summary>
public readonly record struct TxnDigest(int Version, long TreeDigest) : IJuteRecord<TxnDigest>
{
    /// <summary>Bytes of a serialized digest.</summary>
    public const int SerializedBytes = 12;

    /// <inheritdoc />
    public static TxnDigest Read(ref JuteReader reader) =>
        new(reader.ReadInt("TxnDigest.version"), reader.ReadLong("TxnDigest.treeDigest"));

    /// <inheritdoc />
    public void Write(ref JuteWriter writer)
    {
        writer.WriteInt(Version);
        writer.WriteLong(TreeDigest);
    }
}
