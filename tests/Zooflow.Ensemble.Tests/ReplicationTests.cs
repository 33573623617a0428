using Xunit;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.TestKit.Servers;
using static Zooflow.Ensemble.Tests.Ensembles;

namespace Zooflow.Ensemble.Tests;

/// <summary>Writes through any member, fail-over after SIGKILL of the leader, and a killed member catching up.</summary>
public sealed class ReplicationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task WriteThroughFollower_AfterSync_VisibleOnEveryMemberAtOneZxid(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var follower = ensemble.MemberIds.First(id => id != leader);

        long zxid;
        await using (var client = await ConnectAsync(ensemble.MemberConnectString(follower), ct))
        {
            await client.CreateAsync("/fw", Bytes("a"), cancellationToken: ct);
            var stat = await client.SetDataAsync("/fw", Bytes("b"), version: 0, ct);
            zxid = stat.Mzxid;
            // Read-your-writes on the member that forwarded them (FIFO per session).
            Assert.Equal("b", Text((await client.GetDataAsync("/fw", cancellationToken: ct)).Data));
        }

        foreach (var id in ensemble.MemberIds)
        {
            await using var reader = await ConnectAsync(ensemble.MemberConnectString(id), ct);
            await reader.SyncAsync("/fw", ct);
            var (data, stat) = await reader.GetDataAsync("/fw", cancellationToken: ct);
            Assert.Equal("b", Text(data));
            Assert.Equal(1, stat.Version);
            Assert.Equal(zxid, stat.Mzxid);
        }
    }

    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task KillLeader_NewLeaderTakesWrites_NoAcknowledgedWriteLostAndOldLeaderCatchesUp(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        await using var client = await ConnectAsync(ensemble.ConnectString, ct);
        await client.CreateAsync("/k", null, cancellationToken: ct);
        var acknowledged = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            await client.CreateAsync("/k/before-" + N(i), Bytes(N(i)), cancellationToken: ct);
            acknowledged.Add("before-" + N(i));
        }

        ensemble.Kill(leader);
        var killedAt = DateTime.UtcNow;
        var next = await WaitLeaderAsync(ensemble, ct, not: leader);
        for (var i = 0; i < 40; i++)
        {
            await CreateRetryingAsync(client, "/k/after-" + N(i), N(i), ct);
            acknowledged.Add("after-" + N(i));
        }

        output.WriteLine($"{kind}: leader {leader} killed; member {next} leads; 40 writes done {(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s after the kill");

        // The old leader restarts on its own data, learns the new epoch's records and serves them.
        await ensemble.RestartAsync(leader, ct);
        await ensemble.WaitServingAsync(3, RecoveryTimeout, ct);
        Assert.NotEqual(MemberMode.Leader, (await ensemble.StatusAsync(leader, ct)).Mode);
        foreach (var id in ensemble.MemberIds)
        {
            var children = await SyncChildrenAsync(ensemble, id, "/k", ct);
            Assert.Equal(acknowledged.Order(StringComparer.Ordinal), children.Order(StringComparer.Ordinal));
        }
    }

    /// <summary>A follower that missed more records than <c>zooflow.learnerSyncDiffMax</c> gets a snapshot (SNAP) instead of
    /// a DIFF; one that missed fewer gets a DIFF. Either way it ends with exactly the leader's tree.</summary>
    [Fact]
    public async Task RestartFollower_FarBehind_CatchesUpBySnapshotThenByDiff()
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(ServerKind.Zooflow,
            EnsembleOptions.Default with { ProxyQuorumLinks = false, ExtraConfig = "zooflow.learnerSyncDiffMax=10\n" }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var follower = ensemble.MemberIds.First(id => id != leader);
        await using var client = await ConnectAsync(ensemble.MemberConnectString(leader), ct);
        await client.CreateAsync("/c", null, cancellationToken: ct);

        foreach (var (round, writes) in new[] { (1, 50), (2, 5) })
        {
            ensemble.Kill(follower);
            for (var i = 0; i < writes; i++)
            {
                await client.CreateAsync($"/c/r{round}-{i}", Bytes(N(i)), cancellationToken: ct);
            }

            await client.SetDataAsync("/c", Bytes("round " + N(round)), cancellationToken: ct);
            await ensemble.RestartAsync(follower, ct);
            await ensemble.WaitServingAsync(3, RecoveryTimeout, ct);
            Assert.Equal("round " + N(round), await SyncReadAsync(ensemble, follower, "/c", ct));
            var expected = await client.GetChildrenAsync("/c", cancellationToken: ct);
            Assert.Equal(expected.Order(StringComparer.Ordinal), (await SyncChildrenAsync(ensemble, follower, "/c", ct)).Order(StringComparer.Ordinal));

            // The logs say how the follower was synchronised: 50 missed records > 10 is a SNAP, 5 is a DIFF.
            var followerLog = ensemble.DescribeMember(follower);
            var installed = followerLog.Contains("Installed the leader's snapshot", StringComparison.Ordinal);
            Assert.True(installed == (round == 1), $"round {round}: snapshot installed {installed}\n{followerLog}");
            if (round == 1)
            {
                Assert.Contains($"sent to learner {follower}", ensemble.DescribeMember(leader), StringComparison.Ordinal);
            }
        }

        output.WriteLine(ensemble.DescribeMember(follower));
    }

    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task CutOffFromQuorum_MemberStopsServing_ClientsGetConnectionLossThenRecover(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var isolated = ensemble.MemberIds.First(id => id != leader);
        await using var client = await ConnectAsync(ensemble.MemberConnectString(isolated), ct, TimeSpan.FromSeconds(6));
        await client.CreateAsync("/cut", Bytes("1"), cancellationToken: ct);

        ensemble.Partition([[isolated], [.. ensemble.MemberIds.Where(id => id != isolated)]], LinkFault.Refuse);
        KeeperException? failure = null;
        await WaitUntilAsync(async () =>
        {
            try
            {
                await client.GetDataAsync("/cut", cancellationToken: ct);
                return false;
            }
            catch (KeeperException e)
            {
                failure = e;
                return true;
            }
        }, RecoveryTimeout, () => $"a client of member {isolated}, cut off from the quorum, gets an error", ct);
        Assert.Equal(ErrorCode.ConnectionLoss, failure!.Code);
        Assert.Equal(MemberMode.NotServing, (await ensemble.StatusAsync(isolated, ct)).Mode);

        // The majority goes on; once healed the member rejoins, and the same session reads the majority's write.
        await using (var other = await ConnectAsync(ensemble.MemberConnectString(leader), ct))
        {
            await other.SetDataAsync("/cut", Bytes("2"), cancellationToken: ct);
        }

        ensemble.HealLinks();
        var data = await RetryAsync(async () =>
        {
            await client.SyncAsync("/cut", ct);
            return Text((await client.GetDataAsync("/cut", cancellationToken: ct)).Data);
        }, ct);
        Assert.Equal("2", data);
    }

    /// <summary>
    /// A leader cut off from its followers (silently: blackholed links) still takes a write and logs it, but cannot
    /// commit it; the majority elects a new leader and moves on. Healed, the old leader rejoins as a follower and must
    /// drop the record it logged but nobody committed (TRUNC), ending with the majority's value.
    /// </summary>
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task IsolatedLeaderLogsAWrite_MajorityMovesOn_OldLeaderTruncatesItOnRejoin(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        var majority = ensemble.MemberIds.Where(id => id != leader).ToList();
        await using var onLeader = await ConnectAsync(ensemble.MemberConnectString(leader), ct);
        await onLeader.CreateAsync("/t", Bytes("committed"), cancellationToken: ct);
        foreach (var id in majority)
        {
            Assert.Equal("committed", await SyncReadAsync(ensemble, id, "/t", ct));
        }

        ensemble.Partition([[leader], majority], LinkFault.Blackhole);
        var lost = await Assert.ThrowsAsync<KeeperException>(() => onLeader.SetDataAsync("/t", Bytes("never committed"), cancellationToken: ct));
        Assert.Equal(ErrorCode.ConnectionLoss, lost.Code);

        var next = await WaitLeaderAsync(ensemble, ct, not: leader);
        Assert.Contains(next, majority);
        await using (var onMajority = await ConnectAsync(string.Join(',', majority.Select(ensemble.MemberConnectString)), ct))
        {
            await RetryAsync(() => onMajority.SetDataAsync("/t", Bytes("majority"), cancellationToken: ct), ct);
        }

        ensemble.HealLinks();
        await ensemble.WaitServingAsync(3, RecoveryTimeout, ct);
        foreach (var id in ensemble.MemberIds)
        {
            Assert.Equal("majority", await SyncReadAsync(ensemble, id, "/t", ct));
        }

        if (kind == ServerKind.Zooflow)
        {
            var log = ensemble.DescribeMember(leader);
            Assert.Contains("Truncated the log after zxid", log, StringComparison.Ordinal);
        }
    }
}
