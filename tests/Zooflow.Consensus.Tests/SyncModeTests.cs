using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;
using static Zooflow.Consensus.Tests.TestData;

namespace Zooflow.Consensus.Tests;

/// <summary>Phase 2, synchronisation: how the leader brings each learner to its history (Zab paper §IV-B; ZooKeeper
/// LearnerHandler.syncFollower: DIFF, TRUNC, SNAP; Learner.syncWithLeader).</summary>
public sealed class SyncModeTests
{
    private static NewLeader LastNewLeaderTo(TestCluster cluster, long learner) =>
        cluster.Sent.OfType<NewLeader>().Last(m => m.To == learner);

    /// <summary>Elects a leader, then crashes a follower while the leader commits <paramref name="values"/>.</summary>
    private static (long Leader, long Follower) FollowerMisses(TestCluster cluster, params string[] values)
    {
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);
        cluster.Crash(follower);
        foreach (string v in values)
        {
            cluster.Propose(leader, v);
        }

        cluster.Stabilize();
        return (leader, follower);
    }

    [Fact]
    public void Follower_MissedCommittedRecords_GetsDiffOfExactlyThose()
    {
        var cluster = new TestCluster([1, 2, 3]);
        (_, long follower) = FollowerMisses(cluster, "a", "b");

        cluster.Restart(follower);
        cluster.ElectAndSettle();

        NewLeader sync = LastNewLeaderTo(cluster, follower);
        Assert.Equal(SyncMode.Diff, sync.Mode);
        Assert.Equal(["a", "b"], sync.Entries.Select(Text));
        Assert.Equal(["a", "b"], cluster[follower].Applied.Select(a => a.Value));
    }

    [Fact]
    public void OldLeader_WithUncommittedProposals_IsTruncatedBackToTheSharedPrefix()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long old = cluster.ElectAndSettle();
        cluster.Propose(old, "committed");
        cluster.Stabilize();
        cluster.Partition([old]);
        cluster.Propose(old, "lost-1");
        cluster.Propose(old, "lost-2"); // logged by the old leader only: never committed
        cluster.Stabilize();
        cluster.Crash(old);
        cluster.Heal();
        long leader = cluster.ElectAndSettle();
        cluster.Propose(leader, "new");
        cluster.Stabilize();

        cluster.Restart(old);
        cluster.ElectAndSettle();

        NewLeader sync = LastNewLeaderTo(cluster, old);
        Assert.Equal(SyncMode.Trunc, sync.Mode);
        Assert.Equal(Zxid.Make(1, 1), sync.TruncateZxid);
        Assert.Equal(["committed", "new"], cluster[old].Storage.Entries.Select(Text));
        Assert.Equal(["committed", "new"], cluster[old].Applied.Select(a => a.Value));
    }

    [Fact]
    public void Follower_BehindPurgedLog_GetsSnapshotOfTheLeadersAppliedState()
    {
        // No in-memory cache of committed records: the purged log is all the leader has (ZooKeeper's committedLog empty).
        var cluster = new TestCluster([1, 2, 3], configure: o => o with { CommittedLogCacheMax = 0 });
        (long leader, long follower) = FollowerMisses(cluster, "a", "b", "c");
        cluster.Compact(leader, through: cluster[leader].AppliedZxid);
        cluster.Propose(leader, "d");
        cluster.Stabilize();

        cluster.Restart(follower);
        cluster.ElectAndSettle();

        NewLeader sync = LastNewLeaderTo(cluster, follower);
        Assert.Equal(SyncMode.Snap, sync.Mode);
        Assert.NotNull(sync.Snapshot);
        Assert.Equal(Zxid.Make(1, 4), sync.Snapshot.Zxid); // what the leader had applied when asked
        Assert.Empty(sync.Entries);
        Assert.Equal(["a", "b", "c", "d"], cluster[follower].Applied.Select(a => a.Value));
        Assert.Empty(cluster[follower].Storage.Entries); // the log restarts after the snapshot
        Assert.Equal(Zxid.Make(1, 4), cluster[follower].Storage.Base);
    }

    [Fact]
    public void Follower_FurtherBehindThanDiffEntriesMax_GetsSnapshot()
    {
        var cluster = new TestCluster([1, 2, 3], configure: o => o with { DiffEntriesMax = 2 });
        (_, long follower) = FollowerMisses(cluster, "a", "b", "c");
        cluster.Restart(follower);
        cluster.ElectAndSettle();

        Assert.Equal(SyncMode.Snap, LastNewLeaderTo(cluster, follower).Mode);
        Assert.Equal(["a", "b", "c"], cluster[follower].Applied.Select(a => a.Value));
    }

    [Fact]
    public void Observer_IsSentCommittedRecordsOnly()
    {
        var cluster = new TestCluster([1, 2, 3], [4]);
        long leader = cluster.ElectAndSettle();
        cluster.Propose(leader, "a");
        cluster.Stabilize();
        var followers = cluster.Nodes.Keys.Where(k => k != leader && k != 4).ToList();
        cluster.Partition([.. followers]); // the leader can still reach the observer, but nothing commits
        cluster.Propose(leader, "pending");
        cluster.Stabilize();

        Assert.DoesNotContain(cluster.Sent, m => m.To == 4 && m is Proposal);
        Assert.DoesNotContain(cluster.Sent.OfType<Inform>(), i => Text(i.Entry) == "pending");
        Assert.Equal(["a"], cluster[4].Applied.Select(a => a.Value));
        Assert.Equal(["a"], cluster[4].Storage.Entries.Select(Text));
    }

    [Fact]
    public void Trunc_BelowTheLearnersCommitPoint_StopsTheLearner()
    {
        // A TRUNC that would remove committed records contradicts Zab; the learner stops rather than lose them.
        var node = new DrivenNode(2, new Membership([1, 2, 3]), storage: Stored(1, 1, Entry(1, 1), Entry(1, 2)));
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1, peerEpoch: 1));
        node.Step(new LeaderInfo(1, 2, link, 0, 2, link));
        node.Step(new NewLeader(1, 2, link, 1, 2, SyncMode.Diff, Zxid.Make(1, 2), null, [], Zxid.Make(1, 2)));
        Assert.Equal(Zxid.Make(1, 2), node.Status.CommittedZxid);
        node.Step(new LinkReset(1, 2, link)); // the link breaks; the learner looks again and reconnects
        long next = DrivenNode.LinkOf(node.JoinEstablished(leader: 1, round: 2, peerEpoch: 2));
        node.Step(new LeaderInfo(1, 2, next, 0, 3, next));

        Assert.Throws<ZabInvariantException>(() =>
            node.Step(new NewLeader(1, 2, next, 1, 3, SyncMode.Trunc, Zxid.Make(1, 1), null, [], Zxid.Make(1, 1))));
    }
}
