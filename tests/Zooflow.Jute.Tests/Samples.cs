using System.Buffers;
using System.Text;
using Xunit;
using Zooflow.Common;

namespace Zooflow.Jute.Tests;

/// <summary>Decodes one record from a complete buffer.</summary>
public delegate object RecordDecoder(ref JuteReader reader);

/// <summary>One sample record with the decoder for its type.</summary>
public sealed record Sample(string Name, IJuteWritable Record, RecordDecoder Decode)
{
    public byte[] Bytes() => Serialize(Record);

    public override string ToString() => Name;

    public static Sample Of<T>(T record, string? name = null)
        where T : IJuteRecord<T> =>
        new(name ?? typeof(T).Name, record, static (ref JuteReader r) => T.Read(ref r)!);

    public static byte[] Serialize(IJuteWritable record)
    {
        using var buffer = new PooledBufferWriter();
        var writer = new JuteWriter(buffer);
        record.Write(ref writer);
        return buffer.ToArray();
    }

    /// <summary>Decodes <paramref name="bytes"/> strictly (all bytes consumed) and re-serializes the result.</summary>
    public byte[] DecodeAndReserialize(ReadOnlySequence<byte> bytes, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes)
    {
        var reader = new JuteReader(bytes, maxBufferBytes);
        var decoded = Decode(ref reader);
        reader.ExpectEnd(Name);
        return Serialize((IJuteWritable)decoded);
    }
}

/// <summary>A whole transaction entry as a writable, for sample tables.</summary>
public sealed record TxnEntrySample(TxnHeader Header, object? Txn, TxnDigest? Digest) : IJuteWritable
{
    public void Write(ref JuteWriter writer) => TxnCodec.Write(ref writer, Header, Txn, Digest);

    public static object Read(ref JuteReader reader)
    {
        var entry = TxnCodec.Read(ref reader);
        return new TxnEntrySample(entry.Header, entry.Txn, entry.Digest);
    }
}

/// <summary>A request frame body as the server sees it: header then body chosen by opcode.</summary>
public sealed record RequestFrame(RequestHeader Header, IJuteWritable? Body) : IJuteWritable
{
    public void Write(ref JuteWriter writer)
    {
        Header.Write(ref writer);
        Body?.Write(ref writer);
    }

    public static object Read(ref JuteReader reader)
    {
        var header = RequestHeader.Read(ref reader);
        if (!RequestCodec.TryReadBody(header.Type, ref reader, out var body))
        {
            throw new ProtocolException($"unknown opcode {header.Type}");
        }

        return new RequestFrame(header, (IJuteWritable?)body);
    }
}

/// <summary>A reply frame body as a client sees it: header then, on success, the body for the request's opcode.</summary>
public sealed record ReplyFrame(ReplyHeader Header, IJuteWritable? Body) : IJuteWritable
{
    public void Write(ref JuteWriter writer)
    {
        Header.Write(ref writer);
        Body?.Write(ref writer);
    }

    public static RecordDecoder For(OpCode requestType) => (ref JuteReader reader) =>
    {
        var header = ReplyHeader.Read(ref reader);
        object? body = null;
        if (header.Err == ErrorCode.Ok && !ResponseCodec.TryReadBody(requestType, ref reader, out body))
        {
            throw new ProtocolException($"unknown opcode {requestType}");
        }

        return new ReplyFrame(header, (IJuteWritable?)body);
    };
}

public static class Samples
{
    public static readonly Stat SomeStat = new(
        Czxid: 0x100000001, Mzxid: 0x100000002, Ctime: 1_700_000_000_000, Mtime: 1_700_000_000_123, Version: 3, Cversion: 4,
        Aversion: 5, EphemeralOwner: 0x7766554433221100, DataLength: 11, NumChildren: 2, Pzxid: 0x100000003);

    public static readonly IReadOnlyList<Acl> TwoAcls =
        [new Acl(Perms.All, Id.AnyoneIdUnsafe), new Acl(Perms.Read | Perms.Write, new Id("digest", "bob:abc=")) ];

    public static readonly byte[] Data = Encoding.UTF8.GetBytes("hello, zoo");

    public const string UnicodePath = "/grüße/日本/\U0001F600";

    public static MultiRequest AllOpsMulti() => new([
        new MultiOp(OpCode.Create, new CreateRequest("/a", Data, TwoAcls, CreateMode.Persistent)),
        new MultiOp(OpCode.Create2, new CreateRequest("/b", [], Acl.OpenAclUnsafe, CreateMode.EphemeralSequential)),
        new MultiOp(OpCode.CreateContainer, new CreateRequest("/c", [], Acl.OpenAclUnsafe, CreateMode.Container)),
        new MultiOp(OpCode.CreateTtl, new CreateTtlRequest("/d", Data, Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 60_000)),
        new MultiOp(OpCode.Delete, new DeleteRequest("/e", -1)),
        new MultiOp(OpCode.SetData, new SetDataRequest(UnicodePath, Data, 7)),
        new MultiOp(OpCode.Check, new CheckVersionRequest("/g", 3)),
        new MultiOp(OpCode.GetChildren, new GetChildrenRequest("/h", false)),
        new MultiOp(OpCode.GetData, new GetDataRequest("/i", false)),
    ]);

