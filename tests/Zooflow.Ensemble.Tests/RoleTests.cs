using Xunit;
using Zooflow.TestKit.Servers;
using static Zooflow.Ensemble.Tests.Ensembles;

namespace Zooflow.Ensemble.Tests;

/// <summary>Election and roles as the four-letter words report them, the same on Zooflow and ZooKeeper 3.8.</summary>
public sealed class RoleTests
{
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task Start_ThreeMembers_OneLeaderTwoSyncedFollowersInSrvrAndMntr(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);

        var statuses = await ensemble.StatusAllAsync(ct);
        Assert.Single(statuses, s => s.Mode == MemberMode.Leader);
        Assert.Equal(2, statuses.Count(s => s.Mode == MemberMode.Follower));
        var leader = statuses.Single(s => s.Mode == MemberMode.Leader).Id;

        // The leader counts its synced followers once they acknowledged NEWLEADER (ZooKeeper: zk_synced_followers).
        Dictionary<string, string> mntr = [];
        await WaitUntilAsync(async () =>
        {
            mntr = await MntrAsync(ensemble, leader, ct);
            return mntr.GetValueOrDefault("synced_followers") == "2";
        }, RecoveryTimeout, () => "leader mntr zk_synced_followers 2: " + string.Join(", ", mntr), ct);
        Assert.Equal("leader", mntr["server_state"]);
        Assert.Equal("2", mntr["learners"]);
        Assert.Equal("0", mntr["synced_observers"]);
        foreach (var follower in statuses.Where(s => s.Mode == MemberMode.Follower))
        {
            var values = await MntrAsync(ensemble, follower.Id, ct);
            Assert.Equal("follower", values["server_state"]);
            Assert.False(values.ContainsKey("synced_followers"), "only the leader reports zk_synced_followers");
        }
    }

    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task Observer_WritesThroughIt_ReceivesCommitsButDoesNotVote(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false, Observers = 1 }, ct);
        const int observer = 4;
        Assert.Equal(MemberMode.Observer, (await ensemble.StatusAsync(observer, ct)).Mode);
        var leader = await WaitLeaderAsync(ensemble, ct);
        Dictionary<string, string> mntr = [];
        await WaitUntilAsync(async () =>
        {
            mntr = await MntrAsync(ensemble, leader, ct);
            return mntr.GetValueOrDefault("synced_followers") == "2" && mntr.GetValueOrDefault("synced_observers") == "1";
        }, RecoveryTimeout, () => "leader mntr: 2 synced followers, 1 synced observer: " + string.Join(", ", mntr), ct);

        // A write through the observer is forwarded to the leader and committed by the voters; the observer applies it.
        await using (var client = await ConnectAsync(ensemble.MemberConnectString(observer), ct))
        {
            await client.CreateAsync("/via-observer", Bytes("v1"), cancellationToken: ct);
            Assert.Equal("v1", Text((await client.GetDataAsync("/via-observer", cancellationToken: ct)).Data));
        }

        foreach (var id in ensemble.MemberIds)
        {
            Assert.Equal("v1", await SyncReadAsync(ensemble, id, "/via-observer", ct));
        }

        // Two of three voters gone: the leader and the observer make two processes, but the observer has no vote, so
        // there is no quorum and nobody serves.
        foreach (var id in ensemble.MemberIds.Where(id => id != leader && id != observer).ToList())
        {
            ensemble.Kill(id);
        }

        IReadOnlyList<MemberStatus> status = [];
        await WaitUntilAsync(async () =>
        {
            status = await ensemble.StatusAllAsync(ct);
            return status.Where(s => s.Id == leader || s.Id == observer).All(s => s.Mode == MemberMode.NotServing);
        }, RecoveryTimeout, () => "leader and observer stop serving without a voting quorum: " + string.Join(' ', status), ct);
    }
}
