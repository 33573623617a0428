using Xunit;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources;
using Zooflow.Pipeline.Instrumentation;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>netcat over real loopback sockets (flume.md §1.1: bind, port, max-line-length 512, ack-every-event true).</summary>
public sealed class NetcatSourceTests
{
    private static NetcatSource Create(params (string Key, string Value)[] extra) =>
        Create(new CounterRegistry(), extra);

    private static NetcatSource Create(CounterRegistry counters, params (string Key, string Value)[] extra)
    {
        var properties = new List<KeyValuePair<string, string>> { new("bind", "127.0.0.1"), new("port", "0") };
        properties.AddRange(extra.Select(p => KeyValuePair.Create(p.Key, p.Value)));
        return new NetcatSource("r1", Context("a1.sources.r1.", properties, counters: counters));
    }

    private static async Task<Socket> ConnectAsync(NetcatSource source)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, source.BoundPort), TestContext.Current.CancellationToken);
        return client;
    }

    private static async Task<string> ReadAtLeastAsync(Socket socket, int bytes)
    {
        var buffer = new byte[64 * 1024];
        var received = new MemoryStream();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(WaitLimit);
        while (received.Length < bytes)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }
            await received.WriteAsync(buffer.AsMemory(0, n), TestContext.Current.CancellationToken);
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }

    [Fact]
    public async Task Lines_OverTcp_BecomeEventsAckedInOrderWithCarriageReturnKept()
    {
        await using var source = Create();
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = await ConnectAsync(source);

        await client.SendAsync("a\nbb\r\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        await client.SendAsync("ccc\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        var acks = await ReadAtLeastAsync(client, 9);

        Assert.Equal("OK\nOK\nOK\n", acks);
        Assert.Equal(["a", "bb\r", "ccc"], output.Texts());
    }

    [Fact]
    public async Task LineLongerThanMax_AfterValidLine_RepliesFailedAsFlumeAndCloses()
    {
        await using var source = Create(("max-line-length", "5"));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = await ConnectAsync(source);

        await client.SendAsync("abcd\nabcdefgh\nnext\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        var reply = await ReadAtLeastAsync(client, int.MaxValue);

        Assert.Equal("OK\nFAILED: Event exceeds the maximum length (5 chars, including newline)\n", reply);
        Assert.Equal(["abcd"], output.Texts());
        Assert.Equal(1, source.LinesTooLong);
    }

    [Fact]
    public async Task UnterminatedLineAtMaxLength_WithoutNewline_IsRejected()
    {
        await using var source = Create(("max-line-length", "4"), ("ack-every-event", "false"));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = await ConnectAsync(source);

        await client.SendAsync("abcd"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        var reply = await ReadAtLeastAsync(client, int.MaxValue);

        Assert.StartsWith("FAILED: Event exceeds the maximum length (4 chars", reply);
        Assert.Empty(output.Events);
    }

    [Fact]
    public async Task ManyLines_SentInOddChunks_AllArriveInOrderBatched()
    {
        await using var source = Create(("ack-every-event", "false"), ("batchSize", "50"));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        const int lines = 20_000;
        var payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, lines).Select(i => $"line-{i:D6}-{new string('x', i % 40)}\n")));

        using (var client = await ConnectAsync(source))
        {
            var random = new Random(42);
            for (var offset = 0; offset < payload.Length;)
            {
                var n = Math.Min(payload.Length - offset, random.Next(1, 3000));
                await client.SendAsync(payload.AsMemory(offset, n), SocketFlags.None, TestContext.Current.CancellationToken);
                offset += n;
            }
            client.Shutdown(SocketShutdown.Send);
            await WaitUntilAsync(() => output.Events.Count == lines, $"{lines} events");
        }

        var texts = output.Texts();
        for (var i = 0; i < lines; i++)
        {
            Assert.Equal($"line-{i:D6}-{new string('x', i % 40)}", texts[i]);
        }
        Assert.All(output.BatchSizes, size => Assert.InRange(size, 1, 50));
    }

    [Fact]
    public async Task ChannelFull_HoldsConnectionAndAcksOnlyCommittedEvents()
    {
        var counters = new CounterRegistry();
        await using var source = Create(counters, ("batchSize", "1"));
        var channel = Channel(capacity: 2, transactionCapacity: 1, keepAliveMs: 20);
        var output = new ChannelOutput(channel);
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = await ConnectAsync(source);

        await client.SendAsync("one\ntwo\nthree\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        var firstAcks = await ReadAtLeastAsync(client, 6);
        await WaitUntilAsync(() => counters.Source("r1").ChannelWriteFail >= 1, "the channel to refuse the third line");

        Assert.Equal("OK\nOK\n", firstAcks);
        Assert.Equal(0, client.Available);
        Assert.Equal(2, channel.Size);

        var drained = await DrainAsync(channel, perTransaction: 1);
        var lastAck = await ReadAtLeastAsync(client, 3);
        await WaitUntilAsync(() => channel.Size == 1, "the third line to be committed");
        var rest = await DrainAsync(channel, perTransaction: 1);

        Assert.Equal("OK\n", lastAck);
        Assert.Equal(["one", "two", "three"], drained.Concat(rest).Select(Text));
        Assert.Equal(3, counters.Source("r1").EventAcceptedCount);
    }

    [Fact]
    public async Task DefaultBatch_AboveChannelTransactionCapacity_IsSplitAndEverythingCommittedInOrder()
    {
        await using var source = Create();
        var channel = Channel(capacity: 1_000, transactionCapacity: 3);
        source.Output = new ChannelOutput(channel);
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = await ConnectAsync(source);
        var lines = Enumerable.Range(0, 10).Select(i => $"line{i}").ToArray();

        await client.SendAsync(Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\n"))), SocketFlags.None, TestContext.Current.CancellationToken);
        var acks = await ReadAtLeastAsync(client, 30);

        Assert.Equal(string.Concat(Enumerable.Repeat("OK\n", 10)), acks);
        Assert.Equal(lines, (await DrainAsync(channel, perTransaction: 3)).Select(Text));
        Assert.Equal(1, ((Zooflow.Pipeline.Abstractions.IBatchSized)source).BatchSize);
    }

    [Fact]
    public async Task Stop_WithOpenConnection_ClosesListenerAndConnection()
    {
        var source = Create();
        source.Output = new RecordingOutput();
        await source.StartAsync(TestContext.Current.CancellationToken);
        var port = source.BoundPort;
        using var client = await ConnectAsync(source);

        await source.StopAsync(TestContext.Current.CancellationToken);
        var eof = await ReadAtLeastAsync(client, 1);

        Assert.Equal("", eof);
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await again.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Construct_WithoutBindAndPort_RecordsBothErrors()
    {
        var errors = new List<ConfigError>();
        _ = new NetcatSource("r1", Context("a1.sources.r1.", [], errors));

        Assert.Contains(errors, e => e.Key == "a1.sources.r1.bind" && e.Message.Contains("required"));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.port" && e.Message.Contains("required"));
    }
}