    public static MultiResponse AllResultsMulti() => new([
        new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse("/a")),
        new MultiResult(OpCode.Create2, ErrorCode.Ok, new Create2Response("/b0000000001", SomeStat)),
        new MultiResult(OpCode.Delete, ErrorCode.Ok, null),
        new MultiResult(OpCode.SetData, ErrorCode.Ok, new StatResponse(SomeStat)),
        new MultiResult(OpCode.Check, ErrorCode.Ok, null),
        new MultiResult(OpCode.GetChildren, ErrorCode.Ok, new GetChildrenResponse(["x", "y"])),
        new MultiResult(OpCode.GetData, ErrorCode.Ok, new GetDataResponse(Data, SomeStat)),
        new MultiResult(OpCode.Error, ErrorCode.NoNode, new ErrorResponse(ErrorCode.NoNode)),
    ]);

    public static MultiTxn AllSubTxnsMulti() => new([
        new SubTxn(OpCode.Create, new CreateTxn("/a", Data, TwoAcls, true, 4)),
        new SubTxn(OpCode.Create2, new CreateTxn("/b", [], Acl.OpenAclUnsafe, false, 5)),
        new SubTxn(OpCode.CreateTtl, new CreateTtlTxn("/c", Data, Acl.OpenAclUnsafe, 6, 1000)),
        new SubTxn(OpCode.CreateContainer, new CreateContainerTxn("/d", Data, Acl.OpenAclUnsafe, 7)),
        new SubTxn(OpCode.Delete, new DeleteTxn("/e")),
        new SubTxn(OpCode.SetData, new SetDataTxn(UnicodePath, Data, 8)),
        new SubTxn(OpCode.Check, new CheckVersionTxn("/g", 9)),
        new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.RuntimeInconsistency)),
    ]);

    /// <summary>One or more samples of every record type.</summary>
    public static IReadOnlyList<Sample> All { get; } = Build();

    public static IEnumerable<TheoryDataRow<string>> Names() => All.Select(s => new TheoryDataRow<string>(s.Name));

    public static Sample Get(string name) => All.Single(s => s.Name == name);

    private static List<Sample> Build()
    {
        var txnHeader = new TxnHeader(0x0102030405060708, 42, 0x200000005, 1_700_000_000_000, OpCode.Create);
        return
        [
            Sample.Of(new ConnectRequest(0, 0x100000009, 30_000, 0x7001020304050607, new byte[16], false)),
            Sample.Of(new ConnectRequest(0, 0, 4_000, 0, [1, 2, 3], true), "ConnectRequest.readOnly"),
            Sample.Of(new ConnectResponse(0, 30_000, 0x7001020304050607, Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(), false)),
            Sample.Of(new RequestHeader(17, OpCode.GetData)),
            Sample.Of(new ReplyHeader(17, 0x100000002, ErrorCode.NoNode)),
            Sample.Of(new MultiHeader(OpCode.Check, false, ErrorCode.Ok)),
            Sample.Of(new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("bob:secret"))),
            Sample.Of(new SetWatches(0x100000007, ["/a", "/b"], [], [UnicodePath])),
            Sample.Of(new SetWatches2(0x100000007, ["/a"], ["/b"], ["/c"], ["/d"], ["/e", "/f"])),
            Sample.Of(new WatcherEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, "/parent")),
            Sample.Of(new CreateRequest(UnicodePath, Data, TwoAcls, CreateMode.EphemeralSequential)),
            Sample.Of(new CreateTtlRequest("/ttl", Data, Acl.OpenAclUnsafe, CreateMode.PersistentSequentialWithTtl, 123_456)),
            Sample.Of(new DeleteRequest("/a", 5)),
            Sample.Of(new ExistsRequest("/a", true)),
            Sample.Of(new GetDataRequest("/a", true)),
            Sample.Of(new SetDataRequest("/a", Data, -1)),
            Sample.Of(new GetAclRequest("/a")),
            Sample.Of(new SetAclRequest("/a", TwoAcls, 2)),
            Sample.Of(new GetChildrenRequest("/a", false)),
            Sample.Of(new GetAllChildrenNumberRequest("/a")),
            Sample.Of(new GetEphemeralsRequest("/")),
            Sample.Of(new SyncRequest("/a")),
            Sample.Of(new CheckVersionRequest("/a", 1)),
            Sample.Of(new AddWatchRequest("/a", AddWatchMode.PersistentRecursive)),
            Sample.Of(new RemoveWatchesRequest("/a", WatcherType.Any)),
            Sample.Of(AllOpsMulti()),
            Sample.Of(new MultiRequest([]), "MultiRequest.empty"),
            Sample.Of(new CreateResponse("/a0000000001")),
            Sample.Of(new Create2Response("/a", SomeStat)),
            Sample.Of(new StatResponse(SomeStat)),
            Sample.Of(new GetDataResponse(Data, SomeStat)),
            Sample.Of(new GetAclResponse(TwoAcls, SomeStat)),
            Sample.Of(new GetChildrenResponse(["a", "b", "日本"])),
            Sample.Of(new GetChildren2Response(["a"], SomeStat)),
            Sample.Of(new GetAllChildrenNumberResponse(12345)),
            Sample.Of(new GetEphemeralsResponse(["/e1", "/e2"])),
            Sample.Of(new SyncResponse("/a")),
            Sample.Of(new ErrorResponse(ErrorCode.BadVersion)),
            Sample.Of(new ClientInfo("digest", "bob")),
            Sample.Of(new WhoAmIResponse([new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "bob")])),
            Sample.Of(AllResultsMulti()),
            Sample.Of(txnHeader),
            Sample.Of(new CreateTxn("/a", Data, TwoAcls, true, 3)),
            Sample.Of(new CreateContainerTxn("/a", Data, TwoAcls, 3)),
            Sample.Of(new CreateTtlTxn("/a", Data, TwoAcls, 3, 99)),
            Sample.Of(new DeleteTxn("/a")),
            Sample.Of(new SetDataTxn("/a", Data, 4)),
            Sample.Of(new CheckVersionTxn("/a", 4)),
            Sample.Of(new SetAclTxn("/a", TwoAcls, 1)),
            Sample.Of(new CreateSessionTxn(30_000)),
            Sample.Of(new CloseSessionTxn(["/e1", "/e2"])),
            Sample.Of(new ErrorTxn(ErrorCode.NodeExists)),
            Sample.Of(AllSubTxnsMulti()),
            Sample.Of(new TxnDigest(2, 0x1234567890abcdef)),
            new Sample("TxnEntry.create", new TxnEntrySample(txnHeader, new CreateTxn("/a", Data, TwoAcls, false, 1), null), TxnEntrySample.Read),
            new Sample("TxnEntry.multi+digest", new TxnEntrySample(txnHeader with { Type = OpCode.Multi }, AllSubTxnsMulti(), new TxnDigest(2, 77)), TxnEntrySample.Read),
            new Sample("TxnEntry.closeSession", new TxnEntrySample(txnHeader with { Type = OpCode.CloseSession }, new CloseSessionTxn(["/x"]), null), TxnEntrySample.Read),
            new Sample("TxnEntry.createSession", new TxnEntrySample(txnHeader with { Type = OpCode.CreateSession }, new CreateSessionTxn(5000), null), TxnEntrySample.Read),
            new Sample("Request.create", new RequestFrame(new RequestHeader(1, OpCode.Create), new CreateRequest("/a", Data, TwoAcls, CreateMode.Persistent)), RequestFrame.Read),
            new Sample("Request.multi", new RequestFrame(new RequestHeader(2, OpCode.Multi), AllOpsMulti()), RequestFrame.Read),
            new Sample("Request.ping", new RequestFrame(new RequestHeader(Xids.Ping, OpCode.Ping), null), RequestFrame.Read),
            new Sample("Request.setWatches2", new RequestFrame(new RequestHeader(Xids.SetWatches, OpCode.SetWatches2), new SetWatches2(1, ["/a"], [], [], ["/p"], [])), RequestFrame.Read),
            new Sample("Request.auth", new RequestFrame(new RequestHeader(Xids.Auth, OpCode.Auth), new AuthPacket(0, "digest", [1, 2])), RequestFrame.Read),
            new Sample("Reply.getData", new ReplyFrame(new ReplyHeader(5, 9, ErrorCode.Ok), new GetDataResponse(Data, SomeStat)), ReplyFrame.For(OpCode.GetData)),
            new Sample("Reply.exists.noNode", new ReplyFrame(new ReplyHeader(5, 9, ErrorCode.NoNode), null), ReplyFrame.For(OpCode.Exists)),
            new Sample("Reply.multi", new ReplyFrame(new ReplyHeader(6, 10, ErrorCode.Ok), AllResultsMulti()), ReplyFrame.For(OpCode.Multi)),
            new Sample("Reply.whoAmI", new ReplyFrame(new ReplyHeader(7, 10, ErrorCode.Ok), new WhoAmIResponse([new ClientInfo("ip", "127.0.0.1")])), ReplyFrame.For(OpCode.WhoAmI)),
            new Sample("Reply.delete", new ReplyFrame(new ReplyHeader(8, 11, ErrorCode.Ok), null), ReplyFrame.For(OpCode.Delete)),
            new Sample("Notification", new ReplyFrame(new ReplyHeader(Xids.Notification, -1, ErrorCode.Ok), new WatcherEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/n")),
                static (ref JuteReader r) => new ReplyFrame(ReplyHeader.Read(ref r), WatcherEvent.Read(ref r))),
        ];
    }
}
