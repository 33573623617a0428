using System.Buffers;
using Zooflow.Common;

namespace Zooflow.Jute;

/// <summary>A decoded transaction entry: header, body (null only where ZooKeeper has none) and optional digest.</summary>
/// <param name="Header">The transaction header.</param>
/// <param name="Txn">The body record chosen by <see cref="TxnHeader.Type"/>.</param>
/// <param name="Digest">The trailing digest, when present.</param>
public sealed record TxnEntry(TxnHeader Header, object? Txn, TxnDigest? Digest = null);

/// <summary>
/// Whole transactions as ZooKeeper serializes them for its transaction log and for replication
/// (<c>Util.marshallTxnEntry</c> / <c>SerializeUtils.deserializeTxn</c>):
/// <code>
/// entry = TxnHeader hdr, body, [TxnDigest digest]
/// body by hdr.type:
///   createSession → CreateSessionTxn        closeSession → CloseSessionTxn (absent in pre-3.6 logs)
///   create, create2 → CreateTxn             createTTL → CreateTTLTxn       createContainer → CreateContainerTxn
///   delete, deleteContainer → DeleteTxn     setData, reconfig → SetDataTxn setACL → SetACLTxn
///   error → ErrorTxn                        multi → MultiTxn
/// MultiTxn = vector&lt;Txn&gt;, Txn = int type, buffer data (data = the serialized sub-record:
///   create/create2 → CreateTxn, createTTL → CreateTTLTxn, createContainer → CreateContainerTxn,
///   delete/deleteContainer → DeleteTxn, setData → SetDataTxn, check → CheckVersionTxn, error → ErrorTxn)
/// </code>
/// These bytes are what the durable log stores and replicas apply, so they must stay byte-compatible with ZooKeeper.
/// </summary>
public static class TxnCodec
{
    /// <summary>Writes header, body and (when given) digest.</summary>
    /// <exception cref="ArgumentException">The body record does not match the header's type.</exception>
    public static void Write(ref JuteWriter writer, in TxnHeader header, object? txn, TxnDigest? digest = null)
    {
        header.Write(ref writer);
        WriteBody(header.Type, txn, ref writer);
        digest?.Write(ref writer);
    }

    /// <summary>Writes a whole entry to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, in TxnHeader header, object? txn, TxnDigest? digest = null)
    {
        var writer = new JuteWriter(output);
        Write(ref writer, header, txn, digest);
    }

    /// <summary>Serializes a whole entry into a new array.</summary>
    public static byte[] Serialize(in TxnHeader header, object? txn, TxnDigest? digest = null)
    {
        using var buffer = new PooledBufferWriter();
        Write(buffer, header, txn, digest);
        return buffer.ToArray();
    }

    /// <summary>Reads header, body by type and, when exactly <see cref="TxnDigest.SerializedBytes"/> or more remain, a digest.</summary>
    public static TxnEntry Read(ref JuteReader reader)
    {
        var header = TxnHeader.Read(ref reader);
        var body = ReadBody(header.Type, ref reader);
        TxnDigest? digest = reader.Remaining >= TxnDigest.SerializedBytes ? TxnDigest.Read(ref reader) : null;
        return new TxnEntry(header, body, digest);
    }

    /// <summary>Decodes one entry that must occupy all of <paramref name="bytes"/>.</summary>
    /// <exception cref="ProtocolException">Malformed, truncated or with trailing bytes.</exception>
    public static TxnEntry Deserialize(ReadOnlySequence<byte> bytes, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes)
    {
        var reader = new JuteReader(bytes, maxBufferBytes);
        var entry = Read(ref reader);
        reader.ExpectEnd("TxnEntry");
        return entry;
    }

    /// <summary>Decodes one entry that must occupy all of <paramref name="bytes"/>.</summary>
    public static TxnEntry Deserialize(ReadOnlyMemory<byte> bytes, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes) =>
        Deserialize(new ReadOnlySequence<byte>(bytes), maxBufferBytes);

