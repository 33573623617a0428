using System.Text;
using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;
using static Zooflow.Consensus.Tests.TestData;

namespace Zooflow.Consensus.Tests;

/// <summary>Phase 3, broadcast: Paxos's accept/accepted as PROPOSAL/ACK, then COMMIT (Zab paper §IV-C; ZooKeeper
/// Leader.propose, processAck/tryToCommit; Follower.processPacket).</summary>
public sealed class BroadcastTests
{
    /// <summary>A settled ensemble whose leader is driven by hand: followers are played by the test.</summary>
    private static (DrivenNode Leader, long Link2, long Link3) EstablishedLeader()
    {
        var leader = new DrivenNode(1, new Membership([1, 2, 3]));
        leader.Step(new Notification(2, 1, new Vote(1, 0, 0), 1, PeerState.Looking));
        leader.Step(new FollowerInfo(2, 1, 20, 0, 0, false));
        leader.Step(new FollowerInfo(3, 1, 30, 0, 0, false));
        long link2 = leader.LinkTo(2), link3 = leader.LinkTo(3);
        leader.Step(new AckEpoch(2, 1, link2, 1, 1, 0, 0, false));
        leader.Step(new AckEpoch(3, 1, link3, 1, 1, 0, 0, false));
        leader.Step(new AckNewLeader(2, 1, link2, 2, 1));
        leader.Step(new AckNewLeader(3, 1, link3, 2, 1));
        Assert.True(leader.Status.IsServing);
        return (leader, link2, link3);
    }

    [Fact]
    public void Propose_AssignsNextZxidOfTheEpoch_AndSendsToEveryFollower()
    {
        (DrivenNode leader, _, _) = EstablishedLeader();
        long expected = leader.Status.NextZxid;

        ProposeResult result = leader.Core.Propose(Encoding.UTF8.GetBytes("a"));
        List<ZabMessage> sent = leader.Drain();

        Assert.Equal(new ProposeResult(ProposeStatus.Accepted, Zxid.Make(1, 1)), result);
        Assert.Equal(expected, result.Zxid);
        Assert.Equal([2L, 3L], sent.OfType<Proposal>().Select(p => p.To));
        Assert.Equal(Zxid.Make(1, 2), leader.Status.NextZxid);
    }

    [Fact]
    public void Commit_OneFollowerAckButLeaderNotDurable_WaitsForLeadersOwnPersist()
    {
        (DrivenNode leader, long link2, _) = EstablishedLeader();
        leader.HoldReadies = true;
        leader.Core.Propose(Encoding.UTF8.GetBytes("a"));
        leader.Drain();
        Assert.NotNull(leader.Held); // the leader's append is not durable yet

        leader.Core.Step(new Ack(2, 1, link2, 3, Zxid.Make(1, 1)));
        Assert.Equal(0, leader.Status.CommittedZxid); // leader + 2 is a quorum only once the leader's copy is durable

        List<ZabMessage> sent = leader.Release();
        Assert.Equal(Zxid.Make(1, 1), leader.Status.CommittedZxid);
        Assert.Equal([2L, 3L], sent.OfType<Commit>().Select(c => c.To));
        Assert.Equal(["a"], leader.Applied.Select(Text));
    }

    [Fact]
    public void Commit_QuorumOfFollowersAcked_CommitsEvenBeforeTheLeaderPersisted()
    {
        (DrivenNode leader, long link2, long link3) = EstablishedLeader();
        leader.HoldReadies = true;
        leader.Core.Propose(Encoding.UTF8.GetBytes("a"));
        leader.Drain();

        leader.Core.Step(new Ack(2, 1, link2, 3, Zxid.Make(1, 1)));
        leader.Core.Step(new Ack(3, 1, link3, 3, Zxid.Make(1, 1)));

        Assert.Equal(Zxid.Make(1, 1), leader.Status.CommittedZxid); // 2 and 3 logged it: a quorum of 3
    }

