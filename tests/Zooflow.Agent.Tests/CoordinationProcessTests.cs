using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Tests.Infrastructure;
using Zooflow.Client;
using Zooflow.TestKit;
using AgentProcess = Zooflow.Agent.Tests.Infrastructure.AgentProcess;

namespace Zooflow.Agent.Tests;

/// <summary>
/// Issue 10 phase B with real agent processes on loopback, each against Apache ZooKeeper 3.8 and against Zooflow:
/// discovery and failover (<c>register</c>/<c>discovery</c>), a singleton spooldir resumed by another agent, and a
/// spooling directory partitioned among agents. Every kill is a SIGKILL of a process the test started.
/// </summary>
/// <remarks>
/// An agent killed with events in its memory channel loses them, as a Flume agent with a memory channel does. To count
/// every event end to end with memory channels, a victim is first quiesced (<see cref="QuiesceAsync"/>): its sources are
/// held in the flow limiter — a batch it received or read is then neither in its channel nor acknowledged — until its
/// channels are empty, and then killed mid-stream. The durable variant gives the collectors a file channel and kills one
/// at a random point instead.
/// </remarks>
[Collection(AgentProcesses.Name)]
public sealed class CoordinationProcessTests(BackendPool pool)
{
    private const string OutVariable = "${OUT}";
    private const string SpoolVariable = "${SPOOL}";
    private const string StateVariable = "${STATE}";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static FlowLimits EventsPerSecond(double rate) => new(new RateLimit(rate, null), new Dictionary<string, RateLimit>());

    private static List<string> ReadLines(string directory) => FleetProcessTests.ReadLines(directory);

