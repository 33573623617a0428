using System.Globalization;
using System.Text.Json;
using Xunit;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Tests.Infrastructure;
using Zooflow.Client;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;
using AgentProcess = Zooflow.Agent.Tests.Infrastructure.AgentProcess;

namespace Zooflow.Agent.Tests;

/// <summary>
/// Issue 10's Show, member faults: agent processes against a three-member Zooflow ensemble and a three-member Apache
/// ZooKeeper 3.8 ensemble, with a connect string naming every member. A member is cut away from the quorum (TestKit's
/// fault proxies), a member is frozen (SIGSTOP), and an agent is frozen past its session timeout; the agents keep their
/// sessions (or, the frozen agent, come back with a new one), the fleet view follows, and their data keeps flowing.
/// </summary>
/// <remarks>
/// Which member an agent talks to: the client shuffles the connect string once, so the test asks every member's
/// <c>cons</c> (four-letter word, both servers) for the <c>sid=0x...</c> that owns the agent's registry ephemeral, and
/// cuts (or freezes) that member. That is the member the agent really uses, whatever the shuffle picked, leader or
/// follower; the test's output line names it.
/// </remarks>
[Collection(AgentProcesses.Name)]
public sealed class EnsembleProcessTests(BackendPool pool)
{
    private const string Group = "g";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(BackendPool.EnsembleKinds), MemberType = typeof(BackendPool))]
    public async Task ServiceMemberCutThenFrozen_AgentsReconnectKeepingSessions_FrozenAgentExpiresThenRegistersAgain(BackendKind kind)
    {
        var (backend, connect) = await pool.NewRootAsync(kind);
        var ensemble = ((EnsembleBackend)backend).Ensemble;
        var chroot = connect[connect.IndexOf('/', StringComparison.Ordinal)..];
        using var dir = new TempDir("zooflow-agent-ensemble");
        await using (var setup = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token))
        {
            await FleetProcessTests.SetLimitsAsync(setup, ZnodeLayout.GroupLimits(Group), new FlowLimits(new RateLimit(300, null), new Dictionary<string, RateLimit>()));
        }
        await FleetProcessTests.PushAsync(connect, "worker", FleetProcessTests.Flow("worker", "${OUT}"));
        var outputs = new Dictionary<string, string> { ["w1"] = dir.Combine("w1"), ["w2"] = dir.Combine("w2") };
        await using var w1 = Cli.StartAgent(dir.Path, connect, "worker", "w1", Group, environment: new Dictionary<string, string?> { ["OUT"] = outputs["w1"] });
        await using var w2 = Cli.StartAgent(dir.Path, connect, "worker", "w2", Group, environment: new Dictionary<string, string?> { ["OUT"] = outputs["w2"] });
        AgentProcess[] agents = [w1, w2];
        string Diagnostics() => string.Join("\n", agents.Select(a => a.Output)) + "\n" + backend.Output;
        int Count(AgentProcess agent) => FleetProcessTests.ReadNumbers(outputs[agent.Id]).Count;

        foreach (var agent in agents)
        {
            await Cli.WaitUntilAsync(async () => Live(await FleetEntryHealthAsync(connect, agent.Id)), $"{agent.Id} registered", Diagnostics);
        }
        var sessions = new Dictionary<string, long>();
        foreach (var agent in agents)
        {
            sessions[agent.Id] = await OwnerAsync(connect, agent.Id);
        }

        // 1. Cut the member w1 talks to away from the other two. It stops serving (a follower after syncLimit ticks, a
        // leader once it loses its quorum) and drops its clients; they move to a member of the majority with the same
        // session, well within the 4 s timeout, so the registry ephemerals stay.
        var target = await MemberOfAsync(ensemble, sessions["w1"]) ?? throw new InvalidOperationException($"no member lists w1's session\n{Diagnostics()}");
        var onTarget = new List<AgentProcess>();
        foreach (var agent in agents)
        {
            if (await MemberOfAsync(ensemble, sessions[agent.Id]) == target)
            {
                onTarget.Add(agent);
            }
        }
        var majority = ensemble.MemberIds.Where(id => id != target).ToList();
        // The test's own reads go to the majority only: its first client may be on the cut member as well.
        var majorityConnect = string.Join(',', majority.Select(ensemble.MemberConnectString)) + chroot;
        var countsBeforeCut = agents.ToDictionary(a => a.Id, Count);
        var leaderBeforeCut = await ensemble.FindLeaderAsync(Token);
        ensemble.Partition([[target], majority], LinkFault.Blackhole);
        try
        {
            await ensemble.WaitServingAsync(2, TimeSpan.FromSeconds(60), Token);
            foreach (var agent in onTarget)
            {
                await Cli.WaitUntilAsync(async () => await MemberOfAsync(ensemble, sessions[agent.Id]) is { } m && m != target,
                    $"{agent.Id}'s session to move off member {target}", Diagnostics);
                await agent.WaitForOutputAsync($"Reconnected; session 0x{sessions[agent.Id]:x}");
            }
            foreach (var agent in agents)
            {
                // Same session, same ephemeral: the registration was never lost.
                Assert.Equal(sessions[agent.Id], await OwnerAsync(majorityConnect, agent.Id));
                Assert.DoesNotContain("session #2", agent.Process.StandardOutput, StringComparison.Ordinal);
                await Cli.WaitUntilAsync(() => Task.FromResult(Count(agent) >= countsBeforeCut[agent.Id] + 300), $"{agent.Id}'s events to keep flowing", Diagnostics);
            }
            Assert.All(await FleetJsonAsync(majorityConnect), e => Assert.True(Live(e.GetProperty("health").GetString()), e.ToString()));
        }
        finally
        {
            ensemble.HealLinks();
        }
        await ensemble.WaitServingAsync(3, TimeSpan.FromSeconds(60), Token);

        // 2. Freeze (SIGSTOP) the member w2 talks to: nothing is closed, so only the client's read timeout (2/3 of the
        // session timeout without a reply to its pings) notices; w2 moves to another member with the same session.
        var frozen = await MemberOfAsync(ensemble, sessions["w2"]) ?? throw new InvalidOperationException($"no member lists w2's session\n{Diagnostics()}");
        var othersConnect = string.Join(',', ensemble.MemberIds.Where(id => id != frozen).Select(ensemble.MemberConnectString)) + chroot;
        var countBeforeFreeze = Count(w2);
        var leaderBeforeFreeze = await ensemble.FindLeaderAsync(Token);
        ensemble.Pause(frozen);
        try
        {
            await Cli.WaitUntilAsync(async () => await MemberOfAsync(ensemble, sessions["w2"]) is { } m && m != frozen,
                $"w2's session to move off frozen member {frozen}", Diagnostics);
            Assert.Equal(sessions["w2"], await OwnerAsync(othersConnect, "w2"));
            Assert.Equal(sessions["w1"], await OwnerAsync(othersConnect, "w1"));
            Assert.DoesNotContain("session #2", w2.Process.StandardOutput, StringComparison.Ordinal);
            await Cli.WaitUntilAsync(() => Task.FromResult(Count(w2) >= countBeforeFreeze + 300), "w2's events to keep flowing", Diagnostics);
        }
        finally
        {
            ensemble.Resume(frozen);
        }
        await ensemble.WaitServingAsync(3, TimeSpan.FromSeconds(60), Token);

        // 3. Freeze w2 past its session timeout: the service expires the session, the ephemeral goes on every member and
        // the fleet shows w2 gone; thawed, w2 starts session #2, registers again and its flow goes on.
        Assert.True(w2.Process.Signal(ProcessRunner.SigStop));
        try
        {
            await Cli.WaitUntilAsync(async () => await FleetEntryHealthAsync(connect, "w2") == "gone", "fleet --json to show w2 gone", Diagnostics);
            foreach (var id in ensemble.MemberIds)
            {
                await using var member = await ZooKeeperClient.ConnectAsync(ensemble.MemberConnectString(id) + chroot, cancellationToken: Token);
                await member.SyncAsync("/", Token);
                Assert.Null(await member.ExistsAsync(ZnodeLayout.AgentStatus(Group, "w2"), cancellationToken: Token));
                Assert.Equal(sessions["w1"], (await member.ExistsAsync(ZnodeLayout.AgentStatus(Group, "w1"), cancellationToken: Token))!.Value.EphemeralOwner);
            }
        }
        finally
        {
            w2.Process.Signal(ProcessRunner.SigCont);
        }
        await Cli.WaitUntilAsync(async () => Live(await FleetEntryHealthAsync(connect, "w2")), "w2 to register again", Diagnostics);
        var renewed = await OwnerAsync(connect, "w2");
        Assert.NotEqual(sessions["w2"], renewed);
        Assert.Contains("session #2", w2.Process.StandardOutput, StringComparison.Ordinal);
        var afterThaw = Count(w2);
        await Cli.WaitUntilAsync(() => Task.FromResult(Count(w2) >= afterThaw + 300), "w2's events to flow again", Diagnostics);
        foreach (var agent in agents)
        {
            // Nothing lost or repeated through all of it: each agent's seq numbers arrived gap-free, once each.
            var numbers = FleetProcessTests.ReadNumbers(outputs[agent.Id]);
            Assert.Equal(Enumerable.Range(0, numbers.Count).Select(i => (long)i), numbers);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{kind}: cut member {target} (leader {leaderBeforeCut}; {string.Join(",", onTarget.Select(a => a.Id))} on it), froze member {frozen} (leader {leaderBeforeFreeze}; w2 on it); w1 {Count(w1)} events, w2 {Count(w2)} events");
    }

    /// <summary>Registered and running: "ok", or "degraded" because the group's flow limit holds the source back (it
    /// does, by design: the limit keeps the endless seq source to a few hundred events a second).</summary>
    private static bool Live(string? health) => health is "ok" or "degraded";

    /// <summary>The session owning <paramref name="id"/>'s registry ephemeral, read by a client of its own (a test client
    /// kept across the faults could itself be cut off long enough to lose its session; the agents are what is tested).</summary>
    private static async Task<long> OwnerAsync(string connect, string id)
    {
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await client.SyncAsync("/", Token); // a follower answers only after catching up with the leader
        var stat = await client.ExistsAsync(ZnodeLayout.AgentStatus(Group, id), cancellationToken: Token);
        Assert.True(stat is not null, $"{id} is not registered");
        Assert.NotEqual(0, stat.Value.EphemeralOwner);
        return stat.Value.EphemeralOwner;
    }

    /// <summary>The member whose <c>cons</c> lists <paramref name="session"/>, or null (no member answers for it now).</summary>
    private static async Task<int?> MemberOfAsync(TestEnsemble ensemble, long session)
    {
        var sid = "sid=0x" + session.ToString("x", CultureInfo.InvariantCulture) + ",";
        foreach (var id in ensemble.MemberIds)
        {
            string cons;
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
                cts.CancelAfter(TimeSpan.FromSeconds(2));
                cons = await TestServer.FourLetterWordAsync(ensemble.ClientPort(id), "cons", cts.Token);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
            {
                continue;
            }
            if (cons.Contains(sid, StringComparison.Ordinal))
            {
                return id;
            }
        }
        return null;
    }

    private static async Task<List<JsonElement>> FleetJsonAsync(string connect)
    {
        var fleet = await Cli.RunAsync(["fleet", "--json", "-z", connect]);
        Assert.True(fleet.ExitCode == 0, fleet.ToString());
        return [.. JsonDocument.Parse(fleet.StandardOutput).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static async Task<string?> FleetEntryHealthAsync(string connect, string id) =>
        (await FleetJsonAsync(connect)).FirstOrDefault(e => e.GetProperty("id").GetString() == id) is { ValueKind: JsonValueKind.Object } entry
            ? entry.GetProperty("health").GetString()
            : null;
}
