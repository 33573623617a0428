using System.Buffers;
using System.Buffers.Binary;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Jute.Tests;

public sealed class MalformedInputTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static ProtocolException DecodeRequest(byte[] frameBody, int maxBufferBytes = JuteReader.DefaultMaxBufferBytes)
    {
        return Assert.Throws<ProtocolException>(() =>
        {
            var reader = new JuteReader(frameBody, maxBufferBytes);
            RequestFrame.Read(ref reader);
        });
    }

    [Fact]
    public void CreateRequest_PathLengthBeyondFrame_ThrowsNamingFieldOffsetAndValue()
    {
        // header (xid 1, create) then a path length of 70,000,000 followed by 12 bytes.
        var frame = Hex("00000001 00000001 042c1d80" + string.Concat(Enumerable.Repeat("00", 12)));

        var e = DecodeRequest(frame);

        Assert.Equal("CreateRequest.path: string length 70000000 at offset 8 exceeds remaining 12 bytes", e.Message);
        Assert.Equal("CreateRequest.path", e.Field);
        Assert.Equal(8, e.Offset);
    }

    [Fact]
    public void SetDataRequest_DataLongerThanMaxBuffer_ThrowsBeforeAllocating()
    {
        var frame = Hex("00000001 00000005 00000002 2f61 00000014" + string.Concat(Enumerable.Repeat("ab", 20)) + "ffffffff");

        var e = DecodeRequest(frame, maxBufferBytes: 10);

        Assert.Equal("SetDataRequest.data: buffer length 20 at offset 14 exceeds jute.maxbuffer 10", e.Message);
    }

    [Fact]
    public void ExistsRequest_NegativePathLength_Throws()
    {
        var e = DecodeRequest(Hex("00000001 00000003 fffffffe 01"));

        Assert.Equal("ExistsRequest.path: string length -2 at offset 8 is negative", e.Message);
    }

    [Fact]
    public void GetChildrenResponse_HugeCount_ThrowsBeforeAllocating()
    {
        var e = Assert.Throws<ProtocolException>(() =>
            JuteSerializer.Deserialize<GetChildrenResponse>(Hex("000f4240 00000001 61 00000001")));

        Assert.Equal(
            "GetChildrenResponse.children: vector count 1000000 at offset 0 exceeds remaining 9 bytes (each element needs at least 4)",
            e.Message);
    }

    [Fact]
    public void ReplyHeader_Truncated_ThrowsNamingField()
    {
        var e = Assert.Throws<ProtocolException>(() => JuteSerializer.Deserialize<ReplyHeader>(Hex("00000001 00000000 0000")));

        Assert.Equal("ReplyHeader.zxid: needs 8 bytes at offset 4 but only 6 remain", e.Message);
    }

    [Fact]
    public void MultiRequest_UnsupportedOpType_Throws()
    {
        // exists (3) cannot appear in a multi.
        var e = Assert.Throws<ProtocolException>(() =>
            JuteSerializer.Deserialize<MultiRequest>(Hex("00000003 00 ffffffff 00000002 2f61 00")));

        Assert.Equal("MultiRequest.op.type: unsupported operation type 3 at offset 0", e.Message);
    }

    [Fact]
    public void TrailingBytes_AfterRecord_Throw()
    {
        var e = Assert.Throws<ProtocolException>(() => JuteSerializer.Deserialize<ErrorResponse>(Hex("00000000 00")));

        Assert.Contains("1 unexpected trailing bytes at offset 4", e.Message);
    }

    [Fact]
    public void TxnCodec_UnknownType_Throws()
    {
        var bytes = JuteSerializer.Serialize(new TxnHeader(1, 2, 3, 4, OpCode.GetData));

        var e = Assert.Throws<ProtocolException>(() => TxnCodec.Deserialize(bytes));

        Assert.Equal("TxnHeader.type: unsupported operation type 4 at offset 32", e.Message);
    }

    [Fact]
    public void MultiTxn_SubBufferLongerThanSubRecord_Throws()
    {
        // one Txn: type delete, buffer of 7 bytes holding DeleteTxn("/a") (6 bytes) + 1 stray byte.
        var e = Assert.Throws<ProtocolException>(() =>
            JuteSerializer.Deserialize<MultiTxn>(Hex("00000001 00000002 00000007 00000002 2f61 00")));

        Assert.Contains("MultiTxn.txns[0] (buffer at offset 8)", e.Message);
        Assert.Contains("trailing", e.Message);
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Record_EveryTruncation_ThrowsProtocolException(string name)
    {
        var sample = Samples.Get(name);
        var bytes = sample.Bytes();

        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            // Optional tails, where dropping exactly them is valid: the connect records' readOnly flag, a txn entry's
            // digest, and the body of a closeSession txn (absent in logs of ZooKeeper before 3.6).
            var optionalTail = (name.StartsWith("Connect", StringComparison.Ordinal) && length == bytes.Length - 1)
                || (name.EndsWith("+digest", StringComparison.Ordinal) && length == bytes.Length - TxnDigest.SerializedBytes)
                || (name == "TxnEntry.closeSession" && length == 32);
            if (optionalTail)
            {
                Assert.True(bytes.AsSpan(0, length).SequenceEqual(sample.DecodeAndReserialize(new ReadOnlySequence<byte>(prefix)).AsSpan(0, length)));
                continue;
            }

            Assert.Throws<ProtocolException>(() => sample.DecodeAndReserialize(Fragmenter.OneBytePerSegment(prefix)));
        }
    }

    [Fact]
    public void FrameTryRead_NegativeLength_ThrowsWithoutWaitingForBody()
    {
        var buffer = new ReadOnlySequence<byte>(Hex("ffffff00"));

        var e = Assert.Throws<ProtocolException>(() => Frame.TryRead(ref buffer, 1024, out _));

        Assert.Equal("Frame.length: frame length -256 at offset 0 is negative", e.Message);
    }

    [Fact]
    public void FrameTryRead_LengthOverMax_ThrowsWithoutWaitingForBody()
    {
        var buffer = new ReadOnlySequence<byte>(Hex("00100000"));

        var e = Assert.Throws<ProtocolException>(() => Frame.TryRead(ref buffer, JuteReader.DefaultMaxBufferBytes, out _));

        Assert.Equal("Frame.length: frame length 1048576 at offset 0 exceeds jute.maxbuffer 1048575", e.Message);
    }

    [Fact]
    public void FrameTryRead_LengthEqualToMax_IsAccepted()
    {
        // ZooKeeper rejects only len > jute.maxbuffer (NIOServerCnxn.readLength).
        var framed = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(framed, 10);
        var buffer = new ReadOnlySequence<byte>(framed);

        Assert.True(Frame.TryRead(ref buffer, 10, out var frame));
        Assert.Equal(10, frame.Length);
    }

    [Fact]
    public void FrameTryPeekLength_FourLetterWord_ReadsItsIntValueWithoutConsuming()
    {
        var buffer = new ReadOnlySequence<byte>("ruok"u8.ToArray());

        Assert.True(Frame.TryPeekLength(buffer, out var value));
        Assert.Equal(0x72756f6b, value); // ZooKeeper matches four-letter words by this int (FourLetterCommands)
        Assert.Equal(4, buffer.Length);
        Assert.False(Frame.TryPeekLength(buffer.Slice(1), out _));
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void FrameTryRead_EveryPartialAndEveryFragmentation_WaitsThenReturnsFrame(string name)
    {
        var sample = Samples.Get(name);
        var body = sample.Bytes();
        var framed = new byte[body.Length + 4 + 3];
        BinaryPrimitives.WriteInt32BigEndian(framed, body.Length);
        body.CopyTo(framed, 4);
        framed[^3] = 0; // the start of a next frame must stay in the buffer
        framed[^2] = 0;
        framed[^1] = 7;

        for (var length = 0; length < body.Length + 4; length++)
        {
            var partial = Fragmenter.OneBytePerSegment(framed[..length]);
            Assert.False(Frame.TryRead(ref partial, 1 << 20, out _));
            Assert.Equal(length, partial.Length);
        }

        foreach (var (shape, sequence) in Fragmenter.AllShapes(framed))
        {
            var buffer = sequence;
            Assert.True(Frame.TryRead(ref buffer, 1 << 20, out var frame), shape);
            Assert.Equal(3, buffer.Length);
            Assert.True(body.AsSpan().SequenceEqual(sample.DecodeAndReserialize(frame)), $"{name} {shape}");
            Assert.False(Frame.TryRead(ref buffer, 1 << 20, out _));
        }
    }
}
