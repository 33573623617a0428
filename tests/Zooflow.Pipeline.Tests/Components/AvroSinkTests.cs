using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using static Zooflow.Pipeline.Tests.Components.AvroTestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// The avro sink against the avro source and against scripted peers on loopback (flume.md §1.3, §5): a batch commits
/// only on an OK reply; FAILED, timeouts and broken connections roll back; the first frame is byte-identical to a Flume
/// client's; deflate and TLS hops; the endpoint-provider seam.
/// </summary>
public sealed class AvroSinkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Transports => ["plain", "deflate", "tls", "tls+deflate", "tls+deflate-outside"];

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task SinkToSource_EveryEventInOrderWithHeaders(string transport)
    {
        var dir = TempDir();
        var (keystore, truststore) = transport.StartsWith("tls", StringComparison.Ordinal) ? SelfSignedCertificate(dir, "s3cret") : ("", "");
        var sourceKeys = new List<(string, string)>();
        var sinkKeys = new List<(string, string)> { ("batch-size", "100") };
        if (transport.Contains("deflate", StringComparison.Ordinal))
        {
            sourceKeys.Add(("compression-type", "deflate"));
            sinkKeys.Add(("compression-type", "deflate"));
            sinkKeys.Add(("compression-level", "9"));
        }
        if (transport.StartsWith("tls", StringComparison.Ordinal))
        {
            sourceKeys.AddRange([("ssl", "true"), ("keystore", keystore), ("keystore-password", "s3cret"), ("keystore-type", "PKCS12")]);
            sinkKeys.AddRange([("ssl", "true"), ("truststore", truststore), ("truststore-type", "PEM")]);
        }
        if (transport.EndsWith("-outside", StringComparison.Ordinal))
        {
            // Flume 1.10/1.11's layering: zlib on the wire, TLS inside; the source tells it from the first byte.
            sinkKeys.Add(("deflate-outside-ssl", "true"));
        }
        var downstream = Channel(capacity: 100_000, transactionCapacity: 1000);
        await using var source = Source(new ChannelOutput(downstream), null, [.. sourceKeys]);
        await source.StartAsync(Ct);
        var upstream = Channel(capacity: 100_000, transactionCapacity: 1000);
        var events = Events(transport, 1050);
        foreach (var chunk in events.Chunk(500))
        {
            await PutAsync(upstream, chunk);
        }
        await using var sink = Sink(source.BoundPort, upstream, [.. sinkKeys]);
        await sink.StartAsync(Ct);

        await DrainThroughAsync(sink, upstream);

        AvroRpcGoldenTests.AssertEvents(events, await DrainAsync(downstream), transport);
        Assert.Equal("11", source.Counter.Snapshot().Single(a => a.Key == "AppendBatchAcceptedCount").Value);
        Assert.Equal(1050, sink.EventsDrained);
    }

    [Fact]
    public async Task CompressionMismatch_DeflateSinkPlainSource_FailsAndRollsBack()
    {
        var logs = new ListLoggerFactory();
        await using var source = Source(new RecordingOutput(), logs);
        await source.StartAsync(Ct);
        var upstream = Channel();
        await PutAsync(upstream, Events("z", 3));
        await using var sink = Sink(source.BoundPort, upstream, ("compression-type", "deflate"), ("connect-timeout", "1000"), ("request-timeout", "1000"));

        await Assert.ThrowsAsync<EventDeliveryException>(async () => await sink.ProcessAsync(Ct));

        Assert.Equal(3, upstream.Size);
        await WaitUntilAsync(() => source.ConnectionsClosedForErrors == 1, "the source to refuse the compressed bytes");
        Assert.Contains(logs.Messages, m => m.Contains("malformed input", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SinkTls_UntrustedCertificate_FailsAndRollsBack_TrustAllCertsConnects()
    {
        var (keystore, _) = SelfSignedCertificate(TempDir(), "pw");
        var downstream = Channel();
        await using var source = Source(new ChannelOutput(downstream), null, ("ssl", "true"), ("keystore", keystore), ("keystore-password", "pw"), ("keystore-type", "PKCS12"));
        await source.StartAsync(Ct);
        var upstream = Channel();
        await PutAsync(upstream, Events("tls", 3));
        await using var strict = Sink(source.BoundPort, upstream, ("ssl", "true"));
        await using var trusting = Sink(source.BoundPort, upstream, ("ssl", "true"), ("trust-all-certs", "true"));

        await Assert.ThrowsAsync<EventDeliveryException>(async () => await strict.ProcessAsync(Ct));
        var sizeAfterRefusal = upstream.Size;
        await trusting.ProcessAsync(Ct);

        Assert.Equal(3, sizeAfterRefusal);
        Assert.Equal(3, (await DrainAsync(downstream)).Count);
    }

    [Fact]
    public async Task FirstBatch_ByteIdenticalToFlumeClient_CommittedOnOk()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var upstream = Channel();
        await PutAsync(upstream, AvroRpcGoldenTests.E1, AvroRpcGoldenTests.E2);
        await using var sink = Sink(((IPEndPoint)listener.LocalEndpoint).Port, upstream);
        await sink.StartAsync(Ct);

        var process = sink.ProcessAsync(Ct).AsTask();
        using var peer = await listener.AcceptSocketAsync(Ct);
        var expected = AvroRpcGoldenTests.Frame("request-handshake-appendBatch");
        var received = await ReceiveAsync(peer, expected.Length);
        await peer.SendAsync(AvroRpcGoldenTests.Frame("response-both-ok"), SocketFlags.None, Ct);

        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(received));
        Assert.Equal(ProcessStatus.Ready, await process.WaitAsync(WaitLimit, Ct));
        Assert.Equal(0, upstream.Size);
    }

    [Fact]
    public async Task NoneReply_ResendsWithProtocolText_ThenCommits()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var upstream = Channel();
        await PutAsync(upstream, AvroRpcGoldenTests.E1, AvroRpcGoldenTests.E2);
        await using var sink = Sink(((IPEndPoint)listener.LocalEndpoint).Port, upstream);

        var process = sink.ProcessAsync(Ct).AsTask();
        using var peer = await listener.AcceptSocketAsync(Ct);
        await AvroSourceTests.ReadReplyAsync(peer);
        await peer.SendAsync(AvroRpcGoldenTests.Frame("response-none"), SocketFlags.None, Ct);
        var retry = await AvroSourceTests.ReadReplyAsync(peer);
        await peer.SendAsync(AvroRpcGoldenTests.Frame("response-client-ok"), SocketFlags.None, Ct);

        Assert.Equal(Convert.ToHexStringLower(AvroRpcGoldenTests.Frame("request-handshake-with-protocol-appendBatch")), Convert.ToHexStringLower(retry));
        Assert.Equal(ProcessStatus.Ready, await process.WaitAsync(WaitLimit, Ct));
        Assert.Equal(0, upstream.Size);
    }

    [Fact]
    public async Task FailedReply_RollsBackBatch_NextBatchSameEventsOnSameConnection()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var upstream = Channel();
        await PutAsync(upstream, Events("f", 4));
        await using var sink = Sink(((IPEndPoint)listener.LocalEndpoint).Port, upstream);
        using var writer = new FrameWriter();

        var first = sink.ProcessAsync(Ct).AsTask();
        using var peer = await listener.AcceptSocketAsync(Ct);
        await AvroSourceTests.ReadReplyAsync(peer);
        await peer.SendAsync(AvroRpcCodec.WriteStatusResponse(writer, 0, new HandshakeResponse(HandshakeMatch.Both, null, null), AvroStatus.Failed), SocketFlags.None, Ct);
        var failure = await Assert.ThrowsAsync<EventDeliveryException>(() => first.WaitAsync(WaitLimit, Ct));
        var sizeAfterFailure = upstream.Size;
        var second = sink.ProcessAsync(Ct).AsTask();
        var resent = AvroSourceTests.Payload(await AvroSourceTests.ReadReplyAsync(peer));
        await peer.SendAsync(AvroRpcCodec.WriteStatusResponse(writer, 1, null, AvroStatus.Ok), SocketFlags.None, Ct);

        Assert.Contains("answered FAILED", failure.Message, StringComparison.Ordinal);
        Assert.Equal(4, sizeAfterFailure);
        Assert.Equal(RpcMessage.AppendBatch, AvroRpcCodec.ReadCallHeader(resent, out _));
        var events = new List<Event>();
        AvroRpcCodec.ReadAppendBatch(resent, events, 100);
        Assert.Equal(Events("f", 4).Select(e => Encoding.UTF8.GetString(e.Body.Span)), events.Select(e => Encoding.UTF8.GetString(e.Body.Span)));
        Assert.Equal(ProcessStatus.Ready, await second.WaitAsync(WaitLimit, Ct));
        Assert.Equal(0, upstream.Size);
    }

    [Fact]
    public async Task NoReply_TimesOut_RollsBack_AndReconnects()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var upstream = Channel();
        await PutAsync(upstream, Events("t", 2));
        await using var sink = Sink(((IPEndPoint)listener.LocalEndpoint).Port, upstream, ("connect-timeout", "1000"), ("request-timeout", "1000"));

        var first = sink.ProcessAsync(Ct).AsTask();
        using var silent = await listener.AcceptSocketAsync(Ct);
        var failure = await Assert.ThrowsAsync<EventDeliveryException>(() => first.WaitAsync(WaitLimit, Ct));
        var sizeAfterTimeout = upstream.Size;
        var second = sink.ProcessAsync(Ct).AsTask();
        using var fresh = await listener.AcceptSocketAsync(Ct);

        Assert.Contains("no reply from 127.0.0.1", failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, sizeAfterTimeout);
        Assert.True(await ClosedByPeerAsync(silent), "the timed-out connection was not closed");
        await AvroSourceTests.ReadReplyAsync(fresh);
        await fresh.SendAsync(AvroRpcGoldenTests.Frame("response-both-ok"), SocketFlags.None, Ct);
        Assert.Equal(ProcessStatus.Ready, await second.WaitAsync(WaitLimit, Ct));
    }

    [Fact]
    public async Task ResetConnectionInterval_Elapsed_NewConnectionBeforeNextBatch()
    {
        var downstream = Channel();
        await using var source = Source(new ChannelOutput(downstream));
        await source.StartAsync(Ct);
        var clock = new ManualClock();
        var upstream = Channel();
        var errors = new List<ConfigError>();
        await using var sink = new AvroSink("k1", Context("a1.sinks.k1.",
            [new("hostname", "127.0.0.1"), new("port", source.BoundPort.ToString()), new("reset-connection-interval", "30")], errors, clock: clock))
        { Channel = upstream };

        await PutAsync(upstream, Events("a", 1));
        await sink.ProcessAsync(Ct);
        clock.Advance(TimeSpan.FromSeconds(10));
        await PutAsync(upstream, Events("b", 1));
        await sink.ProcessAsync(Ct);
        var createdBeforeReset = sink.Counter.Snapshot().Single(a => a.Key == "ConnectionCreatedCount").Value;
        clock.Advance(TimeSpan.FromSeconds(25));
        await PutAsync(upstream, Events("c", 1));
        await sink.ProcessAsync(Ct);

        Assert.Empty(errors);
        Assert.Equal("1", createdBeforeReset);
        Assert.Equal("2", sink.Counter.Snapshot().Single(a => a.Key == "ConnectionCreatedCount").Value);
        Assert.Equal(3, (await DrainAsync(downstream)).Count);
    }

    [Fact]
    public async Task EndpointProvider_MovesTarget_SinkFollowsBeforeNextBatch()
    {
        var first = Channel();
        var second = Channel();
        await using var sourceA = Source(new ChannelOutput(first));
        await using var sourceB = Source(new ChannelOutput(second));
        await sourceA.StartAsync(Ct);
        await sourceB.StartAsync(Ct);
        var provider = new SwitchableProvider(new RpcEndpoint("127.0.0.1", sourceA.BoundPort));
        var upstream = Channel();
        var errors = new List<ConfigError>();
        await using var sink = new AvroSink("k1", Context("a1.sinks.k1.", [new("batch-size", "10")], errors), provider) { Channel = upstream };

        await PutAsync(upstream, Events("to-a", 3));
        await sink.ProcessAsync(Ct);
        provider.Current = new RpcEndpoint("127.0.0.1", sourceB.BoundPort);
        await PutAsync(upstream, Events("to-b", 2));
        await sink.ProcessAsync(Ct);

        Assert.Empty(errors);
        Assert.Equal(3, (await DrainAsync(first)).Count);
        Assert.Equal(2, (await DrainAsync(second)).Count);
        Assert.Equal(2, provider.Successes);
        Assert.Equal(provider.Current, sink.ConnectedTo);
    }

    [Fact]
    public async Task DestinationDown_ConnectFails_NothingTaken()
    {
        var upstream = Channel();
        await PutAsync(upstream, Events("d", 2));
        await using var sink = Sink(E2EPort(), upstream, ("connect-timeout", "1000"));

        var failure = await Assert.ThrowsAsync<EventDeliveryException>(async () => await sink.ProcessAsync(Ct));

        Assert.Contains("cannot connect to 127.0.0.1:", failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, upstream.Size);
        Assert.Equal("1", sink.Counter.Snapshot().Single(a => a.Key == "ConnectionFailedCount").Value);
    }

    [Fact]
    public void Configure_FlumeKeys_DefaultsAndErrors()
    {
        var errors = new List<ConfigError>();
        var defaults = new AvroSink("k1", Context("a1.sinks.k1.", [new("hostname", "h"), new("port", "4545"), new("maxIoWorkers", "8")], errors));
        var bad = new List<ConfigError>();
        _ = new AvroSink("k2", Context("a1.sinks.k2.", [new("compression-type", "lz4"), new("ssl", "true"), new("truststore", "/x.jks"), new("compression-level", "11")], bad));

        Assert.Empty(errors);
        Assert.Equal(100, defaults.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(20), defaults.Options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), defaults.Options.RequestTimeout);
        Assert.Equal(8, defaults.MaxIoWorkers);
        Assert.Equal("h:4545", defaults.Endpoints.Description);
        var text = string.Join("\n", bad);
        Assert.Contains("a1.sinks.k2.hostname: is required", text, StringComparison.Ordinal);
        Assert.Contains("a1.sinks.k2.port: is required", text, StringComparison.Ordinal);
        Assert.Contains("a1.sinks.k2.compression-type: 'lz4' is not allowed (allowed: none, deflate)", text, StringComparison.Ordinal);
        Assert.Contains("a1.sinks.k2.compression-level: 11 is out of range (allowed: 0..9)", text, StringComparison.Ordinal);
        Assert.Contains("a1.sinks.k2.truststore-type: 'JKS' is not supported (allowed: PKCS12, PEM)", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ComponentKind.Source, "avro", typeof(AvroSource))]
    [InlineData(ComponentKind.Source, "AVRO", typeof(AvroSource))]
    [InlineData(ComponentKind.Source, "org.apache.flume.source.AvroSource", typeof(AvroSource))]
    [InlineData(ComponentKind.Sink, "avro", typeof(AvroSink))]
    [InlineData(ComponentKind.Sink, "org.apache.flume.sink.AvroSink", typeof(AvroSink))]
    public void Registry_AvroAliasAndJavaClass_ResolveToAvroComponents(ComponentKind kind, string typeName, Type expected)
    {
        var registry = ComponentRegistry.CreateDefault(Zooflow.Pipeline.Components.BuiltInComponents.All());

        Assert.True(registry.TryResolve(kind, typeName, out var type));
        Assert.IsType(expected, type.Create("x", Context("a1.x.x.", ("bind", "127.0.0.1"), ("hostname", "127.0.0.1"), ("port", "4545"))));
    }

    private static int E2EPort() => Zooflow.TestKit.FreePort.Next();

    private sealed class SwitchableProvider(RpcEndpoint initial) : IRpcEndpointProvider
    {
        public RpcEndpoint Current { get; set; } = initial;

        public int Successes;

        public string Description => "test";

        public ValueTask<RpcEndpoint> SelectAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Current);

        public bool IsCurrent(RpcEndpoint endpoint) => endpoint == Current;

        public void ReportSuccess(RpcEndpoint endpoint) => Successes++;

        public void ReportFailure(RpcEndpoint endpoint, Exception error)
        {
        }
    }
}