    /// <summary>Reads the body of a top-level transaction of type <paramref name="type"/>.</summary>
    public static object ReadBody(OpCode type, ref JuteReader reader)
    {
        var offset = reader.Consumed;
        return type switch
        {
            OpCode.CreateSession => CreateSessionTxn.Read(ref reader),
            // ZooKeeper before 3.6 (or with closeSessionTxn disabled) logs closeSession with no body.
            OpCode.CloseSession => reader.End ? new CloseSessionTxn([]) : CloseSessionTxn.Read(ref reader),
            OpCode.Create or OpCode.Create2 => CreateTxn.Read(ref reader),
            OpCode.CreateTtl => CreateTtlTxn.Read(ref reader),
            OpCode.CreateContainer => CreateContainerTxn.Read(ref reader),
            OpCode.Delete or OpCode.DeleteContainer => DeleteTxn.Read(ref reader),
            OpCode.SetData or OpCode.Reconfig => SetDataTxn.Read(ref reader),
            OpCode.SetAcl => SetAclTxn.Read(ref reader),
            OpCode.Error => ErrorTxn.Read(ref reader),
            OpCode.Multi => MultiTxn.Read(ref reader),
            _ => JuteThrow.UnexpectedType<object>("TxnHeader.type", offset, (int)type),
        };
    }

    /// <summary>Writes the body of a top-level transaction, checking that the record matches the type.</summary>
    public static void WriteBody(OpCode type, object? txn, ref JuteWriter writer)
    {
        var matches = type switch
        {
            OpCode.CreateSession => txn is CreateSessionTxn,
            OpCode.CloseSession => txn is CloseSessionTxn,
            OpCode.Create or OpCode.Create2 => txn is CreateTxn,
            OpCode.CreateTtl => txn is CreateTtlTxn,
            OpCode.CreateContainer => txn is CreateContainerTxn,
            OpCode.Delete or OpCode.DeleteContainer => txn is DeleteTxn,
            OpCode.SetData or OpCode.Reconfig => txn is SetDataTxn,
            OpCode.SetAcl => txn is SetAclTxn,
            OpCode.Error => txn is ErrorTxn,
            OpCode.Multi => txn is MultiTxn,
            _ => false,
        };
        if (!matches)
        {
            ThrowHelper.ThrowArgument(nameof(txn), $"a {type} transaction cannot carry a {txn?.GetType().Name ?? "null"} body");
        }

        ((IJuteWritable)txn!).Write(ref writer);
    }

    /// <summary>Reads the record inside one sub-transaction of a <see cref="MultiTxn"/>.</summary>
    public static object ReadSubTxnBody(OpCode type, ref JuteReader reader)
    {
        var offset = reader.Consumed;
        return type switch
        {
            OpCode.Create or OpCode.Create2 => CreateTxn.Read(ref reader),
            OpCode.CreateTtl => CreateTtlTxn.Read(ref reader),
            OpCode.CreateContainer => CreateContainerTxn.Read(ref reader),
            OpCode.Delete or OpCode.DeleteContainer => DeleteTxn.Read(ref reader),
            OpCode.SetData => SetDataTxn.Read(ref reader),
            OpCode.Check => CheckVersionTxn.Read(ref reader),
            OpCode.Error => ErrorTxn.Read(ref reader),
            _ => JuteThrow.UnexpectedType<object>("Txn.type", offset, (int)type),
        };
    }

    /// <summary>Writes the record inside one sub-transaction of a <see cref="MultiTxn"/>, checking it matches the type.</summary>
    public static void WriteSubTxnBody(OpCode type, object? txn, ref JuteWriter writer)
    {
        var matches = type switch
        {
            OpCode.Create or OpCode.Create2 => txn is CreateTxn,
            OpCode.CreateTtl => txn is CreateTtlTxn,
            OpCode.CreateContainer => txn is CreateContainerTxn,
            OpCode.Delete or OpCode.DeleteContainer => txn is DeleteTxn,
            OpCode.SetData => txn is SetDataTxn,
            OpCode.Check => txn is CheckVersionTxn,
            OpCode.Error => txn is ErrorTxn,
            _ => false,
        };
        if (!matches)
        {
            ThrowHelper.ThrowArgument(nameof(txn), $"a {type} sub-transaction cannot carry a {txn?.GetType().Name ?? "null"} body");
        }

        ((IJuteWritable)txn!).Write(ref writer);
    }
}
