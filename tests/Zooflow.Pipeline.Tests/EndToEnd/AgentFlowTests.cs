using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Tests.EndToEnd;

/// <summary>
/// The agent as a real process (issue 6 "Show"): real sockets, real child processes, real files. Each test has its own
/// temp dir and free loopback ports, waits with bounds, and stops only its own agent by PID.
/// </summary>
public sealed class AgentFlowTests
{

    private static string FileRollSink(string name, string channel, string directory, string extra = "") => $"""
        a1.sinks.{name}.type = file_roll
        a1.sinks.{name}.channel = {channel}
        a1.sinks.{name}.sink.directory = {directory}
        a1.sinks.{name}.sink.rollInterval = 0
        {extra}
        """;

    private static string Channel(string name) => $"""
        a1.channels.{name}.type = memory
        a1.channels.{name}.capacity = 100000
        a1.channels.{name}.transactionCapacity = 1000
        """;

    [Fact]
    public async Task NetcatTcp_ToMemoryToFileRoll_EveryLineWrittenInOrder()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var output = Path.Combine(dir, "out");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", output)}
            """);
        await agent.WaitForTcpAsync(port);
        var lines = E2E.Lines("tcp", 5_000);

        await E2E.SendTcpAsync(port, lines);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, lines.Length, agent, "lines in file_roll output");

        Assert.Equal(lines, E2E.ReadLines(output));
    }

    [Fact]
    public async Task NetcatUdp_ToFileRoll_EveryDatagramWrittenInOrder()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeUdpPort();
        var output = Path.Combine(dir, "out");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = netcatudp
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", output)}
            """);
        await agent.WaitForOutputAsync("listening");
        var lines = E2E.Lines("udp", 300);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        foreach (var line in lines)
        {
            await client.SendToAsync(Encoding.UTF8.GetBytes(line + "\n"), SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        }
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, lines.Length, agent, "datagrams in file_roll output");

        Assert.Equal(lines, E2E.ReadLines(output));
    }

    [Fact]
    public async Task ExecTailF_OnGrowingFile_EveryLineWrittenInOrder()
    {
        var dir = E2E.TempDir();
        var log = Path.Combine(dir, "app.log");
        var output = Path.Combine(dir, "out");
        var before = E2E.Lines("before", 100);
        var after = E2E.Lines("after", 200);
        await File.WriteAllLinesAsync(log, before, TestContext.Current.CancellationToken);
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = exec
            a1.sources.r1.command = tail -n +1 -F {log}
            a1.sources.r1.batchTimeout = 100
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", output)}
            """);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, before.Length, agent, "the existing lines");

        foreach (var chunk in after.Chunk(50))
        {
            await File.AppendAllLinesAsync(log, chunk, TestContext.Current.CancellationToken);
        }
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, before.Length + after.Length, agent, "the appended lines");

        Assert.Equal(before.Concat(after), E2E.ReadLines(output));
    }

    [Fact]
    public async Task ReplicatingSelector_TwoChannels_BothFileRollSinksGetEveryLine()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var out1 = Path.Combine(dir, "out1");
        var out2 = Path.Combine(dir, "out2");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1 c2
            a1.sinks = k1 k2
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1 c2
            a1.sources.r1.selector.type = replicating
            {Channel("c1")}
            {Channel("c2")}
            {FileRollSink("k1", "c1", out1)}
            {FileRollSink("k2", "c2", out2)}
            """);
        await agent.WaitForTcpAsync(port);
        var lines = E2E.Lines("rep", 2_000);

        await E2E.SendTcpAsync(port, lines);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(out1).Count, lines.Length, agent, "lines in out1");
        await E2E.WaitForCountAsync(() => E2E.ReadLines(out2).Count, lines.Length, agent, "lines in out2");

        Assert.Equal(lines, E2E.ReadLines(out1));
        Assert.Equal(lines, E2E.ReadLines(out2));
    }

    [Fact]
    public async Task MultiplexingSelector_ByStaticInterceptorHeader_RoutesEachSourceToItsSink()
    {
        var dir = E2E.TempDir();
        var portA = E2E.FreeTcpPort();
        var portB = E2E.FreeTcpPort();
        var outA = Path.Combine(dir, "outA");
        var outB = Path.Combine(dir, "outB");
        string Source(string name, int port, string route) => $"""
            a1.sources.{name}.type = netcat
            a1.sources.{name}.bind = 127.0.0.1
            a1.sources.{name}.port = {port}
            a1.sources.{name}.channels = c1 c2
            a1.sources.{name}.interceptors = i1
            a1.sources.{name}.interceptors.i1.type = static
            a1.sources.{name}.interceptors.i1.key = route
            a1.sources.{name}.interceptors.i1.value = {route}
            a1.sources.{name}.selector.type = multiplexing
            a1.sources.{name}.selector.header = route
            a1.sources.{name}.selector.mapping.a = c1
            a1.sources.{name}.selector.mapping.b = c2
            a1.sources.{name}.selector.default = c1
            """;
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = ra rb
            a1.channels = c1 c2
            a1.sinks = k1 k2
            {Source("ra", portA, "a")}
            {Source("rb", portB, "b")}
            {Channel("c1")}
            {Channel("c2")}
            {FileRollSink("k1", "c1", outA)}
            {FileRollSink("k2", "c2", outB)}
            """);
        await agent.WaitForTcpAsync(portA);
        await agent.WaitForTcpAsync(portB);
        var linesA = E2E.Lines("route-a", 1_000);
        var linesB = E2E.Lines("route-b", 1_000);

        await Task.WhenAll(E2E.SendTcpAsync(portA, linesA), E2E.SendTcpAsync(portB, linesB));
        await E2E.WaitForCountAsync(() => E2E.ReadLines(outA).Count, linesA.Length, agent, "lines routed to a");
        await E2E.WaitForCountAsync(() => E2E.ReadLines(outB).Count, linesB.Length, agent, "lines routed to b");

        Assert.Equal(linesA, E2E.ReadLines(outA));
        Assert.Equal(linesB, E2E.ReadLines(outB));
    }

    [Fact]
    public async Task FailoverProcessor_PreferredSinkTargetDown_EverythingDeliveredByTheOther()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var blocker = Path.Combine(dir, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "a regular file, so the sink's directory cannot be created under it", TestContext.Current.CancellationToken);
        var broken = Path.Combine(blocker, "out");
        var good = Path.Combine(dir, "good");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1 k2
            a1.sinkgroups = g1
            a1.sinkgroups.g1.sinks = k1 k2
            a1.sinkgroups.g1.processor.type = failover
            a1.sinkgroups.g1.processor.priority.k1 = 10
            a1.sinkgroups.g1.processor.priority.k2 = 5
            a1.sinkgroups.g1.processor.maxpenalty = 1000
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", broken)}
            {FileRollSink("k2", "c1", good)}
            """);
        await agent.WaitForTcpAsync(port);
        var lines = E2E.Lines("failover", 3_000);

        await E2E.SendTcpAsync(port, lines);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(good).Count, lines.Length, agent, "lines through the standby sink");

        Assert.Equal(lines, E2E.ReadLines(good));
        Assert.False(Directory.Exists(broken));
    }

    [Fact]
    public async Task LoadBalanceProcessor_RoundRobin_SpreadsBatchesOverBothSinksWithoutLoss()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var out1 = Path.Combine(dir, "out1");
        var out2 = Path.Combine(dir, "out2");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1 k2
            a1.sinkgroups = g1
            a1.sinkgroups.g1.sinks = k1 k2
            a1.sinkgroups.g1.processor.type = load_balance
            a1.sinkgroups.g1.processor.selector = round_robin
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", out1, "a1.sinks.k1.sink.batchSize = 10")}
            {FileRollSink("k2", "c1", out2, "a1.sinks.k2.sink.batchSize = 10")}
            """);
        await agent.WaitForTcpAsync(port);
        var lines = E2E.Lines("lb", 4_000);

        await E2E.SendTcpAsync(port, lines);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(out1).Count + E2E.ReadLines(out2).Count, lines.Length, agent, "lines over both sinks");

        var first = E2E.ReadLines(out1);
        var second = E2E.ReadLines(out2);
        Assert.NotEmpty(first);
        Assert.NotEmpty(second);
        Assert.Equal(lines, first.Concat(second).Order(StringComparer.Ordinal));
        Assert.Equal(first.Order(StringComparer.Ordinal), first);
        Assert.Equal(second.Order(StringComparer.Ordinal), second);
    }

    [Fact]
    public async Task Reload_ChangingTheSinkWhileDataFlows_LosesNothing()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var before = Path.Combine(dir, "before");
        var after = Path.Combine(dir, "after");
        string Config(string output) => $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", output)}
            """;
        await using var agent = AgentProcess.Start(dir, Config(before), "--reload-interval", "0.2");
        await agent.WaitForTcpAsync(port);
        var sent = new List<string>();
        const string Applied = "configuration applied";

        // Keep sending (each chunk acknowledged, i.e. committed) until the reload was applied and 20 more chunks went
        // through the new sink's channel, so data is flowing before, during and after the change.
        var sending = Task.Run(async () =>
        {
            var chunksAfterReload = 0;
            for (var chunk = 0; chunk < 2_000 && chunksAfterReload < 20; chunk++)
            {
                var lines = Enumerable.Range(chunk * 100, 100).Select(i => $"reload-{i:D7}-payload").ToArray();
                await E2E.SendTcpAsync(port, lines);
                lock (sent)
                {
                    sent.AddRange(lines);
                }
                if (agent.Output.Contains(Applied, StringComparison.Ordinal))
                {
                    chunksAfterReload++;
                }
            }
        }, TestContext.Current.CancellationToken);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(before).Count, 1_000, agent, "lines before the reload");
        await File.WriteAllTextAsync(agent.ConfPath + ".tmp", Config(after), TestContext.Current.CancellationToken);
        File.Move(agent.ConfPath + ".tmp", agent.ConfPath, overwrite: true);
        await agent.WaitForOutputAsync(Applied);
        await sending.WaitAsync(E2E.WaitLimit, TestContext.Current.CancellationToken);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(before).Concat(E2E.ReadLines(after)).Distinct().Count(), sent.Count, agent, "every line after the reload");

        var written = E2E.ReadLines(before).Concat(E2E.ReadLines(after)).ToList();
        Assert.Equal(sent, written.Distinct().Order(StringComparer.Ordinal));
        Assert.NotEmpty(E2E.ReadLines(after));
    }

    [Fact]
    public async Task Metrics_AfterTraffic_CountersMatchWhatWasSent()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var metricsPort = E2E.FreeTcpPort();
        var output = Path.Combine(dir, "out");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {Channel("c1")}
            {FileRollSink("k1", "c1", output)}
            """, "-Dflume.monitoring.type=http", $"-Dflume.monitoring.port={metricsPort}", "-Dflume.monitoring.bind=127.0.0.1");
        await agent.WaitForTcpAsync(port);
        var lines = E2E.Lines("metrics", 2_500);

        await E2E.SendTcpAsync(port, lines);
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, lines.Length, agent, "lines in the output");
        using var http = new HttpClient { Timeout = E2E.WaitLimit };
        JsonElement metrics = default;
        var deadline = DateTime.UtcNow + E2E.WaitLimit;
        do
        {
            metrics = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics", TestContext.Current.CancellationToken)).RootElement;
        }
        while (Counter(metrics, "SINK.k1", "EventDrainSuccessCount") < lines.Length && DateTime.UtcNow < deadline && await DelayAsync());

        Assert.Equal(lines.Length, Counter(metrics, "SOURCE.r1", "EventReceivedCount"));
        Assert.Equal(lines.Length, Counter(metrics, "SOURCE.r1", "EventAcceptedCount"));
        Assert.Equal(lines.Length, Counter(metrics, "CHANNEL.c1", "EventPutSuccessCount"));
        Assert.Equal(lines.Length, Counter(metrics, "CHANNEL.c1", "EventTakeSuccessCount"));
        Assert.Equal(lines.Length, Counter(metrics, "SINK.k1", "EventDrainSuccessCount"));
        Assert.Equal(0, Counter(metrics, "CHANNEL.c1", "ChannelSize"));
        Assert.Equal(JsonValueKind.String, metrics.GetProperty("SOURCE.r1").GetProperty("EventAcceptedCount").ValueKind);
    }

    private static long Counter(JsonElement metrics, string component, string name) =>
        long.Parse(metrics.GetProperty(component).GetProperty(name).GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<bool> DelayAsync()
    {
        await Task.Delay(100, TestContext.Current.CancellationToken);
        return true;
    }
}
