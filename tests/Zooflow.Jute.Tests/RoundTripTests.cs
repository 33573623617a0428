using System.Buffers;
using System.IO.Pipelines;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using Zooflow.Common;
using Zooflow.TestKit;

namespace Zooflow.Jute.Tests;

public sealed class RoundTripTests
{
    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Record_WriteThenRead_ReproducesSameBytes(string name)
    {
        var sample = Samples.Get(name);
        var bytes = sample.Bytes();

        var again = sample.DecodeAndReserialize(new ReadOnlySequence<byte>(bytes));

        Assert.Equal(bytes, again);
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Record_EveryFragmentation_DecodesTheSame(string name)
    {
        var sample = Samples.Get(name);
        var bytes = sample.Bytes();

        foreach (var (shape, sequence) in Fragmenter.AllShapes(bytes))
        {
            var again = sample.DecodeAndReserialize(sequence);
            Assert.True(bytes.AsSpan().SequenceEqual(again), $"{name} {shape}");
        }
    }

    [Fact]
    public void CreateRequest_Decoded_HasFieldsWritten()
    {
        var original = new CreateRequest(Samples.UnicodePath, Samples.Data, Samples.TwoAcls, CreateMode.EphemeralSequential);

        var decoded = JuteSerializer.Deserialize<CreateRequest>(JuteSerializer.Serialize(original));

        Assert.Equal(original.Path, decoded.Path);
        Assert.Equal(original.Data, decoded.Data);
        Assert.Equal(original.Acl, decoded.Acl); // Acl and Id are value records
        Assert.Equal(original.Flags, decoded.Flags);
    }

    [Fact]
    public void MultiRequest_Decoded_HasOpsByOpcode()
    {
        var decoded = JuteSerializer.Deserialize<MultiRequest>(JuteSerializer.Serialize(Samples.AllOpsMulti()));

        Assert.Equal(
            [OpCode.Create, OpCode.Create2, OpCode.CreateContainer, OpCode.CreateTtl, OpCode.Delete, OpCode.SetData,
             OpCode.Check, OpCode.GetChildren, OpCode.GetData],
            decoded.Ops.Select(o => o.Type));
        Assert.IsType<CreateRequest>(decoded.Ops[2].Request);
        Assert.Equal(60_000, Assert.IsType<CreateTtlRequest>(decoded.Ops[3].Request).Ttl);
        Assert.Equal(3, Assert.IsType<CheckVersionRequest>(decoded.Ops[6].Request).Version);
    }

    [Fact]
    public void MultiResponse_Decoded_HasResultsAndErrors()
    {
        var decoded = JuteSerializer.Deserialize<MultiResponse>(JuteSerializer.Serialize(Samples.AllResultsMulti()));

        Assert.Equal(8, decoded.Results.Count);
        Assert.Null(decoded.Results[2].Response);
        Assert.Equal(Samples.SomeStat, Assert.IsType<Create2Response>(decoded.Results[1].Response).Stat);
        Assert.Equal(ErrorCode.NoNode, decoded.Results[7].Err);
        Assert.Equal(ErrorCode.NoNode, Assert.IsType<ErrorResponse>(decoded.Results[7].Response).Err);
    }

    [Fact]
    public void TxnCodec_MultiWithDigest_DecodesSubTxnsAndDigest()
    {
        var header = new TxnHeader(5, 6, 0x300000001, 1234, OpCode.Multi);
        var bytes = TxnCodec.Serialize(header, Samples.AllSubTxnsMulti(), new TxnDigest(2, 99));

        var entry = TxnCodec.Deserialize(bytes);

        Assert.Equal(header, entry.Header);
        Assert.Equal(new TxnDigest(2, 99), entry.Digest);
        var multi = Assert.IsType<MultiTxn>(entry.Txn);
        Assert.Equal(8, multi.Txns.Count);
        Assert.True(Assert.IsType<CreateTxn>(multi.Txns[0].Txn).Ephemeral);
        Assert.Equal(9, Assert.IsType<CheckVersionTxn>(multi.Txns[6].Txn).Version);
        Assert.Equal(ErrorCode.RuntimeInconsistency, Assert.IsType<ErrorTxn>(multi.Txns[7].Txn).Err);
    }

    [Fact]
    public void TxnCodec_CloseSessionWithoutBody_DecodesAsEmpty()
    {
        // ZooKeeper before 3.6 logged closeSession with no body.
        var bytes = JuteSerializer.Serialize(new TxnHeader(5, 6, 7, 8, OpCode.CloseSession));

        var entry = TxnCodec.Deserialize(bytes);

        Assert.Empty(Assert.IsType<CloseSessionTxn>(entry.Txn).Paths2Delete);
        Assert.Null(entry.Digest);
    }

    [Fact]
    public void TxnCodec_BodyNotMatchingType_Throws()
    {
        var header = new TxnHeader(1, 1, 1, 1, OpCode.SetData);

        Assert.Throws<ArgumentException>(() => TxnCodec.Serialize(header, new DeleteTxn("/a")));
    }

    [Fact]
    public void ConnectRequest_WithoutReadOnlyByte_DecodesReadOnlyFalse()
    {
        var full = JuteSerializer.Serialize(new ConnectRequest(0, 5, 30_000, 0, new byte[16], true));

        var old = JuteSerializer.Deserialize<ConnectRequest>(full.AsMemory(0, full.Length - 1));
        var current = JuteSerializer.Deserialize<ConnectRequest>(full);

        Assert.False(old.ReadOnly);
        Assert.True(current.ReadOnly);
        Assert.Equal(30_000, old.TimeOutMs);
    }

    [Fact]
    public void ConnectResponse_ToOldClient_OmitsReadOnlyByte()
    {
        var full = JuteSerializer.Serialize(new ConnectRequest(0, 5, 30_000, 0, new byte[16], false));
        var old = JuteSerializer.Deserialize<ConnectRequest>(full.AsMemory(0, full.Length - 1));
        var response = new ConnectResponse(0, 30_000, 7, new byte[16], false) { HasReadOnlyFlag = old.HasReadOnlyFlag };

        var bytes = JuteSerializer.Serialize(response);

        Assert.False(old.HasReadOnlyFlag);
        Assert.Equal(full.Length - 1, JuteSerializer.Serialize(old).Length); // an old client's request round-trips exactly
        Assert.Equal(4 + 4 + 8 + 4 + 16, bytes.Length);
        Assert.False(JuteSerializer.Deserialize<ConnectResponse>(bytes).HasReadOnlyFlag);
        Assert.Equal(bytes.Length + 1, JuteSerializer.Serialize(response with { HasReadOnlyFlag = true }).Length);
    }

    [Fact]
    public void CreateRequest_NullData_StaysNullThroughRecordsAndTxnLog()
    {
        // create("/a", null, OPEN_ACL_UNSAFE, PERSISTENT) from the Java client: data length -1.
        var wire = Convert.FromHexString("000000022f61ffffffff000000010000001f00000005776f726c6400000006616e796f6e6500000000");

        var request = JuteSerializer.Deserialize<CreateRequest>(wire);
        var txn = TxnCodec.Serialize(new TxnHeader(1, 1, 1, 1, OpCode.Create), new CreateTxn(request.Path, request.Data, request.Acl, false, 0));
        var stored = Assert.IsType<CreateTxn>(TxnCodec.Deserialize(txn).Txn);
        var reply = JuteSerializer.Serialize(new GetDataResponse(stored.Data, default));

        Assert.Empty(request.Data);
        Assert.True(JuteNull.IsNull(request.Data));
        Assert.Equal(wire, JuteSerializer.Serialize(request));
        Assert.True(JuteNull.IsNull(stored.Data));
        Assert.Equal([0xff, 0xff, 0xff, 0xff], reply[..4]);
        Assert.False(JuteNull.IsNull(JuteSerializer.Deserialize<SetDataRequest>(JuteSerializer.Serialize(new SetDataRequest("/a", [], 0))).Data));
    }

    [Fact]
    public void ReadBool_AnyNonZeroByte_IsTrue()
    {
        var reader = new JuteReader(new byte[] { 0, 1, 2, 0xff });

        Assert.False(reader.ReadBool("x"));
        Assert.True(reader.ReadBool("x"));
        Assert.True(reader.ReadBool("x"));
        Assert.True(reader.ReadBool("x"));
        Assert.True(reader.End);
    }

    [Fact]
    public void NullStringBufferVector_WriteMinusOne_ReadAsEmpty()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new JuteWriter(buffer);
        writer.WriteString(null);
        writer.WriteBuffer((byte[]?)null);
        writer.WriteStringVector(null);
        writer.WriteAclVector(null);

        Assert.Equal(Convert.FromHexString("ffffffff ffffffff ffffffff ffffffff".Replace(" ", "")), buffer.WrittenSpan.ToArray());
        var reader = new JuteReader(buffer.WrittenMemory);
        Assert.Equal("", reader.ReadString("s"));
        Assert.Null(reader.ReadNullableBuffer("b"));
        Assert.Empty(reader.ReadStringVector("v"));
        Assert.Empty(reader.ReadAclVector("a"));
        Assert.True(reader.End);
    }