    [Fact]
    public void Ack_BeyondWhatWasSent_StopsTheLeader()
    {
        (DrivenNode leader, long link2, _) = EstablishedLeader();

        Assert.Throws<ZabInvariantException>(() => leader.Step(new Ack(2, 1, link2, 3, Zxid.Make(1, 5))));
    }

    [Fact]
    public void Follower_AcksProposal_InTheSameReadyThatPersistsIt()
    {
        var follower = new DrivenNode(2, new Membership([1, 2, 3]));
        long link = DrivenNode.LinkOf(follower.JoinEstablished(leader: 1));
        follower.Step(new LeaderInfo(1, 2, link, 0, 1, link));
        follower.Step(new NewLeader(1, 2, link, 1, 1, SyncMode.Diff, 0, null, [], 0));
        follower.Step(new UpToDate(1, 2, link, 2, 0));

        follower.Step(new Proposal(1, 2, link, 3, Entry(1, 1)));

        Ready ready = follower.Readies[^1];
        Assert.Equal([Zxid.Make(1, 1)], ready.Entries.Select(e => e.Zxid)); // persisted first ...
        Assert.Equal(Zxid.Make(1, 1), Assert.Single(ready.Messages.OfType<Ack>()).Zxid); // ... then the ACK is sent
        Assert.Empty(ready.CommittedEntries); // not committed until COMMIT
        follower.Step(new Commit(1, 2, link, 4, Zxid.Make(1, 1)));
        Assert.Equal(["1.1"], follower.Applied.Select(Text));
    }

    [Fact]
    public void Commit_OfRecordTheFollowerDoesNotHave_StopsTheFollower()
    {
        // ZooKeeper exits with UNMATCHED_TXN_COMMIT in this case (FollowerZooKeeperServer.commit).
        var follower = new DrivenNode(2, new Membership([1, 2, 3]));
        long link = DrivenNode.LinkOf(follower.JoinEstablished(leader: 1));
        follower.Step(new LeaderInfo(1, 2, link, 0, 1, link));
        follower.Step(new NewLeader(1, 2, link, 1, 1, SyncMode.Diff, 0, null, [], 0));

        Assert.Throws<ZabInvariantException>(() => follower.Step(new Commit(1, 2, link, 2, Zxid.Make(1, 3))));
    }

    [Fact]
    public void Commits_OnEveryServer_AppliedInTheSameZxidOrder()
    {
        var cluster = new TestCluster([1, 2, 3, 4, 5], [6]);
        long leader = cluster.ElectAndSettle();
        for (int i = 0; i < 20; i++)
        {
            cluster.Propose(leader, $"v{i}");
            if (i % 3 == 0)
            {
                cluster.Deliver(); // interleave delivery with proposing: the pipeline holds several proposals
            }
        }

        cluster.Stabilize();

        string[] expected = [.. Enumerable.Range(0, 20).Select(i => $"v{i}")];
        Assert.All(cluster.Nodes.Values, n => Assert.Equal(expected, n.Applied.Select(a => a.Value)));
        Assert.Equal(20, cluster.Sent.OfType<Inform>().Count(i => i.To == 6));
        Assert.DoesNotContain(cluster.Sent, m => m.To == 6 && m is Proposal or Commit);
    }

    [Fact]
    public void Propose_OnFollowerOrBeyondPendingMax_IsRefused()
    {
        var cluster = new TestCluster([1, 2, 3], configure: o => o with { PendingProposalsMax = 2 });
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);

        Assert.Equal(ProposeStatus.NotLeader, cluster[follower].Core.Propose(new byte[1]).Status);
        Assert.True(cluster.Propose(leader, "a").IsAccepted);
        Assert.True(cluster.Propose(leader, "b").IsAccepted);
        Assert.Equal(ProposeStatus.Busy, cluster.Propose(leader, "c").Status);
        cluster.Stabilize();
        Assert.True(cluster.Propose(leader, "c").IsAccepted);
    }
}