    /// <summary>Holds every source of <paramref name="agent"/> in the flow limiter and waits until two statuses a full
    /// interval apart show no new event and empty channels: from then on the agent holds nothing it acknowledged.</summary>
    private static async Task QuiesceAsync(ZooKeeperClient client, AgentProcess agent, string group, Func<string> diagnostics)
    {
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.AgentLimits(agent.Id), EventsPerSecond(0.001));
        await agent.WaitForOutputAsync("\"eventsPerSecond\":0.001");
        Registry.AgentStatus? previous = null;
        await Cli.WaitUntilAsync(async () =>
        {
            var status = (await Cli.FleetEntryAsync(client, group, agent.Id))?.Status;
            if (status is null || (previous is not null && status.UpdateTime == previous.UpdateTime))
            {
                return false;
            }
            var quiet = previous is not null && status.Metrics.EventsIn == previous.Metrics.EventsIn
                && status.UpdateTime - previous.UpdateTime >= 900 && status.Channels.All(c => c.Size == 0);
            previous = status;
            return quiet;
        }, $"agent {agent.Id} to hold its sources and empty its channels", diagnostics);
    }

    private static string Collector(string agent) => $"""
        {agent}.sources = r1
        {agent}.channels = c1
        {agent}.sinks = k1
        {agent}.sources.r1.type = avro
        {agent}.sources.r1.bind = 127.0.0.1
        {agent}.sources.r1.port = 0
        {agent}.sources.r1.register = collectors
        {agent}.sources.r1.channels = c1
        {agent}.channels.c1.type = memory
        {agent}.channels.c1.capacity = 100000
        {agent}.channels.c1.transactionCapacity = 1000
        {agent}.sinks.k1.type = file_roll
        {agent}.sinks.k1.channel = c1
        {agent}.sinks.k1.sink.directory = {OutVariable}
        {agent}.sinks.k1.sink.rollInterval = 0
        """;

    private static string Sender(string agent, int total) => $"""
        {agent}.sources = r1
        {agent}.channels = c1
        {agent}.sinks = k1
        {agent}.sources.r1.type = seq
        {agent}.sources.r1.batchSize = 10
        {agent}.sources.r1.totalEvents = {total}
        {agent}.sources.r1.channels = c1
        {agent}.channels.c1.type = memory
        {agent}.channels.c1.capacity = 100000
        {agent}.channels.c1.transactionCapacity = 1000
        {agent}.sinks.k1.type = avro
        {agent}.sinks.k1.channel = c1
        {agent}.sinks.k1.discovery = collectors
        {agent}.sinks.k1.batch-size = 50
        """;

    private static async Task<int> InstancesAsync(ZooKeeperClient client, string service)
    {
        try
        {
            return (await client.GetChildrenAsync(ZnodeLayout.Service(service), cancellationToken: Token)).Count;
        }
        catch (KeeperException ex) when (ex.Code == Jute.ErrorCode.NoNode)
        {
            return 0;
        }
    }

    [Theory]
    [MemberData(nameof(BackendPool.ProcessKinds), MemberType = typeof(BackendPool))]
    public async Task CollectorKilled_SenderFailsOverToTheOtherInstance_NoEventLost(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-discovery");
        const int total = 4000;
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.AgentLimits("s1"), EventsPerSecond(500));
        await FleetProcessTests.PushAsync(connect, "collector", Collector("collector"));
        await FleetProcessTests.PushAsync(connect, "sender", Sender("sender", total));
        var outputs = new Dictionary<string, string> { ["c1"] = dir.Combine("c1"), ["c2"] = dir.Combine("c2") };
        await using var c1 = Cli.StartAgent(dir.Path, connect, "collector", "c1", environment: new Dictionary<string, string?> { ["OUT"] = outputs["c1"] });
        await using var c2 = Cli.StartAgent(dir.Path, connect, "collector", "c2", environment: new Dictionary<string, string?> { ["OUT"] = outputs["c2"] });
        await Cli.WaitUntilAsync(async () => await InstancesAsync(client, "collectors") == 2, "both collectors registered", () => c1.Output + c2.Output);
        await using var sender = Cli.StartAgent(dir.Path, connect, "sender", "s1");
        string Diagnostics() => c1.Output + "\n" + c2.Output + "\n" + sender.Output;
        List<long> All() => FleetProcessTests.ReadNumbers(outputs["c1"]).Concat(FleetProcessTests.ReadNumbers(outputs["c2"])).ToList();

        // Round robin: both collectors receive batches.
        await Cli.WaitUntilAsync(() => Task.FromResult(outputs.Values.All(o => FleetProcessTests.ReadNumbers(o).Count >= 200)), "events at both collectors", Diagnostics);
        await QuiesceAsync(client, c1, "default", Diagnostics);
        var atC1 = FleetProcessTests.ReadNumbers(outputs["c1"]).Count;
        Assert.InRange(All().Distinct().Count(), 400, total - 500); // mid-stream
        var killed = Stopwatch.StartNew();
        c1.Process.Kill(); // SIGKILL, with a batch from the sender held unacknowledged
        await c1.Process.WaitForExitAsync(Cli.WaitLimit, Token);

        await sender.WaitForOutputAsync("Service collectors: 1 live instance(s)");
        var membershipFollowed = killed.Elapsed;
        await Cli.WaitUntilAsync(() => Task.FromResult(All().Distinct().Count() >= total), "every event at the collectors", Diagnostics);

        var all = All();
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), all.Distinct().Order());
        Assert.InRange(all.Count - total, 0, 50); // at most one batch twice
        Assert.Equal(atC1, FleetProcessTests.ReadNumbers(outputs["c1"]).Count);
        Assert.Matches(@"Discovery collectors: 127\.0\.0\.1:\d+ failed", sender.Process.StandardOutput); // the held batch failed over
        // The dead collector's registration went with its session (4 s); the sender followed within one session timeout
        // after that (generous bound for a busy machine).
        Assert.True(membershipFollowed < TimeSpan.FromSeconds(15), $"membership change seen after {membershipFollowed}");
        Assert.Equal(1, await InstancesAsync(client, "collectors"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{kind}: {all.Count - total} repeated, c1 wrote {atC1} before the kill, sender saw 1 instance after {membershipFollowed.TotalSeconds:0.0} s");
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task DurableCollectorKilledMidStream_SenderFailsOver_NoEventLostOnceItRestarts(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-discovery-durable");
        const int total = 3000;
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.AgentLimits("s1"), EventsPerSecond(500));
        // Collectors with a file channel: what a collector acknowledged survives its SIGKILL (in ${STATE}).
        var collector = Collector("collector").Replace("collector.channels.c1.type = memory", $"""
            collector.channels.c1.type = file
            collector.channels.c1.checkpointDir = {StateVariable}/checkpoint
            collector.channels.c1.dataDirs = {StateVariable}/data
            """, StringComparison.Ordinal);
        await FleetProcessTests.PushAsync(connect, "collector", collector);
        await FleetProcessTests.PushAsync(connect, "sender", Sender("sender", total));
        Dictionary<string, string?> Environment(string id) => new() { ["OUT"] = dir.Combine("out-" + id), ["STATE"] = dir.Combine("state-" + id) };
        await using var c1 = Cli.StartAgent(dir.Path, connect, "collector", "c1", environment: Environment("c1"));
        await using var c2 = Cli.StartAgent(dir.Path, connect, "collector", "c2", environment: Environment("c2"));
        AgentProcess? restarted = null;
        await Cli.WaitUntilAsync(async () => await InstancesAsync(client, "collectors") == 2, "both collectors registered", () => c1.Output + c2.Output);
        await using var sender = Cli.StartAgent(dir.Path, connect, "sender", "s1");
        string Diagnostics() => c1.Output + "\n" + c2.Output + "\n" + sender.Output + "\n" + restarted?.Output;
        List<long> All() => FleetProcessTests.ReadNumbers(dir.Combine("out-c1")).Concat(FleetProcessTests.ReadNumbers(dir.Combine("out-c2"))).ToList();
        await Cli.WaitUntilAsync(() => Task.FromResult(FleetProcessTests.ReadNumbers(dir.Combine("out-c1")).Count >= 300 && FleetProcessTests.ReadNumbers(dir.Combine("out-c2")).Count >= 300),
            "events at both collectors", Diagnostics);

        c1.Process.Kill(); // SIGKILL mid-stream: no quiescing, batches in its channel and on the wire
        await c1.Process.WaitForExitAsync(Cli.WaitLimit, Token);
        var delivered = All().Distinct().Count();
        Assert.InRange(delivered, 600, total - 300); // mid-stream
        await sender.WaitForOutputAsync("Service collectors: 1 live instance(s)");
        // The sender finishes its stream on c2 alone: everything it produced left its channel, acknowledged.
        await Cli.WaitUntilAsync(async () => (await Cli.FleetEntryAsync(client, "default", "s1"))?.Status is { } s
            && s.Metrics.EventsIn == total && s.Channels.All(c => c.Size == 0), "the sender to hand every event to a collector", Diagnostics);

        // The killed collector comes back with its file channel and delivers what it had acknowledged.
        var atC1BeforeRestart = FleetProcessTests.ReadNumbers(dir.Combine("out-c1")).Count;
        await using var again = restarted = Cli.StartAgent(dir.Path, connect, "collector", "c1", environment: Environment("c1"));
        await Cli.WaitUntilAsync(() => Task.FromResult(All().Distinct().Count() >= total), "every event at the collectors", Diagnostics);

        var all = All();
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), all.Distinct().Order());
        // At least once: the sender's batch in flight at the kill (50) and the collector sink's batch written but not
        // committed (100) may be delivered twice.
        Assert.InRange(all.Count - total, 0, 150);
        TestContext.Current.TestOutputHelper?.WriteLine($"{kind}: {delivered} delivered at the kill, {FleetProcessTests.ReadNumbers(dir.Combine("out-c1")).Count - atC1BeforeRestart} from c1's file channel after its restart, {all.Count - total} repeated");
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task FailoverSinkGroup_DiscoverySinkWithoutOrLosingInstances_BackupSinkTakesTheEvents(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-discovery-group");
        const int total = 3000;
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.AgentLimits("s1"), EventsPerSecond(300));
        await FleetProcessTests.PushAsync(connect, "collector", Collector("collector"));
        var sender = Sender("sender", total).Replace("sender.sinks = k1", "sender.sinks = k1 k2", StringComparison.Ordinal) + $"""

            sender.sinks.k2.type = file_roll
            sender.sinks.k2.channel = c1
            sender.sinks.k2.sink.directory = {dir.Combine("backup")}
            sender.sinks.k2.sink.rollInterval = 0
            sender.sinkgroups = g1
            sender.sinkgroups.g1.sinks = k1 k2
            sender.sinkgroups.g1.processor.type = failover
            sender.sinkgroups.g1.processor.priority.k1 = 10
            sender.sinkgroups.g1.processor.priority.k2 = 5
            sender.sinkgroups.g1.processor.maxpenalty = 2000
            """;
        await FleetProcessTests.PushAsync(connect, "sender", sender);
        await using var s1 = Cli.StartAgent(dir.Path, connect, "sender", "s1");
        List<long> Backup() => FleetProcessTests.ReadNumbers(dir.Combine("backup"));
        List<long> Collected() => FleetProcessTests.ReadNumbers(dir.Combine("c1"));

        // No collector registered: the discovery sink fails its batches without taking events; the backup gets them.
        await Cli.WaitUntilAsync(() => Task.FromResult(Backup().Count >= 300), "events at the backup sink", () => s1.Output);
        await using var c1 = Cli.StartAgent(dir.Path, connect, "collector", "c1", environment: new Dictionary<string, string?> { ["OUT"] = dir.Combine("c1") });
        string Diagnostics() => s1.Output + "\n" + c1.Output;
        await Cli.WaitUntilAsync(() => Task.FromResult(Collected().Count >= 300), "the discovery sink back in use once a collector registered", Diagnostics);
        var backupWhileCollecting = Backup().Count;

        await QuiesceAsync(client, c1, "default", Diagnostics);
        c1.Process.Kill(); // SIGKILL
        await c1.Process.WaitForExitAsync(Cli.WaitLimit, Token);
        await Cli.WaitUntilAsync(() => Task.FromResult(Backup().Concat(Collected()).Distinct().Count() >= total), "every event at the collector or the backup", Diagnostics);

        var all = Backup().Concat(Collected()).ToList();
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), all.Distinct().Order());
        Assert.InRange(all.Count - total, 0, 50); // at most one batch twice
        Assert.True(Backup().Count > backupWhileCollecting, "the backup took over after the kill");
        Assert.Contains("no live instance of service 'collectors'", s1.Process.StandardOutput + s1.Process.StandardError, StringComparison.Ordinal);
    }

    private static string Spooler(string agent, string extra) => $"""
        {agent}.sources = r1
        {agent}.channels = c1
        {agent}.sinks = k1
        {agent}.sources.r1.type = spooldir
        {agent}.sources.r1.spoolDir = {SpoolVariable}
        {agent}.sources.r1.batchSize = 10
        {agent}.sources.r1.pollDelay = 100
        {agent}.sources.r1.channels = c1
        {extra}
        {agent}.channels.c1.type = memory
        {agent}.channels.c1.capacity = 100000
        {agent}.channels.c1.transactionCapacity = 1000
        {agent}.sinks.k1.type = file_roll
        {agent}.sinks.k1.channel = c1
        {agent}.sinks.k1.sink.directory = {OutVariable}
        {agent}.sinks.k1.sink.rollInterval = 0
        """;

    /// <summary>Writes <paramref name="files"/> files of <paramref name="lines"/> numbered lines into the spooling
    /// directory, each under a dot name first and then renamed (a spooled file must be complete when it appears).</summary>
    private static async Task<List<string>> SpoolFilesAsync(string spool, int files, int lines)
    {
        var expected = new List<string>();
        for (var f = 0; f < files; f++)
        {
            var text = new StringBuilder();
            for (var l = 0; l < lines; l++)
            {
                var line = string.Create(CultureInfo.InvariantCulture, $"f{f:D3}-{l:D5}");
                text.Append(line).Append('\n');
                expected.Add(line);
            }
            var hidden = Path.Combine(spool, $".f{f:D3}.log");
            await File.WriteAllTextAsync(hidden, text.ToString(), Token);
            File.Move(hidden, Path.Combine(spool, $"f{f:D3}.log"));
        }
        return expected;
    }

    private static AgentProcess StartSpooler(TempDir dir, string connect, string agent, string id, string group, string spool) =>
        Cli.StartAgent(dir.Path, connect, agent, id, group, environment: new Dictionary<string, string?> { ["OUT"] = dir.Combine("out-" + id), ["SPOOL"] = spool });

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task SingletonSpoolLeaderKilled_OtherAgentResumesStoredProgress_EveryLineDelivered(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-singleton-spool");
        var spool = dir.Combine("spool");
        Directory.CreateDirectory(spool);
        var expected = await SpoolFilesAsync(spool, 4, 500);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.GroupLimits("g"), EventsPerSecond(800));
        await FleetProcessTests.PushAsync(connect, "spooler", Spooler("spooler", "spooler.sources.r1.singleton = spool"));
        await using var w1 = StartSpooler(dir, connect, "spooler", "w1", "g", spool);
        await using var w2 = StartSpooler(dir, connect, "spooler", "w2", "g", spool);
        string Diagnostics() => w1.Output + "\n" + w2.Output;
        List<string> All() => ReadLines(dir.Combine("out-w1")).Concat(ReadLines(dir.Combine("out-w2"))).ToList();

        await Cli.WaitUntilAsync(() => Task.FromResult(All().Count >= 300), "the leader's output", Diagnostics);
        var (leader, follower) = ReadLines(dir.Combine("out-w1")).Count > 0 ? (w1, w2) : (w2, w1);
        Assert.Empty(ReadLines(dir.Combine("out-" + follower.Id))); // exactly one agent reads
        await QuiesceAsync(client, leader, "g", Diagnostics);
        var byLeader = ReadLines(dir.Combine("out-" + leader.Id));
        Assert.InRange(byLeader.Count, 300, expected.Count - 200); // mid-stream
        var progress = Encoding.UTF8.GetString((await client.GetDataAsync(ZnodeLayout.Progress("g", "spool"), cancellationToken: Token)).Data);
        Assert.StartsWith("zooflow-spool 1\n", progress, StringComparison.Ordinal);
        leader.Process.Kill(); // SIGKILL
        await leader.Process.WaitForExitAsync(Cli.WaitLimit, Token);

        await Cli.WaitUntilAsync(() => Task.FromResult(All().Distinct().Count() >= expected.Count), "every line delivered", Diagnostics);
        var all = All();
        Assert.Equal(expected, all.Distinct().Order(StringComparer.Ordinal));
        Assert.InRange(all.Count - expected.Count, 0, 10); // at most one batch (10) twice
        var byFollower = ReadLines(dir.Combine("out-" + follower.Id));
        Assert.DoesNotContain(byFollower[0], byLeader.SkipLast(10)); // resumed, not restarted
        if (progress.Contains("\ncurrent ", StringComparison.Ordinal))
        {
            // The leader was held after its first batch of a file (else it was held before any batch of the next one).
            Assert.Contains("; resuming " + spool, follower.Process.StandardOutput, StringComparison.Ordinal);
        }
        Assert.Empty(Directory.GetFiles(spool, "*.log")); // every file renamed .COMPLETED
        TestContext.Current.TestOutputHelper?.WriteLine($"{kind}: leader {leader.Id} wrote {byLeader.Count}, follower first line {byFollower[0]}, {all.Count - expected.Count} repeated; stored progress: {progress.Replace('\n', '|')}");
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task PartitionedSpool_ThreeAgentsOneKilled_EachFileReadByOneAndTakenOver(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-partition");
        var spool = dir.Combine("spool");
        Directory.CreateDirectory(spool);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await FleetProcessTests.SetLimitsAsync(client, ZnodeLayout.GroupLimits("g"), EventsPerSecond(1500));
        await FleetProcessTests.PushAsync(connect, "spooler", Spooler("spooler", "spooler.sources.r1.partition = shared"));
        var agents = new[] { "p1", "p2", "p3" }.Select(id => StartSpooler(dir, connect, "spooler", id, "g", spool)).ToList();
        await using var disposeAll = new AsyncDisposables(agents);
        string Diagnostics() => string.Join("\n", agents.Select(a => a.Output));
        List<string> All() => agents.SelectMany(a => ReadLines(dir.Combine("out-" + a.Id))).ToList();
        await Cli.WaitUntilAsync(async () =>
        {
            foreach (var agent in agents)
            {
                if ((await Cli.FleetEntryAsync(client, "g", agent.Id))?.Status?.Limits.LiveMembers != 3)
                {
                    return false;
                }
            }
            return true;
        }, "three agents sharing the group's limit", Diagnostics);

        var expected = await SpoolFilesAsync(spool, 30, 200);
        var claims = ZnodeLayout.Spool("g", "shared") + "/claims";
        AgentProcess? victim = null;
        await Cli.WaitUntilAsync(async () =>
        {
            foreach (var agent in agents)
            {
                if (ReadLines(dir.Combine("out-" + agent.Id)).Count < 20)
                {
                    continue;
                }
                foreach (var claim in await client.GetChildrenAsync(claims, cancellationToken: Token))
                {
                    var data = Encoding.UTF8.GetString((await client.GetDataAsync(claims + "/" + claim, cancellationToken: Token)).Data);
                    if (data.StartsWith(agent.Id + " ", StringComparison.Ordinal))
                    {
                        victim = agent;
                        return true;
                    }
                }
            }
            return false;
        }, "an agent reading a file", Diagnostics);
        await QuiesceAsync(client, victim!, "g", Diagnostics);
        var held = new List<string>();
        foreach (var claim in await client.GetChildrenAsync(claims, cancellationToken: Token))
        {
            if (Encoding.UTF8.GetString((await client.GetDataAsync(claims + "/" + claim, cancellationToken: Token)).Data).StartsWith(victim!.Id + " ", StringComparison.Ordinal))
            {
                held.Add(ZnodeLayout.DecodeFileName(claim));
            }
        }
        Assert.Single(held); // held by the limiter inside a claimed file
        var progressed = await client.ExistsAsync(ZnodeLayout.Spool("g", "shared") + "/progress/" + ZnodeLayout.EncodeFileName(held[0]), cancellationToken: Token) is not null;
        victim!.Process.Kill(); // SIGKILL
        await victim.Process.WaitForExitAsync(Cli.WaitLimit, Token);

        await Cli.WaitUntilAsync(() => Task.FromResult(All().Distinct().Count() >= expected.Count), "every line delivered", Diagnostics, TimeSpan.FromSeconds(60));
        var all = All();
        Assert.Equal(expected, all.Distinct().Order(StringComparer.Ordinal));
        Assert.InRange(all.Count - expected.Count, 0, 10); // at most one batch (10) twice
        var survivors = agents.Where(a => a != victim).ToList();
        Assert.All(agents, a => Assert.NotEmpty(ReadLines(dir.Combine("out-" + a.Id)))); // the files were divided
        var fileOf = (string line) => line[..4];
        // Every file's lines came from one agent, except the file taken over from the victim.
        foreach (var file in expected.Select(fileOf).Distinct())
        {
            var readers = agents.Where(a => ReadLines(dir.Combine("out-" + a.Id)).Any(l => fileOf(l) == file)).ToList();
            Assert.True(readers.Count == 1 || file + ".log" == held[0], $"{file} read by {string.Join(", ", readers.Select(r => r.Id))}");
        }
        if (progressed)
        {
            // Past its first batch: the survivor continued at the stored position instead of the start.
            Assert.Contains(survivors, a => a.Process.StandardOutput.Contains("continuing " + held[0], StringComparison.Ordinal));
        }
        Assert.Empty(Directory.GetFiles(spool, "*.log"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{kind}: victim {victim.Id} held {held[0]} (progress stored: {progressed}); lines per agent: "
            + string.Join(", ", agents.Select(a => $"{a.Id}={ReadLines(dir.Combine("out-" + a.Id)).Count}")) + $"; {all.Count - expected.Count} repeated");
    }

    /// <summary>Disposes every agent process of a test.</summary>
    private sealed class AsyncDisposables(IEnumerable<IAsyncDisposable> items) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var item in items)
            {
                await item.DisposeAsync();
            }
        }
    }
}
