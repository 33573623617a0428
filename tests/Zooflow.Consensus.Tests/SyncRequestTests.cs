using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;

namespace Zooflow.Consensus.Tests;

/// <summary>The sync operation (ZooKeeper Programmer's Guide, "Consistency Guarantees": sync makes the server catch up
/// with the leader; Leader.processSync). Here a sync also waits for a quorum ping round, so a read after it is
/// linearizable (docs/consensus.md).</summary>
public sealed class SyncRequestTests
{
    [Fact]
    public void Sync_OnFollower_CompletesOnlyAfterEarlierCommitsAreApplied()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long[] followers = [.. cluster.Nodes.Keys.Where(k => k != leader)];
        cluster.Propose(leader, "w"); // proposals in flight: nothing is committed yet

        cluster.StepLocal(followers[0], new RequestSync(7));
        cluster.Deliver(m => m is SyncRequest); // the leader notes "answer once 0x100000001 commits", starts a ping round
        Assert.Empty(cluster[followers[0]].CompletedSyncs);

        cluster.Stabilize();

        Assert.Equal([7L], cluster[followers[0]].CompletedSyncs);
        Assert.Equal(["w"], cluster[followers[0]].Applied.Select(a => a.Value));
        // The reply travels after the COMMIT on the same link.
        int commit = cluster.Sent.FindIndex(m => m is Commit && m.To == followers[0]);
        int reply = cluster.Sent.FindIndex(m => m is SyncReply && m.To == followers[0]);
        Assert.True(commit >= 0 && reply > commit);
    }

    [Fact]
    public void Sync_OnPartitionedLeader_NeverCompletesAndIsAbortedWhenItStepsDown()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        cluster.Partition([leader]);

        cluster.StepLocal(leader, new RequestSync(9));
        for (int i = 0; i < cluster[leader].Options.SyncLimitTicks + 2; i++)
        {
            cluster.Tick(leader);
            cluster.Stabilize();
        }

        Assert.Empty(cluster[leader].CompletedSyncs); // no quorum answered a ping round: it may no longer be leader
        Assert.Equal([9L], cluster[leader].AbortedSyncs);
        Assert.False(cluster[leader].Status.IsServing);
    }

    [Fact]
    public void Sync_WhileNotServing_IsAbortedAtOnce()
    {
        var cluster = new TestCluster([1, 2, 3]);

        cluster.StepLocal(1, new RequestSync(3));

        Assert.Equal([3L], cluster[1].AbortedSyncs);
    }

    [Fact]
    public void Sync_OnLeader_CompletesAfterAQuorumPingRound()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();

        cluster.StepLocal(leader, new RequestSync(5));
        Assert.Empty(cluster[leader].CompletedSyncs);
        Assert.Contains(cluster.InFlight, m => m is Ping);
        cluster.Stabilize();

        Assert.Equal([5L], cluster[leader].CompletedSyncs);
    }
}
