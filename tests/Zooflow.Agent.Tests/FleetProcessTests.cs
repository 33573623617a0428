using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit;
using Zooflow.Agent.Configuration;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Registry;
using Zooflow.Agent.Tests.Infrastructure;
using Zooflow.Client;
using Zooflow.Recipes;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;
using AgentProcess = Zooflow.Agent.Tests.Infrastructure.AgentProcess;

namespace Zooflow.Agent.Tests;

/// <summary>
/// Issue 10's "Show": real agent processes (<c>zooflow agent -z</c>) on loopback, each test against Apache ZooKeeper 3.8
/// and against Zooflow, every test in its own chroot and temp dir, stopping only the processes it started (by PID).
/// </summary>
[Collection(AgentProcesses.Name)]
public sealed class FleetProcessTests(BackendPool pool)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal static string Flow(string agent, string output, string sourceExtra = "", string sinkExtra = "") => $"""
        {agent}.sources = r1
        {agent}.channels = c1
        {agent}.sinks = k1
        {agent}.sources.r1.type = seq
        {agent}.sources.r1.batchSize = 10
        {agent}.sources.r1.channels = c1
        {sourceExtra}
        {agent}.channels.c1.type = memory
        {agent}.channels.c1.capacity = 100000
        {agent}.channels.c1.transactionCapacity = 1000
        {agent}.sinks.k1.type = file_roll
        {agent}.sinks.k1.channel = c1
        {agent}.sinks.k1.sink.directory = {output}
        {agent}.sinks.k1.sink.rollInterval = 0
        {sinkExtra}
        """;

    internal static async Task PushAsync(string connect, string agent, string text)
    {
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await new ConfigStore(client).PushAsync(ZnodeLayout.Config(ZnodeLayout.DefaultBasePath, agent), text, null, null, 20, Token);
    }

    internal static async Task SetLimitsAsync(ZooKeeperClient client, string path, FlowLimits limits)
    {
        var data = Encoding.UTF8.GetBytes(limits.ToJson());
        await client.EnsurePathAsync(path[..path.LastIndexOf('/')], Token);
        if (await client.ExistsAsync(path, cancellationToken: Token) is null)
        {
            await client.CreateAsync(path, data, cancellationToken: Token);
        }
        else
        {
            await client.SetDataAsync(path, data, -1, Token);
        }
    }

    /// <summary>The numbers the seq source produced, as written by file_roll into <paramref name="directory"/>.</summary>
    internal static List<long> ReadNumbers(string directory) =>
        ReadLines(directory).Select(l => long.Parse(l, CultureInfo.InvariantCulture)).ToList();

    /// <summary>The event bodies file_roll wrote into <paramref name="directory"/> (complete lines only).</summary>
    internal static List<string> ReadLines(string directory)
    {
        var lines = new List<string>();
        if (!Directory.Exists(directory))
        {
            return lines;
        }
        foreach (var file in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var text = new StreamReader(stream).ReadToEnd();
            var end = text.LastIndexOf('\n');
            if (end > 0)
            {
                lines.AddRange(text[..end].Split('\n'));
            }
        }
        return lines;
    }

    [Theory]
    [MemberData(nameof(BackendPool.ProcessKinds), MemberType = typeof(BackendPool))]
    public async Task ConfigPushed_WhileDataFlows_AppliedLiveAndNothingLost(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        const int total = 2000;
        await using (var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token))
        {
            await SetLimitsAsync(client, ZnodeLayout.AgentLimits("a1"), new FlowLimits(new RateLimit(500, null), new Dictionary<string, RateLimit>()));
        }
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out1"), $"a1.sources.r1.totalEvents = {total}"));
        await using var agent = Cli.StartAgent(dir.Path, connect, "a1");
        await Cli.WaitUntilAsync(() => Task.FromResult(ReadNumbers(dir.Combine("out1")).Count >= 300), "events in out1", () => agent.Output);

        // v1 moves the sink to another directory: the sink restarts, the source and the channel (with its events) stay.
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out2"), $"a1.sources.r1.totalEvents = {total}"));
        await agent.WaitForOutputAsync("version 1 applied");
        await Cli.WaitUntilAsync(() => Task.FromResult(ReadNumbers(dir.Combine("out1")).Concat(ReadNumbers(dir.Combine("out2"))).Distinct().Count() >= total),
            "every event in out1 + out2", () => agent.Output);

        var first = ReadNumbers(dir.Combine("out1"));
        var second = ReadNumbers(dir.Combine("out2"));
        Assert.InRange(first.Count, 300, total - 1); // the change landed while data flowed
        Assert.NotEmpty(second);
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), first.Concat(second).Distinct().Order());
        Assert.InRange(first.Count + second.Count - total, 0, 100); // at most the sink's batch in flight, twice
        Assert.Contains("(1 channels, 0 sink runners, 1 sources unchanged)", agent.Process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BackendPool.ProcessKinds), MemberType = typeof(BackendPool))]
    public async Task InvalidConfigPushed_OldOneKeepsRunning_ErrorsInFleetJson(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await using (var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token))
        {
            await SetLimitsAsync(client, ZnodeLayout.AgentLimits("a1"), new FlowLimits(new RateLimit(200, null), new Dictionary<string, RateLimit>()));
        }
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out")));
        await using var agent = Cli.StartAgent(dir.Path, connect, "a1");
        await agent.WaitForOutputAsync("version 0 applied");

        var bad = Flow("a1", dir.Combine("out"))
            .Replace("a1.sources.r1.type = seq", "a1.sources.r1.type = nosuchsource", StringComparison.Ordinal)
            .Replace("capacity = 100000", "capacity = lots", StringComparison.Ordinal);
        await File.WriteAllTextAsync(dir.Combine("bad.conf"), bad, Token);
        var refused = await Cli.RunAsync(["config", "push", "-z", connect, "-n", "a1", dir.Combine("bad.conf")]);
        Assert.Equal(2, refused.ExitCode); // validated before writing: not pushed
        Assert.Contains("nosuchsource", refused.StandardError, StringComparison.Ordinal);
        var forced = await Cli.RunAsync(["config", "push", "-z", connect, "-n", "a1", "--force", dir.Combine("bad.conf")]);
        Assert.Equal(0, forced.ExitCode);
        await agent.WaitForOutputAsync("; version 0 keeps running");

        var before = ReadNumbers(dir.Combine("out")).Count;
        JsonElement entry = default;
        await Cli.WaitUntilAsync(async () =>
        {
            var fleet = await Cli.RunAsync(["fleet", "--json", "-z", connect]);
            Assert.Equal(0, fleet.ExitCode);
            entry = JsonDocument.Parse(fleet.StandardOutput).RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetString() == "a1");
            return entry.GetProperty("status").GetProperty("configError").ValueKind == JsonValueKind.Object;
        }, "the refused version in fleet --json", () => agent.Output);

        Assert.Equal("degraded", entry.GetProperty("health").GetString());
        var status = entry.GetProperty("status");
        Assert.Equal(0, status.GetProperty("config").GetProperty("version").GetInt32());
        Assert.Equal(1, status.GetProperty("configError").GetProperty("version").GetInt32());
        var errors = status.GetProperty("configError").GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.True(errors.Count >= 2, string.Join("\n", errors));
        Assert.Contains(errors, e => e.Contains("a1.sources.r1.type", StringComparison.Ordinal) && e.Contains("'nosuchsource'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.channels.c1.capacity", StringComparison.Ordinal) && e.Contains("'lots'", StringComparison.Ordinal));
        await Cli.WaitUntilAsync(() => Task.FromResult(ReadNumbers(dir.Combine("out")).Count > before + 100), "the old configuration to keep delivering", () => agent.Output);
    }

    [Theory]
    [MemberData(nameof(BackendPool.ProcessKinds), MemberType = typeof(BackendPool))]
    public async Task SingletonLeaderKilled_OtherAgentTakesOver_ResumesFromStoredProgress(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await SetLimitsAsync(client, ZnodeLayout.GroupLimits("g"), new FlowLimits(new RateLimit(400, null), new Dictionary<string, RateLimit>()));
        await PushAsync(connect, "worker", Flow("worker", "${OUT}", "worker.sources.r1.singleton = ticker"));
        var outputs = new Dictionary<string, string> { ["w1"] = dir.Combine("w1"), ["w2"] = dir.Combine("w2") };
        await using var w1 = Cli.StartAgent(dir.Path, connect, "worker", "w1", "g", environment: new Dictionary<string, string?> { ["OUT"] = outputs["w1"] });
        await using var w2 = Cli.StartAgent(dir.Path, connect, "worker", "w2", "g", environment: new Dictionary<string, string?> { ["OUT"] = outputs["w2"] });
        string Diagnostics() => w1.Output + "\n" + w2.Output;

        await Cli.WaitUntilAsync(() => Task.FromResult(outputs.Values.Any(o => ReadNumbers(o).Count >= 300)), "the leader's output", Diagnostics);
        var (leader, follower) = ReadNumbers(outputs["w1"]).Count >= 300 ? (w1, w2) : (w2, w1);
        Assert.Empty(ReadNumbers(outputs[follower.Id])); // exactly one agent runs it

        leader.Process.Kill(); // SIGKILL
        await leader.Process.WaitForExitAsync(Cli.WaitLimit, Token);
        var progress = Encoding.ASCII.GetString((await client.GetDataAsync(ZnodeLayout.Progress("g", "ticker"), cancellationToken: Token)).Data);
        var stored = long.Parse(progress["next=".Length..], CultureInfo.InvariantCulture);

        await Cli.WaitUntilAsync(() => Task.FromResult(ReadNumbers(outputs[follower.Id]).Count >= 100), "the follower to take over", Diagnostics);
        var before = ReadNumbers(outputs[leader.Id]);
        var after = ReadNumbers(outputs[follower.Id]);
        Assert.Equal(stored, after[0]); // resumed exactly where the last committed batch ended
        Assert.Equal(Enumerable.Range(0, before.Count).Select(i => (long)i), before); // the leader's output is gap-free
        Assert.Equal(Enumerable.Range((int)stored, after.Count).Select(i => (long)i), after);
        Assert.InRange(before.Count == 0 ? 0 : before[^1] - stored + 1, 0, 10); // at most one batch (10) of the leader repeated
        Assert.Contains("is leader; starting source r1", follower.Process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BackendPool.ProcessKinds), MemberType = typeof(BackendPool))]
    public async Task RateLimitChanged_ThroughputFollows(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await SetLimitsAsync(client, ZnodeLayout.AgentLimits("a1"), new FlowLimits(new RateLimit(100, null), new Dictionary<string, RateLimit>()));
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out")).Replace("type = file_roll", "type = null", StringComparison.Ordinal));
        await using var agent = Cli.StartAgent(dir.Path, connect, "a1");
        await agent.WaitForOutputAsync("Flow limits now {\"eventsPerSecond\":100}");

        var slow = await MeasureAsync(client, agent);
        var blocked = (await Cli.FleetEntryAsync(client, "default", "a1"))!.Status!.Components.Single(c => c.Name == "r1");
        await SetLimitsAsync(client, ZnodeLayout.AgentLimits("a1"), new FlowLimits(new RateLimit(1000, null), new Dictionary<string, RateLimit>()));
        await agent.WaitForOutputAsync("Flow limits now {\"eventsPerSecond\":1000}");
        var fast = await MeasureAsync(client, agent);

        // Generous bounds (a busy machine): the rate follows the limit, an order of magnitude apart.
        Assert.InRange(slow, 50, 140);
        Assert.InRange(fast, 500, 1400);
        Assert.Equal("blocked", blocked.State);
        Assert.Contains("flow limit", blocked.Detail, StringComparison.Ordinal);
    }

    /// <summary>Events per second the agent committed over ~3 s, from two registry statuses (their own timestamps).</summary>
    private static async Task<double> MeasureAsync(ZooKeeperClient client, AgentProcess agent)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // let the bucket's burst pass
        var first = (await Cli.FleetEntryAsync(client, "default", "a1"))!.Status!;
        Registry.AgentStatus second = first;
        await Cli.WaitUntilAsync(async () =>
        {
            second = (await Cli.FleetEntryAsync(client, "default", "a1"))!.Status!;
            return second.UpdateTime - first.UpdateTime >= 3000;
        }, "a status 3 s later", () => agent.Output);
        return (second.Metrics.EventsIn - first.Metrics.EventsIn) * 1000.0 / (second.UpdateTime - first.UpdateTime);
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task SessionExpired_AgentShownGoneThenRegistersAgain(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out"), "a1.sources.r1.totalEvents = 100"));
        await using var agent = Cli.StartAgent(dir.Path, connect, "a1", sessionTimeoutSeconds: 2);
        await Cli.WaitUntilAsync(async () => (await Cli.FleetEntryAsync(client, "default", "a1"))?.Health == "ok", "agent ok", () => agent.Output);

        Assert.True(agent.Process.Signal(ProcessRunner.SigStop)); // frozen: no pings, the server expires its session
        try
        {
            FleetEntry? seen = null;
            await Cli.WaitUntilAsync(async () => (seen = await Cli.FleetEntryAsync(client, "default", "a1"))?.Health == "gone", "the fleet to show it gone",
                () => $"fleet entry: {seen?.Health} {string.Join("; ", seen?.Reasons ?? [])} (pid {agent.Process.Pid}, state {File.ReadAllText($"/proc/{agent.Process.Pid}/stat").Split(' ')[2]})\n{agent.Output}");
            Assert.Null(await client.ExistsAsync(ZnodeLayout.AgentStatus("default", "a1"), cancellationToken: Token));
            var fleet = await Cli.RunAsync(["fleet", "--json", "-z", connect]);
            var entry = JsonDocument.Parse(fleet.StandardOutput).RootElement.EnumerateArray().Single();
            Assert.Equal("gone", entry.GetProperty("health").GetString());
            Assert.Matches(@"default\s+a1\s+gone", (await Cli.RunAsync(["fleet", "-z", connect])).StandardOutput);
        }
        finally
        {
            agent.Process.Signal(ProcessRunner.SigCont);
        }

        await Cli.WaitUntilAsync(async () => (await Cli.FleetEntryAsync(client, "default", "a1"))?.Health == "ok", "the agent to register again", () => agent.Output);
        var owner = (await client.ExistsAsync(ZnodeLayout.AgentStatus("default", "a1"), cancellationToken: Token))!.Value.EphemeralOwner;
        Assert.NotEqual(0, owner);
        Assert.Contains("session #2", agent.Process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task ConfigCli_PushPullDiffHistoryRollback_WithDigestAcl(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        var auth = new Dictionary<string, string?> { ["ZOOFLOW_AUTH"] = "digest:ops:s3cret" };
        var v0 = Flow("a1", dir.Combine("out"));
        var v1 = v0.Replace("batchSize = 10", "batchSize = 20", StringComparison.Ordinal);
        await File.WriteAllTextAsync(dir.Combine("v0.conf"), v0, Token);
        await File.WriteAllTextAsync(dir.Combine("v1.conf"), v1, Token);

        var push0 = await Cli.RunAsync(["config", "push", "-z", connect, "-n", "a1", "--acl-digest", "ops:s3cret", dir.Combine("v0.conf")], environment: auth);
        Assert.True(push0.ExitCode == 0, push0.ToString());
        Assert.Contains("version 0", push0.StandardOutput, StringComparison.Ordinal);
        var push1 = await Cli.RunAsync(["config", "push", "-z", connect, "-n", "a1", "--expect-version", "0", dir.Combine("v1.conf")], environment: auth);
        Assert.True(push1.ExitCode == 0, push1.ToString());
        var stale = await Cli.RunAsync(["config", "push", "-z", connect, "-n", "a1", "--expect-version", "0", dir.Combine("v0.conf")], environment: auth);
        Assert.Equal(3, stale.ExitCode);
        Assert.Contains("expected data version 0, found 1", stale.StandardError, StringComparison.Ordinal);

        var pull = await Cli.RunAsync(["config", "pull", "-z", connect, "-n", "a1"], environment: auth);
        Assert.Equal(v1, pull.StandardOutput);
        Assert.Contains("version 1", pull.StandardError, StringComparison.Ordinal);
        var noAuth = await Cli.RunAsync(["config", "pull", "-z", connect, "-n", "a1"]);
        Assert.Equal(1, noAuth.ExitCode);
        Assert.Contains("NoAuth", noAuth.StandardError, StringComparison.Ordinal);
        Assert.Contains("/flume/a1", noAuth.StandardError, StringComparison.Ordinal);

        var diff = await Cli.RunAsync(["config", "diff", "-z", connect, "-n", "a1", "--from", "0", "--to", "1"], environment: auth);
        Assert.Equal(1, diff.ExitCode);
        Assert.Contains("-a1.sources.r1.batchSize = 10", diff.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("+a1.sources.r1.batchSize = 20", diff.StandardOutput, StringComparison.Ordinal);
        var same = await Cli.RunAsync(["config", "diff", "-z", connect, "-n", "a1", dir.Combine("v1.conf")], environment: auth);
        Assert.Equal(0, same.ExitCode);

        var rollback = await Cli.RunAsync(["config", "rollback", "-z", connect, "-n", "a1", "--to", "0"], environment: auth);
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        var history = await Cli.RunAsync(["config", "history", "-z", connect, "-n", "a1"], environment: auth);
        Assert.Matches(@"\*\s+2\s", history.StandardOutput);
        Assert.Equal(3, history.StandardOutput.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[ *]\s+\d+\s")));
        Assert.Equal(v0, (await Cli.RunAsync(["config", "pull", "-z", connect, "-n", "a1"], environment: auth)).StandardOutput);

        // An agent without the credentials stops with an error naming the znode; with them it runs.
        var refused = await Cli.RunAsync(["agent", "-n", "a1", "-z", connect, "--session-timeout", "4"], workingDirectory: dir.Path);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("cannot read configuration znode /flume/a1", refused.StandardError, StringComparison.Ordinal);
        await using var agent = Cli.StartAgent(dir.Path, connect, "a1", environment: auth);
        await agent.WaitForOutputAsync("version 2 applied");
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task AgentNoReloadConf_LaterPushIgnored_WhileAnotherAgentAppliesIt(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out")).Replace("type = file_roll", "type = null", StringComparison.Ordinal));
        await using var once = Cli.StartAgent(dir.Path, connect, "a1", "once", extraArgs: ["--no-reload-conf"]);
        await using var follows = Cli.StartAgent(dir.Path, connect, "a1", "follows");
        await once.WaitForOutputAsync("version 0 applied");
        await follows.WaitForOutputAsync("version 0 applied");
        Assert.Contains("(read once: --no-reload-conf)", once.Process.StandardOutput, StringComparison.Ordinal);

        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out")).Replace("type = file_roll", "type = null", StringComparison.Ordinal)
            .Replace("batchSize = 10", "batchSize = 20", StringComparison.Ordinal));
        // The agent that follows the znode applies version 1; by then the other has had the same chance and declined.
        await follows.WaitForOutputAsync("version 1 applied");
        await Cli.WaitUntilAsync(async () => (await Cli.FleetEntryAsync(client, "default", "follows"))?.Status?.Config.Version == 1,
            "the follower's registry entry at version 1", () => follows.Output);

        Assert.DoesNotContain("version 1", once.Process.StandardOutput, StringComparison.Ordinal);
        Assert.False(once.Process.HasExited, once.Output);
        AgentStatus? status = null;
        await Cli.WaitUntilAsync(async () => (status = (await Cli.FleetEntryAsync(client, "default", "once"))?.Status) is not null, "the status of 'once'", () => once.Output);
        Assert.Equal(0, status!.Config.Version);
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task FleetWatch_AgentComesThenIsKilled_RedrawnOkThenGone(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        using var dir = new TempDir("zooflow-agent");
        await PushAsync(connect, "a1", Flow("a1", dir.Combine("out")).Replace("type = file_roll", "type = null", StringComparison.Ordinal));
        Cli.RequireBuilt();
        await using var watch = ProcessRunner.Start("dotnet", [TestServer.ZooflowCli, "fleet", "--watch", "-z", connect], dir.Path);
        string LastFrame() => watch.StandardOutput.Split("--- ", StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        await Cli.WaitUntilAsync(() => Task.FromResult(watch.StandardOutput.Contains("--- ", StringComparison.Ordinal)), "the first frame",
            () => watch.StandardOutput + watch.StandardError);
        Assert.DoesNotContain("a1", LastFrame(), StringComparison.Ordinal);

        await using var agent = Cli.StartAgent(dir.Path, connect, "a1", sessionTimeoutSeconds: 2);
        await Cli.WaitUntilAsync(() => Task.FromResult(System.Text.RegularExpressions.Regex.IsMatch(LastFrame(), @"default\s+a1\s+ok")), "a1 ok in the watch",
            () => watch.StandardOutput + agent.Output);
        agent.Process.Kill(); // SIGKILL: the registration goes when the session expires
        await agent.Process.WaitForExitAsync(Cli.WaitLimit, Token);
        await Cli.WaitUntilAsync(() => Task.FromResult(System.Text.RegularExpressions.Regex.IsMatch(LastFrame(), @"default\s+a1\s+gone")), "a1 gone in the watch",
            () => watch.StandardOutput);

        Assert.True(watch.Signal(ProcessRunner.SigTerm));
        var result = await watch.WaitForExitAsync(Cli.WaitLimit, Token);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Quickstart_ExitWhenReady_TwoAgentsOkFromTheService()
    {
        using var dir = new TempDir("zooflow-quickstart");
        var agentPort = FreePort.NextPair(); // qs-1 listens on agentPort, qs-2 on agentPort + 1
        var port = FreePort.Next();
        while (port == agentPort || port == agentPort + 1)
        {
            port = FreePort.Next();
        }
        var result = await Cli.RunAsync(["quickstart", "--port", port.ToString(CultureInfo.InvariantCulture), "--agent-port", agentPort.ToString(CultureInfo.InvariantCulture),
            "--dir", dir.Path, "--exit-when-ready"], workingDirectory: dir.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("pushed the sample configuration to /flume/quickstart (version 0)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"quickstart\s+qs-1\s+ok\s+v0", result.StandardOutput);
        Assert.Matches(@"quickstart\s+qs-2\s+ok\s+v0", result.StandardOutput);
        Assert.Contains("agent qs-1 stopped (exit code 0", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("agent qs-2 stopped (exit code 0", result.StandardOutput, StringComparison.Ordinal);
    }
}
