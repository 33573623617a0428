using System.Buffers;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// Pins the bytes of Flume's Avro RPC on the wire (flume.md §5; Avro specification "Protocol Wire Format" and
/// "Handshake"; Java NettyTransportCodec) with frames built by Java Avro 1.8.2 from Flume's protocol declaration
/// (testdata/avro-rpc/README.md): Zooflow must write exactly these bytes and read them back in every fragmentation.
/// </summary>
public sealed class AvroRpcGoldenTests
{
    private static readonly Lazy<Dictionary<string, string>> Golden = new(() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Components", "testdata", "avro-rpc", "golden-frames.txt"))
            .Where(l => l.Contains(": ", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(": ", StringComparison.Ordinal)], l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]));

    internal static byte[] Frame(string name) => Convert.FromHexString(Golden.Value[name]);

    internal static Event E1 => ComponentTestKit.TextEvent("hello", ("host", "web-1"), ("timestamp", "1700000000000"));
    internal static Event E2 => new(ReadOnlyMemory<byte>.Empty);
    internal static Event E3 => ComponentTestKit.TextEvent("line three", ("k", "vé"));

    [Fact]
    public void ProtocolJson_IsJavaAvroToString_AndHashMatchesFlume()
    {
        Assert.Equal(FlumeAvroProtocol.Json, Golden.Value["protocol-json"]);
        Assert.Equal(Golden.Value["protocol-md5"], Convert.ToHexStringLower(FlumeAvroProtocol.Md5));
        Assert.Equal(["append", "appendBatch"], FlumeAvroProtocol.Protocol.Messages.Keys.Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> Requests => ["request-handshake-appendBatch", "request-handshake-with-protocol-appendBatch", "request-append", "request-appendBatch-empty", "request-ping"];

    public static TheoryData<string> Responses => ["response-both-ok", "response-none", "response-client-ok", "response-ok", "response-failed", "response-ping-both", "response-system-error"];

    [Theory]
    [MemberData(nameof(Requests))]
    public void WriteRequest_SameCallAsFlume_ByteIdenticalFrame(string name)
    {
        using var writer = new FrameWriter();
        var bytes = name switch
        {
            "request-handshake-appendBatch" => AvroRpcCodec.WriteAppendBatchRequest(writer, 0, AvroRpcCodec.ClientHandshake(false), [E1, E2]),
            "request-handshake-with-protocol-appendBatch" => AvroRpcCodec.WriteAppendBatchRequest(writer, 1, AvroRpcCodec.ClientHandshake(true), [E1, E2]),
            "request-append" => AvroRpcCodec.WriteAppendRequest(writer, 2, null, E3),
            "request-appendBatch-empty" => AvroRpcCodec.WriteAppendBatchRequest(writer, 3, null, []),
            "request-ping" => AvroRpcCodec.WritePingRequest(writer, 4, AvroRpcCodec.ClientHandshake(false)),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Assert.Equal(Convert.ToHexStringLower(Frame(name)), Convert.ToHexStringLower(bytes.Span));
    }

    [Theory]
    [MemberData(nameof(Responses))]
    public void WriteResponse_SameReplyAsFlume_ByteIdenticalFrame(string name)
    {
        using var writer = new FrameWriter();
        var full = new HandshakeResponse(HandshakeMatch.None, FlumeAvroProtocol.Json, FlumeAvroProtocol.Md5Copy());
        var bytes = name switch
        {
            "response-both-ok" => AvroRpcCodec.WriteStatusResponse(writer, 0, new HandshakeResponse(HandshakeMatch.Both, null, null), AvroStatus.Ok),
            "response-none" => AvroRpcCodec.WriteHandshakeOnlyResponse(writer, 0, full),
            "response-client-ok" => AvroRpcCodec.WriteStatusResponse(writer, 1, full with { Match = HandshakeMatch.Client }, AvroStatus.Ok),
            "response-ok" => AvroRpcCodec.WriteStatusResponse(writer, 2, null, AvroStatus.Ok),
            "response-failed" => AvroRpcCodec.WriteStatusResponse(writer, 3, null, AvroStatus.Failed),
            "response-ping-both" => AvroRpcCodec.WriteHandshakeOnlyResponse(writer, 4, new HandshakeResponse(HandshakeMatch.Both, null, null)),
            "response-system-error" => AvroRpcCodec.WriteErrorResponse(writer, 5, null, "org.apache.avro.AvroRuntimeException: No such remote message: nope"),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Assert.Equal(Convert.ToHexStringLower(Frame(name)), Convert.ToHexStringLower(bytes.Span));
    }

    [Fact]
    public void ReadRequest_FlumeFirstAppendBatch_EveryFragmentation_SameHandshakeAndEvents()
    {
        var bytes = Frame("request-handshake-appendBatch");
        foreach (var (shape, sequence) in Fragmenter.AllShapes(bytes))
        {
            var (serial, payload) = ReadWholeFrame(sequence, shape);
            using (payload)
            {
                var reader = Reader(payload);
                var handshake = AvroRpcCodec.ReadHandshakeRequest(reader);
                Assert.Equal(FlumeAvroProtocol.Md5.ToArray(), handshake.ClientHash);
                Assert.Equal(FlumeAvroProtocol.Md5.ToArray(), handshake.ServerHash);
                Assert.Null(handshake.ClientProtocol);
                Assert.Equal(RpcMessage.AppendBatch, AvroRpcCodec.ReadCallHeader(reader, out _));
                var events = new List<Event>();
                AvroRpcCodec.ReadAppendBatch(reader, events, 1000);
                Assert.Equal(0, serial);
                AssertEvents([E1, E2], events, shape);
            }
        }
    }

    [Fact]
    public void ReadRequest_HandshakeWithProtocolText_ProtocolParsesToFlumes()
    {
        using var payload = ReadWholeFrame(Fragmenter.Whole(Frame("request-handshake-with-protocol-appendBatch")), "whole").Payload;
        var reader = Reader(payload);

        var handshake = AvroRpcCodec.ReadHandshakeRequest(reader);

        Assert.Equal(FlumeAvroProtocol.Json, handshake.ClientProtocol);
        Assert.Equal(FlumeAvroProtocol.Protocol, global::Avro.Protocol.Parse(handshake.ClientProtocol!));
    }

    [Theory]
    [InlineData("request-append", RpcMessage.Append, 1)]
    [InlineData("request-appendBatch-empty", RpcMessage.AppendBatch, 0)]
    public void ReadRequest_EstablishedConnection_EveryFragmentation_DecodesCall(string name, RpcMessage message, int eventCount)
    {
        foreach (var (shape, sequence) in Fragmenter.AllShapes(Frame(name)))
        {
            var (_, payload) = ReadWholeFrame(sequence, shape);
            using (payload)
            {
                var reader = Reader(payload);
                Assert.Equal(message, AvroRpcCodec.ReadCallHeader(reader, out _));
                var events = new List<Event>();
                if (message == RpcMessage.Append)
                {
                    events.Add(AvroRpcCodec.ReadAppend(reader));
                    AssertEvents([E3], events, shape);
                }
                else
                {
                    AvroRpcCodec.ReadAppendBatch(reader, events, 1000);
                }
                Assert.Equal(eventCount, events.Count);
            }
        }
    }

    [Fact]
    public void ReadRequest_Ping_EmptyMessageName()
    {
        using var payload = ReadWholeFrame(Fragmenter.Whole(Frame("request-ping")), "whole").Payload;
        var reader = Reader(payload);

        AvroRpcCodec.ReadHandshakeRequest(reader);

        Assert.Equal(RpcMessage.Ping, AvroRpcCodec.ReadCallHeader(reader, out _));
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData("response-both-ok", HandshakeMatch.Both, AvroStatus.Ok)]
    [InlineData("response-client-ok", HandshakeMatch.Client, AvroStatus.Ok)]
    public void ReadResponse_WithHandshake_EveryFragmentation_MatchAndStatus(string name, HandshakeMatch match, AvroStatus status)
    {
        foreach (var (shape, sequence) in Fragmenter.AllShapes(Frame(name)))
        {
            var (_, payload) = ReadWholeFrame(sequence, shape);
            using (payload)
            {
                var reader = Reader(payload);
                var handshake = AvroRpcCodec.ReadHandshakeResponse(reader);
                Assert.Equal(match, handshake.Match);
                Assert.Equal(status, AvroRpcCodec.ReadCallResponse(reader, out var error));
                Assert.Null(error);
            }
        }
    }

    [Fact]
    public void ReadResponse_None_CarriesServerProtocolAndHashOnly()
    {
        using var payload = ReadWholeFrame(Fragmenter.Whole(Frame("response-none")), "whole").Payload;
        var reader = Reader(payload);

        var handshake = AvroRpcCodec.ReadHandshakeResponse(reader);

        Assert.Equal(HandshakeMatch.None, handshake.Match);
        Assert.Equal(FlumeAvroProtocol.Json, handshake.ServerProtocol);
        Assert.Equal(FlumeAvroProtocol.Md5.ToArray(), handshake.ServerHash);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData("response-ok", AvroStatus.Ok)]
    [InlineData("response-failed", AvroStatus.Failed)]
    public void ReadResponse_Established_EveryFragmentation_Status(string name, AvroStatus status)
    {
        foreach (var (shape, sequence) in Fragmenter.AllShapes(Frame(name)))
        {
            var (_, payload) = ReadWholeFrame(sequence, shape);
            using (payload)
            {
                Assert.Equal(status, AvroRpcCodec.ReadCallResponse(Reader(payload), out _));
            }
        }
    }

    [Fact]
    public void ReadResponse_SystemError_FailedWithMessage()
    {
        using var payload = ReadWholeFrame(Fragmenter.Whole(Frame("response-system-error")), "whole").Payload;

        var status = AvroRpcCodec.ReadCallResponse(Reader(payload), out var error);

        Assert.Equal(AvroStatus.Failed, status);
        Assert.Equal("org.apache.avro.AvroRuntimeException: No such remote message: nope", error);
    }

    [Fact]
    public void RoundTrip_LargeBatchWithUnicodeHeaders_EventsEqual()
    {
        var random = new Random(42);
        var events = Enumerable.Range(0, 500).Select(i =>
        {
            var body = new byte[random.Next(0, 3000)];
            random.NextBytes(body);
            return new Event(body, i % 3 == 0 ? null : new Dictionary<string, string> { ["n"] = i.ToString(), ["ü-ключ"] = new string('x', i % 50) });
        }).ToList();
        using var writer = new FrameWriter();
        var bytes = AvroRpcCodec.WriteAppendBatchRequest(writer, 77, null, events).ToArray();

        var (serial, payload) = ReadWholeFrame(Fragmenter.Split(bytes, 1, 100, 5000, bytes.Length - 3), "split");
        using (payload)
        {
            var reader = Reader(payload);
            Assert.Equal(RpcMessage.AppendBatch, AvroRpcCodec.ReadCallHeader(reader, out _));
            var decoded = new List<Event>();
            AvroRpcCodec.ReadAppendBatch(reader, decoded, 1000);
            Assert.Equal(77, serial);
            AssertEvents(events, decoded, "split");
        }
    }

    [Fact]
    public void WriteAppendBatch_EstablishedConnection_AllocatesNothingPerBatch()
    {
        var events = Enumerable.Range(0, 1000).Select(i => i % 2 == 0
            ? new Event(new byte[200], new Dictionary<string, string> { ["host"] = "web-1", ["seq"] = i.ToString() })
            : new Event(new byte[200])).ToList();
        using var writer = new FrameWriter();
        AvroRpcCodec.WriteAppendBatchRequest(writer, 0, null, events); // grows the pooled buffer once

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 1; i <= 10; i++)
        {
            AvroRpcCodec.WriteAppendBatchRequest(writer, i, null, events);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    internal static (int Serial, FramePayload Payload) ReadWholeFrame(ReadOnlySequence<byte> sequence, string shape)
    {
        // Feed the frame as a network read would: growing prefixes until the decoder has a whole frame.
        for (var available = 0L; available <= sequence.Length; available++)
        {
            var reader = new SequenceReader<byte>(sequence.Slice(0, available));
            if (NettyFrame.TryRead(ref reader, 1 << 20, 0, out var frame))
            {
                Assert.True(available == sequence.Length, $"{shape}: frame complete after {available} of {sequence.Length} bytes");
                Assert.Equal(sequence.Length, reader.Consumed);
                return (frame.Serial, frame);
            }
            Assert.Equal(0, reader.Consumed);
            if (available > 64 && available < sequence.Length - 64)
            {
                available += 37; // Every offset near both ends, a sample in between: keeps long frames quick.
            }
        }
        throw new Xunit.Sdk.XunitException($"{shape}: no frame decoded");
    }

    internal static AvroPayloadReader Reader(FramePayload payload)
    {
        var reader = new AvroPayloadReader();
        reader.Reset(payload.Array!, payload.Length, payload.FrameOffset);
        return reader;
    }

    internal static void AssertEvents(IReadOnlyList<Event> expected, IReadOnlyList<Event> actual, string shape)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Body.Span.SequenceEqual(actual[i].Body.Span), $"{shape}: body of event {i}");
            Assert.Equal(expected[i].Headers.OrderBy(h => h.Key, StringComparer.Ordinal), actual[i].Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        }
    }
}
