using Zooflow.Consensus.Tests.Harness;

namespace Zooflow.Consensus.Tests;

/// <summary>Timeouts in ticks: syncLimit and initLimit (ZooKeeper Administrator's Guide, "Cluster Options"); a leader
/// that loses its quorum steps down (Leader.lead: "Not sufficient followers synced").</summary>
public sealed class LivenessTests
{
    [Fact]
    public void Leader_PartitionedFromQuorum_StepsDownAfterSyncLimit()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        cluster.Partition([leader]);
        int limit = cluster[leader].Options.SyncLimitTicks;

        for (int i = 0; i < limit; i++)
        {
            cluster.TickAll();
            cluster.Stabilize();
        }

        Assert.True(cluster[leader].Status.IsServing);
        cluster.TickAll(2);
        cluster.Stabilize();
        Assert.Equal(PeerState.Looking, cluster[leader].Status.State);
        Assert.False(cluster[leader].Status.IsServing);
    }

    [Fact]
    public void Majority_AfterLeaderIsolated_ElectsANewLeaderAndCommits()
    {
        var cluster = new TestCluster([1, 2, 3, 4, 5]);
        long old = cluster.ElectAndSettle();
        cluster.Partition([old]);

        long fresh = -1;
        for (int i = 0; i < 60 && fresh < 0; i++)
        {
            cluster.TickAll();
            cluster.Stabilize();
            fresh = cluster.Nodes.Values.FirstOrDefault(n => n.Id != old && n.Status.State == PeerState.Leading && n.Status.IsServing)?.Id ?? -1;
        }

        Assert.NotEqual(-1, fresh);
        Assert.True(cluster[fresh].Status.CurrentEpoch > cluster[old].Status.CurrentEpoch);
        Assert.True(cluster.Propose(fresh, "after").IsAccepted);
        cluster.Stabilize();
        Assert.All(cluster.Nodes.Values.Where(n => n.Id != old), n => Assert.Equal(["after"], n.Applied.Select(a => a.Value)));
    }

    [Fact]
    public void Follower_LeaderSilent_LooksAgainAfterSyncLimit()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);
        cluster.Crash(leader);

        cluster.Tick(follower, cluster[follower].Options.SyncLimitTicks);
        Assert.Equal(PeerState.Following, cluster[follower].Status.State);
        cluster.Tick(follower);

        Assert.Equal(PeerState.Looking, cluster[follower].Status.State);
    }
}
