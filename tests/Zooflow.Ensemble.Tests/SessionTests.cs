using Xunit;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;
using static Zooflow.Ensemble.Tests.Ensembles;

namespace Zooflow.Ensemble.Tests;

/// <summary>Global sessions: the leader expires them and removes their ephemerals everywhere; a client that moves to
/// another member never sees older state than it has seen.</summary>
public sealed class SessionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task SessionOnFollowerExpires_EphemeralRemovedOnEveryMember(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var follower = ensemble.MemberIds.First(id => id != leader);

        // The client reaches the follower through a proxy, so the test can silence it without closing its socket.
        await using var proxy = new FaultProxy(ensemble.ClientPort(follower));
        var client = await ConnectAsync(proxy.ConnectString, ct, TimeSpan.FromSeconds(2));
        try
        {
            await client.CreateAsync("/owner", Bytes("me"), mode: CreateMode.Ephemeral, cancellationToken: ct);
            foreach (var id in ensemble.MemberIds)
            {
                Assert.Equal("me", await SyncReadAsync(ensemble, id, "/owner", ct));
            }

            proxy.Blackhole();
            var silencedAt = DateTime.UtcNow;
            var remaining = ensemble.MemberIds.ToList();
            await WaitUntilAsync(async () =>
            {
                foreach (var id in remaining.ToList())
                {
                    if (await SyncReadAsync(ensemble, id, "/owner", ct) is null)
                    {
                        remaining.Remove(id);
                    }
                }

                return remaining.Count == 0;
            }, RecoveryTimeout, () => "ephemeral of the expired session removed; still on members " + string.Join(',', remaining), ct);
            var elapsed = DateTime.UtcNow - silencedAt;
            output.WriteLine($"{kind}: ephemeral gone from every member {elapsed.TotalSeconds:0.0} s after the client fell silent (session timeout {client.SessionTimeout.TotalSeconds:0.0} s)");
            Assert.True(elapsed >= client.SessionTimeout * 0.5, $"removed after {elapsed.TotalSeconds:0.0} s, before the session could expire");

            // Heard from again, the client learns its session is gone.
            proxy.Heal();
            await WaitUntilAsync(() => Task.FromResult(client.State == ConnectionState.Expired), RecoveryTimeout,
                () => "client told its session expired; state " + client.State, ct);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>
    /// The client has seen a write that a cut-off follower has not; moved to that follower, it must not read the old
    /// value. ZooKeeper refuses the connect ("client has seen zxid ... our last zxid is ..."); so does Zooflow, and the
    /// follower stops serving when it notices it lost the leader. Once healed, the follower catches up and serves it.
    /// </summary>
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task ClientMovesToLaggingFollower_NeverSeesOlderState(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var lagging = ensemble.MemberIds.First(id => id != leader);
        await using var toLeader = new FaultProxy(ensemble.ClientPort(leader));
        await using var toLagging = new FaultProxy(ensemble.ClientPort(lagging));
        toLagging.Block();
        await using var client = await ConnectAsync(toLeader.ConnectString + "," + toLagging.ConnectString, ct, TimeSpan.FromSeconds(6));
        await client.CreateAsync("/moved", Bytes("old"), cancellationToken: ct);
        Assert.Equal("old", await SyncReadAsync(ensemble, lagging, "/moved", ct));

        // The follower hears nothing more from the leader (its links are silent, not closed: it keeps serving until it
        // notices after syncLimit), and the client writes through the leader.
        ensemble.Partition([[lagging], [.. ensemble.MemberIds.Where(id => id != lagging)]], LinkFault.Blackhole);
        await client.SetDataAsync("/moved", Bytes("new"), cancellationToken: ct);
        var seen = client.LastZxid;
        toLeader.Block();
        toLeader.DropAll();
        toLagging.Unblock();

        var reads = new List<string>();
        var failures = 0;
        var healAt = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var healed = false;
        await WaitUntilAsync(async () =>
        {
            if (!healed && DateTime.UtcNow >= healAt)
            {
                ensemble.HealLinks();
                healed = true;
            }

            try
            {
                reads.Add(Text((await client.GetDataAsync("/moved", cancellationToken: ct)).Data));
                return healed;
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss)
            {
                failures++;
                return false;
            }
        }, RecoveryTimeout, () => $"a read through member {lagging} after the heal; reads {string.Join(',', reads)}, {failures} ConnectionLoss", ct);

        output.WriteLine($"{kind}: client had seen 0x{seen:x}; {failures} reads failed with ConnectionLoss, then {reads.Count} answered: {string.Join(',', reads.Distinct())}");
        Assert.All(reads, value => Assert.Equal("new", value));
        Assert.True(client.LastZxid >= seen);
    }
}
