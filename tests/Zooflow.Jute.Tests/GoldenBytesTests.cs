using System.Text;
using Xunit;

namespace Zooflow.Jute.Tests;

/// <summary>
/// Wire bytes computed by hand from zookeeper.jute (org.apache.zookeeper.proto / .txn / .data) and jute's
/// BinaryOutputArchive (big-endian ints and longs, 1-byte booleans, int length + bytes for buffers and ustrings, int count +
/// elements for vectors). They pin the format: a change that breaks one of these breaks real ZooKeeper clients and logs.
/// </summary>
public sealed class GoldenBytesTests
{
    private const string WorldAnyoneAll = "00000001" + "0000001f" + "00000005" + "776f726c64" + "00000006" + "616e796f6e65";

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    [Fact]
    public void ConnectRequest_JavaClientHandshake_MatchesJuteLayout()
    {
        var request = new ConnectRequest(0, 0, 30_000, 0, new byte[16], false);

        var framed = new System.Buffers.ArrayBufferWriter<byte>();
        Frame.Write(framed, request);

        // length 45, protocolVersion 0, lastZxidSeen 0, timeOut 30000, sessionId 0, passwd (16 zero bytes), readOnly false
        var expected = Hex("0000002d 00000000 0000000000000000 00007530 0000000000000000 00000010"
                           + string.Concat(Enumerable.Repeat("00", 16)) + " 00");
        Assert.Equal(expected, framed.WrittenSpan.ToArray());
    }

    [Fact]
    public void CreateRequest_WithOpenAcl_MatchesJuteLayout()
    {
        var request = new CreateRequest("/a", Encoding.ASCII.GetBytes("hi"), Acl.OpenAclUnsafe, CreateMode.Persistent);

        // path "/a", data "hi", vector<ACL> of 1: perms 31, Id("world", "anyone"), flags 0
        Assert.Equal(Hex("00000002 2f61 00000002 6869" + WorldAnyoneAll + "00000000"), JuteSerializer.Serialize(request));
    }

    [Fact]
    public void ReplyHeader_NoNode_MatchesJuteLayout()
    {
        var header = new ReplyHeader(1, 0x100000002, ErrorCode.NoNode);

        Assert.Equal(Hex("00000001 0000000100000002 ffffff9b"), JuteSerializer.Serialize(header));
    }

    [Fact]
    public void WatchNotification_Frame_MatchesServerLayout()
    {
        // A notification is a reply with xid -1, zxid -1, err 0, then the WatcherEvent (ServerCnxn.process).
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Frame.WriteReply(output, new ReplyHeader(Xids.Notification, -1, ErrorCode.Ok),
            new WatcherEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/a"));

        Assert.Equal(Hex("0000001e ffffffff ffffffffffffffff 00000000 00000003 00000003 00000002 2f61"), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void MultiRequest_CreateDeleteCheck_MatchesMultiOperationRecord()
    {
        var multi = new MultiRequest([
            new MultiOp(OpCode.Create, new CreateRequest("/a", [], Acl.OpenAclUnsafe, CreateMode.Ephemeral)),
            new MultiOp(OpCode.Delete, new DeleteRequest("/a", -1)),
            new MultiOp(OpCode.Check, new CheckVersionRequest("/b", 3)),
        ]);

        // Each op: MultiHeader(type, done=false, err=-1) + request; then MultiHeader(-1, true, -1).
        var expected = Hex(
            "00000001 00 ffffffff" + "00000002 2f61 00000000" + WorldAnyoneAll + "00000001"
            + "00000002 00 ffffffff" + "00000002 2f61 ffffffff"
            + "0000000d 00 ffffffff" + "00000002 2f62 00000003"
            + "ffffffff 01 ffffffff");
        Assert.Equal(expected, JuteSerializer.Serialize(multi));
        Assert.Equal(expected, JuteSerializer.Serialize(JuteSerializer.Deserialize<MultiRequest>(expected)));
    }

    [Fact]
    public void MultiResponse_FailedMulti_MatchesMultiResponseSerialize()
    {
        // A failed multi answers every op with an ErrorResult: 0 before the failure, the failure's code, then
        // RuntimeInconsistency. Header err = the result's err; body = ErrorResponse(err).
        var response = new MultiResponse([
            new MultiResult(OpCode.Error, ErrorCode.Ok, new ErrorResponse(ErrorCode.Ok)),
            new MultiResult(OpCode.Error, ErrorCode.NoNode, new ErrorResponse(ErrorCode.NoNode)),
            new MultiResult(OpCode.Error, ErrorCode.RuntimeInconsistency, new ErrorResponse(ErrorCode.RuntimeInconsistency)),
        ]);

        Assert.Equal(
            Hex("ffffffff 00 00000000 00000000" + "ffffffff 00 ffffff9b ffffff9b" + "ffffffff 00 fffffffe fffffffe" + "ffffffff 01 ffffffff"),
            JuteSerializer.Serialize(response));
    }

    [Fact]
    public void MultiResponse_Success_WritesCreateContainerAsCreate2()
    {
        var response = new MultiResponse([
            new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse("/a")),
            new MultiResult(OpCode.Delete, ErrorCode.Ok, null),
            new MultiResult(OpCode.CreateContainer, ErrorCode.Ok, new Create2Response("/c", default)),
        ]);

        // ZooKeeper's CreateResult with a Stat reports type create2 (15); its clients reject 19 in a multi response.
        Assert.Equal(
            Hex("00000001 00 00000000 00000002 2f61" + "00000002 00 00000000"
                + "0000000f 00 00000000 00000002 2f63" + string.Concat(Enumerable.Repeat("00", 68))
                + "ffffffff 01 ffffffff"),
            JuteSerializer.Serialize(response));
    }

    [Fact]
    public void TxnEntry_Create_MatchesTxnLogLayout()
    {
        var header = new TxnHeader(0x0102030405060708, 7, 0x100000001, 1000, OpCode.Create);

        var bytes = TxnCodec.Serialize(header, new CreateTxn("/a", "x"u8.ToArray(), Acl.OpenAclUnsafe, false, 1));

        // TxnHeader(clientId, cxid, zxid, time, type) then CreateTxn(path, data, acl, ephemeral, parentCVersion)
        Assert.Equal(
            Hex("0102030405060708 00000007 0000000100000001 00000000000003e8 00000001"
                + "00000002 2f61 00000001 78" + WorldAnyoneAll + "00 00000001"),
            bytes);
    }

    [Fact]
    public void TxnEntry_Multi_SubTxnsAreTypePlusBuffer()
    {
        var header = new TxnHeader(1, 2, 3, 4, OpCode.Multi);
        var multi = new MultiTxn([new SubTxn(OpCode.Delete, new DeleteTxn("/a")), new SubTxn(OpCode.Check, new CheckVersionTxn("/b", 3))]);

        var bytes = TxnCodec.Serialize(header, multi);

        // vector<Txn> of 2; each Txn = int type, buffer data (the serialized sub-record)
        Assert.Equal(
            Hex("0000000000000001 00000002 0000000000000003 0000000000000004 0000000e"
                + "00000002"
                + "00000002 00000006 00000002 2f61"
                + "0000000d 0000000a 00000002 2f62 00000003"),
            bytes);
    }
}
