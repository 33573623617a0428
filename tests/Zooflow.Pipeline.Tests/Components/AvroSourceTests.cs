using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using static Zooflow.Pipeline.Tests.Components.AvroTestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// The avro source on real loopback sockets, spoken to byte by byte with the golden frames of a Flume client
/// (flume.md §5, §1.1; Avro specification "Handshake"): replies, acknowledgement after commit, FAILED on a full channel,
/// and the treatment of malformed input (only the offending connection is closed).
/// </summary>
public sealed class AvroSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FlumeClientConversation_GoldenFrames_RepliesByteIdenticalToFlume()
    {
        var channel = Channel();
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);

        await client.SendAsync(AvroRpcGoldenTests.Frame("request-handshake-appendBatch"), SocketFlags.None, Ct);
        var first = await ReceiveAsync(client, AvroRpcGoldenTests.Frame("response-both-ok").Length);
        await client.SendAsync(AvroRpcGoldenTests.Frame("request-append"), SocketFlags.None, Ct);
        var second = await ReceiveAsync(client, AvroRpcGoldenTests.Frame("response-ok").Length);

        Assert.Equal(Convert.ToHexStringLower(AvroRpcGoldenTests.Frame("response-both-ok")), Convert.ToHexStringLower(first));
        Assert.Equal(Convert.ToHexStringLower(AvroRpcGoldenTests.Frame("response-ok")), Convert.ToHexStringLower(second));
        AvroRpcGoldenTests.AssertEvents([AvroRpcGoldenTests.E1, AvroRpcGoldenTests.E2, AvroRpcGoldenTests.E3], await DrainAsync(channel), "channel");
        Assert.Equal(3, source.Counter.EventAcceptedCount);
    }

    [Fact]
    public async Task Handshake_UnknownClientHash_NoneThenClientOnceProtocolTextSent()
    {
        var channel = Channel();
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        using var writer = new FrameWriter();
        var strangerHash = Enumerable.Repeat((byte)0xab, 16).ToArray();
        // Same protocol, other JSON layout: another hash, as a non-Java client would send.
        var reformatted = FlumeAvroProtocol.Json.Replace(",", ", ", StringComparison.Ordinal);

        await client.SendAsync(AvroRpcCodec.WriteAppendBatchRequest(writer, 0, new HandshakeRequest(strangerHash, null, strangerHash), [TextEvent("x")]), SocketFlags.None, Ct);
        var none = await ReadReplyAsync(client);
        await client.SendAsync(AvroRpcCodec.WriteAppendBatchRequest(writer, 1, new HandshakeRequest(strangerHash, reformatted, strangerHash), [TextEvent("y")]), SocketFlags.None, Ct);
        var accepted = await ReadReplyAsync(client);

        var noneReader = Payload(none);
        Assert.Equal(HandshakeMatch.None, AvroRpcCodec.ReadHandshakeResponse(noneReader).Match);
        Assert.Equal(0, noneReader.Remaining);
        var acceptedReader = Payload(accepted);
        var handshake = AvroRpcCodec.ReadHandshakeResponse(acceptedReader);
        Assert.Equal(HandshakeMatch.Client, handshake.Match);
        Assert.Equal(FlumeAvroProtocol.Md5.ToArray(), handshake.ServerHash);
        Assert.Equal(AvroStatus.Ok, AvroRpcCodec.ReadCallResponse(acceptedReader, out _));
        Assert.Equal(["y"], (await DrainAsync(channel)).Select(Text));
    }

    [Fact]
    public async Task Handshake_ClientProtocolWithOtherEventSchema_SystemErrorNothingDecoded()
    {
        var channel = Channel();
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        using var writer = new FrameWriter();
        var other = FlumeAvroProtocol.Json.Replace("{\"name\":\"body\",\"type\":\"bytes\"}", "{\"name\":\"body\",\"type\":\"string\"}", StringComparison.Ordinal);
        var hash = System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(other));

        await client.SendAsync(AvroRpcCodec.WriteAppendBatchRequest(writer, 0, new HandshakeRequest(hash, other, FlumeAvroProtocol.Md5Copy()), [TextEvent("x")]), SocketFlags.None, Ct);
        var reply = Payload(await ReadReplyAsync(client));

        Assert.NotEqual(FlumeAvroProtocol.Json, other);
        Assert.Equal(HandshakeMatch.Both, AvroRpcCodec.ReadHandshakeResponse(reply).Match);
        Assert.Equal(AvroStatus.Failed, AvroRpcCodec.ReadCallResponse(reply, out var error));
        Assert.Contains("appendBatch request or response schema differs from Flume's AvroSourceProtocol", error, StringComparison.Ordinal);
        Assert.Equal(0, channel.Size);
    }

    [Fact]
    public async Task Ping_EmptyMessageName_AnsweredWithHandshakeOnly()
    {
        await using var source = Source(new RecordingOutput());
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);

        await client.SendAsync(AvroRpcGoldenTests.Frame("request-ping"), SocketFlags.None, Ct);
        var reply = await ReceiveAsync(client, AvroRpcGoldenTests.Frame("response-ping-both").Length);

        Assert.Equal(AvroRpcGoldenTests.Frame("response-ping-both"), reply);
    }

    [Fact]
    public async Task UnknownMessage_SystemErrorReply_ConnectionStaysUsable()
    {
        var channel = Channel();
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        await client.SendAsync(AvroRpcGoldenTests.Frame("request-handshake-appendBatch"), SocketFlags.None, Ct);
        await ReadReplyAsync(client);
        using var writer = new FrameWriter();
        writer.Begin(9);
        writer.NextBuffer();
        writer.Encoder.WriteMapStart();
        writer.Encoder.WriteMapEnd();
        writer.WriteString("nope");

        await client.SendAsync(writer.Finish(), SocketFlags.None, Ct);
        var error = await ReadReplyAsync(client);
        await client.SendAsync(AvroRpcGoldenTests.Frame("request-append"), SocketFlags.None, Ct);
        var ok = await ReadReplyAsync(client);

        Assert.Equal(AvroStatus.Failed, AvroRpcCodec.ReadCallResponse(Payload(error), out var message));
        Assert.Equal("org.apache.avro.AvroRuntimeException: No such remote message: nope", message);
        Assert.Equal(AvroStatus.Ok, AvroRpcCodec.ReadCallResponse(Payload(ok), out _));
    }

    [Fact]
    public async Task ChannelFull_RepliesFailed_NothingAcceptedUntilRoom()
    {
        var channel = Channel(capacity: 10, transactionCapacity: 100);
        await PutAsync(channel, Events("old", 5));
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        using var writer = new FrameWriter();

        await client.SendAsync(AvroRpcCodec.WriteAppendBatchRequest(writer, 0, AvroRpcCodec.ClientHandshake(false), Events("new", 10)), SocketFlags.None, Ct);
        var refused = Payload(await ReadReplyAsync(client));
        AvroRpcCodec.ReadHandshakeResponse(refused);
        var refusedStatus = AvroRpcCodec.ReadCallResponse(refused, out _);
        var sizeAfterRefusal = channel.Size;
        await DrainAsync(channel);
        await client.SendAsync(AvroRpcCodec.WriteAppendBatchRequest(writer, 1, null, Events("new", 10)), SocketFlags.None, Ct);
        var acceptedStatus = AvroRpcCodec.ReadCallResponse(Payload(await ReadReplyAsync(client)), out _);

        Assert.Equal(AvroStatus.Failed, refusedStatus);
        Assert.Equal(5, sizeAfterRefusal);
        Assert.Equal(AvroStatus.Ok, acceptedStatus);
        Assert.Equal(Events("new", 10).Select(Text), (await DrainAsync(channel)).Select(Text));
        Assert.Equal(1, source.Counter.ChannelWriteFail);
    }

    [Fact]
    public async Task Garbage_ClosesOnlyThatConnection_WithPeerOffsetAndReason_OtherConnectionKeepsFlowing()
    {
        var channel = Channel();
        var logs = new ListLoggerFactory();
        await using var source = Source(new ChannelOutput(channel), logs);
        await source.StartAsync(Ct);
        using var good = await ConnectAsync(source.BoundPort);
        await good.SendAsync(AvroRpcGoldenTests.Frame("request-handshake-appendBatch"), SocketFlags.None, Ct);
        await ReadReplyAsync(good);
        using var bad = await ConnectAsync(source.BoundPort);

        // A frame header announcing -5 buffers: refused at once.
        await bad.SendAsync(Convert.FromHexString("00000007fffffffb"), SocketFlags.None, Ct);
        var closed = await ClosedByPeerAsync(bad);
        await good.SendAsync(AvroRpcGoldenTests.Frame("request-append"), SocketFlags.None, Ct);
        var status = AvroRpcCodec.ReadCallResponse(Payload(await ReadReplyAsync(good)), out _);

        Assert.True(closed);
        Assert.Equal(AvroStatus.Ok, status);
        var line = Assert.Single(logs.Messages, m => m.Contains("malformed input", StringComparison.Ordinal));
        Assert.Contains($"/127.0.0.1:{((System.Net.IPEndPoint)bad.LocalEndPoint!).Port}", line, StringComparison.Ordinal);
        Assert.Contains("frame buffer count at offset 4: -5 is not allowed", line, StringComparison.Ordinal);
        Assert.Equal(3, (await DrainAsync(channel)).Count);
    }

    [Fact]
    public async Task OversizedFrame_RefusedFromItsLengthBeforeTheBytesArrive()
    {
        var logs = new ListLoggerFactory();
        await using var source = Source(new RecordingOutput(), logs, ("max-frame-bytes", "4096"));
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        var header = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(header, 0);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), 100 * 1024 * 1024);

        await client.SendAsync(header, SocketFlags.None, Ct);

        Assert.True(await ClosedByPeerAsync(client));
        Assert.Contains(logs.Messages, m => m.Contains("frame buffer 0 length at offset 8: 104857600 makes the frame at least 104857612 bytes, more than the limit of 4096 bytes", StringComparison.Ordinal));
        Assert.Equal(1, source.ConnectionsClosedForErrors);
    }

    [Fact]
    public async Task EventLengthBeyondPayload_ClosedWithFieldName()
    {
        var logs = new ListLoggerFactory();
        await using var source = Source(new RecordingOutput(), logs);
        await source.StartAsync(Ct);
        using var client = await ConnectAsync(source.BoundPort);
        // request-append (established-connection form) after a handshake, with the body length raised to 2^30.
        await client.SendAsync(AvroRpcGoldenTests.Frame("request-ping"), SocketFlags.None, Ct);
        await ReadReplyAsync(client);
        var append = AvroRpcGoldenTests.Frame("request-append");
        var bodyLengthAt = append.Length - "line three".Length - 1;
        var tampered = append[..bodyLengthAt].Concat(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x08 }).Concat(append[(bodyLengthAt + 1)..]).ToArray();
        BinaryPrimitives.WriteInt32BigEndian(tampered.AsSpan(20), BinaryPrimitives.ReadInt32BigEndian(tampered.AsSpan(20)) + 4);

        await client.SendAsync(tampered, SocketFlags.None, Ct);

        Assert.True(await ClosedByPeerAsync(client));
        Assert.True(logs.Messages.Any(m => m.Contains("AvroFlumeEvent.body length", StringComparison.Ordinal) && m.Contains("exceeds the 10 bytes left", StringComparison.Ordinal)), string.Join("\n", logs.Messages));
    }

    [Fact]
    public async Task MutatedFrames_OverSockets_EachClosesOrAnswers_SourceKeepsServing()
    {
        var channel = Channel(capacity: 1_000_000, transactionCapacity: 100_000);
        var logs = new ListLoggerFactory();
        await using var source = Source(new ChannelOutput(channel), logs);
        await source.StartAsync(Ct);
        var random = new Random(20261207);
        var frames = new[] { "request-handshake-appendBatch", "request-handshake-with-protocol-appendBatch", "request-ping" }.Select(AvroRpcGoldenTests.Frame).ToArray();

        for (var round = 0; round < 60; round++)
        {
            var frame = Mutate(frames[round % frames.Length], random);
            using var client = await ConnectAsync(source.BoundPort);
            await client.SendAsync(frame, SocketFlags.None, Ct);
            client.Shutdown(SocketShutdown.Send);
            // Either a reply then the close, or the close: the source never hangs on a half-closed connection.
            Assert.True(await ClosedByPeerAsync(client), $"round {round}: the source kept the connection open");
        }
        using var clean = await ConnectAsync(source.BoundPort);
        await clean.SendAsync(AvroRpcGoldenTests.Frame("request-handshake-appendBatch"), SocketFlags.None, Ct);

        Assert.Equal(AvroRpcGoldenTests.Frame("response-both-ok"), await ReceiveAsync(clean, AvroRpcGoldenTests.Frame("response-both-ok").Length));
        Assert.Equal(0, source.Counter.GenericProcessingFail);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("handler for", StringComparison.Ordinal));
    }

    [Fact]
    public void MutatedFrames_Decoded_OnlyProtocolErrorsOrIncomplete()
    {
        var random = new Random(7);
        var names = new[] { "request-handshake-appendBatch", "request-handshake-with-protocol-appendBatch", "request-append", "request-appendBatch-empty", "request-ping" };
        var outcomes = new Dictionary<string, int>();
        for (var round = 0; round < 5000; round++)
        {
            var name = names[round % names.Length];
            var bytes = Mutate(AvroRpcGoldenTests.Frame(name), random);
            var outcome = DecodeServerSide(bytes, hasHandshake: name.Contains("handshake", StringComparison.Ordinal) || name == "request-ping");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.True(outcomes.GetValueOrDefault("protocol error") > 500, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault("incomplete") > 100, string.Join(", ", outcomes));
    }

    [Fact]
    public async Task IpFilter_DenyLoopbackRule_ConnectionClosedUnread_AllowRuleLetsItThrough()
    {
        await using var denying = Source(new RecordingOutput(), null, ("ipFilter", "true"), ("ipFilterRules", "allow:ip:10.*,deny:ip:127.0.0.*"));
        await using var allowing = Source(new RecordingOutput(), null, ("ipFilter", "true"), ("ipFilterRules", "allow:name:localhost,deny:ip:*"));
        await denying.StartAsync(Ct);
        await allowing.StartAsync(Ct);
        using var refused = await ConnectAsync(denying.BoundPort);
        using var admitted = await ConnectAsync(allowing.BoundPort);

        Assert.True(await ClosedByPeerAsync(refused));
        await admitted.SendAsync(AvroRpcGoldenTests.Frame("request-ping"), SocketFlags.None, Ct);
        Assert.Equal(AvroRpcGoldenTests.Frame("response-ping-both"), await ReceiveAsync(admitted, AvroRpcGoldenTests.Frame("response-ping-both").Length));
        Assert.Equal(1, denying.ConnectionsRefused);
        Assert.Equal(0, allowing.ConnectionsRefused);
    }

    [Fact]
    public void Configure_BadKeys_EveryErrorNamedWithKey()
    {
        var errors = new List<ConfigError>();
        _ = new AvroSource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["compression-type"] = "gzip",
            ["ipFilter"] = "true",
            ["ipFilterRules"] = "allow:ip:127.*,permit:ip:*",
            ["ssl"] = "true",
            ["keystore"] = "/nonexistent.jks",
        }, errors));

        var text = string.Join("\n", errors);
        Assert.Contains("a1.sources.r1.bind: is required", text, StringComparison.Ordinal);
        Assert.Contains("a1.sources.r1.port: is required", text, StringComparison.Ordinal);
        Assert.Contains("a1.sources.r1.compression-type: 'gzip' is not allowed (allowed: none, deflate)", text, StringComparison.Ordinal);
        Assert.Contains("a1.sources.r1.ipFilterRules: rule 'permit:ip:*' should look like <allow|deny>:<ip|name>:<pattern>", text, StringComparison.Ordinal);
        Assert.Contains("a1.sources.r1.keystore-type: is not set, and Flume's default JKS cannot be read by .NET", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IpFilter_Rules_FirstMatchWins_UnmatchedAccepted()
    {
        var filter = IpFilter.Parse("deny:ip:192.168.1.?,allow:ip:192.168.*,deny:ip:10.*", out var problems)!;

        Assert.Empty(problems);
        Assert.False(await CheckAsync(filter, "192.168.1.7"));
        Assert.True(await CheckAsync(filter, "192.168.1.77"));
        Assert.True(await CheckAsync(filter, "192.168.2.1"));
        Assert.False(await CheckAsync(filter, "10.1.2.3"));
        Assert.True(await CheckAsync(filter, "172.16.0.1"));
    }

    private static async Task<bool> CheckAsync(IpFilter filter, string address) =>
        (await filter.CheckAsync(System.Net.IPAddress.Parse(address), CancellationToken.None)).Allowed;

    /// <summary>One mutation: flip bytes, truncate, splice random bytes, or overwrite a length field.</summary>
    internal static byte[] Mutate(byte[] frame, Random random)
    {
        var bytes = (byte[])frame.Clone();
        switch (random.Next(4))
        {
            case 0:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                }
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                var at = random.Next(8, bytes.Length);
                var noise = new byte[random.Next(1, 16)];
                random.NextBytes(noise);
                return [.. bytes[..at], .. noise, .. bytes[at..]];
            default:
                var field = random.Next(0, Math.Min(4, (bytes.Length - 8) / 4)) * 4 + 4;
                BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(field), random.Next(int.MinValue, int.MaxValue));
                return bytes;
        }
    }

    private static string DecodeServerSide(byte[] bytes, bool hasHandshake)
    {
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(bytes));
        try
        {
            if (!NettyFrame.TryRead(ref reader, 1 << 20, 0, out var frame))
            {
                return "incomplete";
            }
            using (frame)
            {
                var payload = new AvroPayloadReader();
                payload.Reset(frame.Array!, frame.Length, 0);
                if (hasHandshake)
                {
                    AvroRpcCodec.ReadHandshakeRequest(payload);
                }
                switch (AvroRpcCodec.ReadCallHeader(payload, out _))
                {
                    case RpcMessage.AppendBatch:
                        AvroRpcCodec.ReadAppendBatch(payload, [], int.MaxValue);
                        break;
                    case RpcMessage.Append:
                        AvroRpcCodec.ReadAppend(payload);
                        break;
                }
                return "decoded";
            }
        }
        catch (AvroRpcException)
        {
            return "protocol error";
        }
    }

    internal static async Task<byte[]> ReadReplyAsync(Socket client)
    {
        var header = await ReceiveAsync(client, 8);
        Assert.Equal(8, header.Length);
        var count = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        var frame = new List<byte>(header);
        for (var i = 0; i < count; i++)
        {
            var length = await ReceiveAsync(client, 4);
            frame.AddRange(length);
            frame.AddRange(await ReceiveAsync(client, BinaryPrimitives.ReadInt32BigEndian(length)));
        }
        return [.. frame];
    }

    internal static AvroPayloadReader Payload(byte[] frame)
    {
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(frame));
        Assert.True(NettyFrame.TryRead(ref reader, 1 << 20, 0, out var payload));
        var copy = payload.Span.ToArray();
        payload.Dispose();
        var result = new AvroPayloadReader();
        result.Reset(copy, copy.Length, 0);
        return result;
    }

    private static string Text(Event e) => Encoding.UTF8.GetString(e.Body.Span);
}