    [Property(MaxTest = 300)]
    public bool CreateRequest_ArbitraryFields_RoundTripBytes(NonNull<string> path, byte[] data, int flags, PositiveInt aclCount)
    {
        var acl = Enumerable.Range(0, aclCount.Get % 5)
            .Select(i => new Acl((Perms)i, new Id(path.Get, i.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            .ToList();
        var bytes = JuteSerializer.Serialize(new CreateRequest(path.Get, data ?? [], acl, (CreateMode)flags));

        var again = JuteSerializer.Serialize(JuteSerializer.Deserialize<CreateRequest>(bytes, int.MaxValue));

        return bytes.AsSpan().SequenceEqual(again);
    }

    [Property(MaxTest = 300)]
    public bool Stat_ArbitraryFields_RoundTrip(long a, long b, long c, long d, int e, int f, int g, long h, int i, int j, long k)
    {
        var stat = new Stat(a, b, c, d, e, f, g, h, i, j, k);

        return JuteSerializer.Deserialize<StatResponse>(JuteSerializer.Serialize(new StatResponse(stat))).Stat == stat;
    }

    [Fact]
    public void Frame_WrittenIntoGrowingWriters_HasPatchedLength()
    {
        var body = new GetDataResponse(new byte[5000], Samples.SomeStat);
        var header = new ReplyHeader(3, 4, ErrorCode.Ok);
        var expected = Sample.Serialize(header).Concat(Sample.Serialize(body)).ToArray();

        using var pooled = new PooledBufferWriter(initialCapacity: 1);
        pooled.Write<byte>([9, 9]); // something before the frame, so the prefix is not at index 0
        Frame.WriteReply(pooled, header, body);
        var array = new ArrayBufferWriter<byte>(1);
        array.Write<byte>([9, 9]);
        Frame.WriteReply(array, header, body);

        foreach (var written in new[] { pooled.WrittenSpan.ToArray(), array.WrittenSpan.ToArray() })
        {
            var sequence = new ReadOnlySequence<byte>(written, 2, written.Length - 2);
            Assert.True(Frame.TryRead(ref sequence, 1 << 20, out var frame));
            Assert.Equal(expected, frame.ToArray());
            Assert.True(sequence.IsEmpty);
        }
    }

    [Fact]
    public async Task Frame_WrittenIntoPipeWriter_HasPatchedLength()
    {
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 16, pauseWriterThreshold: 0));
        var body = new GetChildrenResponse(Enumerable.Range(0, 200).Select(i => $"child-{i}").ToList());
        var header = new ReplyHeader(3, 4, ErrorCode.Ok);
        var expected = Sample.Serialize(header).Concat(Sample.Serialize(body)).ToArray();

        Frame.WriteReply(pipe.Writer, header, body);
        Frame.WriteReply(pipe.Writer, header, body);
        await pipe.Writer.FlushAsync(TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();

        var result = await pipe.Reader.ReadAtLeastAsync(2 * (expected.Length + 4), TestContext.Current.CancellationToken);
        var buffer = result.Buffer;
        Assert.True(Frame.TryRead(ref buffer, 1 << 20, out var first));
        Assert.Equal(expected, first.ToArray());
        Assert.True(Frame.TryRead(ref buffer, 1 << 20, out var second));
        Assert.Equal(expected, second.ToArray());
        Assert.True(buffer.IsEmpty);
        pipe.Reader.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task Frame_WrittenIntoStreamPipeWriter_HasPatchedLength()
    {
        using var stream = new MemoryStream();
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16, leaveOpen: true));
        var body = new GetChildrenResponse(Enumerable.Range(0, 200).Select(i => $"child-{i}").ToList());
        var header = new ReplyHeader(3, 4, ErrorCode.Ok);
        var expected = Sample.Serialize(header).Concat(Sample.Serialize(body)).ToArray();

        Frame.WriteReply(writer, header, body);
        await writer.FlushAsync(TestContext.Current.CancellationToken);
        await writer.CompleteAsync();

        var buffer = new ReadOnlySequence<byte>(stream.ToArray());
        Assert.True(Frame.TryRead(ref buffer, 1 << 20, out var frame));
        Assert.Equal(expected, frame.ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void ReadAndWritePrimitives_AfterWarmUp_AllocateNothing()
    {
        var bytes = Sample.Serialize(new Create2Response("", Samples.SomeStat));
        using var output = new PooledBufferWriter(4096);
        Exercise(bytes, output); // warm up: JIT, static initialisation

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Exercise(bytes, output);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Exercise(byte[] bytes, PooledBufferWriter output)
        {
            var reader = new JuteReader(new ReadOnlySequence<byte>(bytes));
            _ = reader.ReadString("path"); // "" is not allocated
            var stat = reader.ReadStat("stat");
            output.Clear();
            var writer = new JuteWriter(output);
            var frame = Frame.Begin(ref writer);
            writer.WriteInt(1);
            writer.WriteLong(2);
            writer.WriteBool(true);
            writer.WriteStat(stat);
            writer.WriteString("/a/b");
            Frame.End(ref writer, frame);
        }
    }
}
