using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;
using static Zooflow.Consensus.Tests.TestData;

namespace Zooflow.Consensus.Tests;

/// <summary>Phase 0, fast leader election (Zab paper §V-A "Leader election"; "ZooKeeper's atomic broadcast protocol:
/// Theory and practice" §4.1 FLE; ZooKeeper FastLeaderElection).</summary>
public sealed class ElectionTests
{
    [Fact]
    public void Vote_TotalOrder_EpochThenZxidThenServerId()
    {
        Assert.True(new Vote(1, 0, 2).IsBetterThan(new Vote(3, Zxid.Make(1, 9), 1)));
        Assert.True(new Vote(1, Zxid.Make(1, 9), 1).IsBetterThan(new Vote(3, Zxid.Make(1, 8), 1)));
        Assert.True(new Vote(3, Zxid.Make(1, 9), 1).IsBetterThan(new Vote(2, Zxid.Make(1, 9), 1)));
        Assert.False(new Vote(2, Zxid.Make(1, 9), 1).IsBetterThan(new Vote(2, Zxid.Make(1, 9), 1)));
        Assert.True(new Vote(1, 0, 0).IsBetterThan(Vote.None));
    }

    [Fact]
    public void Elect_FreshEnsemble_HighestIdLeadsOthersFollow()
    {
        var cluster = new TestCluster([1, 2, 3]);

        long leader = cluster.ElectAndSettle();

        Assert.Equal(3, leader);
        Assert.Equal(PeerState.Following, cluster[1].Status.State);
        Assert.Equal(PeerState.Following, cluster[2].Status.State);
        Assert.All(cluster.Nodes.Values, n => Assert.Equal(1, n.Status.CurrentEpoch));
    }

    [Fact]
    public void Elect_OneServerHasMoreHistory_ItLeads()
    {
        // Server 1 logged two more records of epoch 1 than the others: its vote (epoch 1, zxid 1.5) beats higher ids.
        var storages = new Dictionary<long, MemoryStorage>
        {
            [1] = Stored(1, 1, Entry(1, 1), Entry(1, 2), Entry(1, 3), Entry(1, 4), Entry(1, 5)),
            [2] = Stored(1, 1, Entry(1, 1), Entry(1, 2), Entry(1, 3)),
            [3] = Stored(1, 1, Entry(1, 1), Entry(1, 2), Entry(1, 3)),
        };
        var cluster = new TestCluster([1, 2, 3], storages: storages);

        long leader = cluster.ElectAndSettle();

        Assert.Equal(1, leader);
        Assert.All(cluster.Nodes.Values, n => Assert.Equal(Zxid.Make(1, 5), n.Status.CommittedZxid));
        Assert.All(cluster.Nodes.Values, n => Assert.Equal(5, n.Applied.Count));
    }

    [Fact]
    public void Elect_ObserverWithMostHistory_NeverLeadsAndObserves()
    {
        var storages = new Dictionary<long, MemoryStorage> { [9] = Stored(1, 1, Entry(1, 1), Entry(1, 2)) };
        var cluster = new TestCluster([1, 2], [9], storages: storages);

        long leader = cluster.ElectAndSettle();

        Assert.Equal(2, leader);
        Assert.Equal(PeerState.Observing, cluster[9].Status.State);
        Assert.DoesNotContain(cluster.Sent.OfType<Notification>(), n => n.Vote.Leader == 9);
    }

    [Fact]
    public void Elect_OneVoterAndAnObserverUp_NoQuorumNoLeader()
    {
        // Two voters: the quorum is both. An observer never counts toward it (zookeeperObservers: "Observers do not vote").
        var cluster = new TestCluster([1, 2], [3]);
        cluster.Crash(2);

        cluster.Run(30);

        Assert.All(new[] { 1L, 3L }, id => Assert.False(cluster[id].Status.IsServing));
        Assert.DoesNotContain(cluster.Nodes.Values, n => n.Status.State == PeerState.Leading && n.Status.Phase == ZabPhase.Broadcast);
    }

    [Fact]
    public void Restart_OfFollower_RejoinsEstablishedLeaderWithoutNewEpoch()
    {
        // ZOOKEEPER-1732: decided servers answer a LOOKING one with (leader, epoch); a quorum of them admits it.
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        cluster.Propose(leader, "a");
        cluster.Stabilize();
        long epoch = cluster[leader].Status.CurrentEpoch;

        cluster.Crash(1);
        cluster.Restart(1);
        cluster.ElectAndSettle();

        Assert.Equal(leader, cluster[1].Status.LeaderId);
        Assert.Equal(epoch, cluster[leader].Status.CurrentEpoch);
        Assert.Equal(["a"], cluster[1].Applied.Select(a => a.Value));
    }

    [Fact]
    public void Notification_ToDecidedServer_IsAnsweredWithItsDecision()
    {
        var node = new DrivenNode(2, new Membership([1, 2, 3]));
        node.JoinEstablished(leader: 1, round: 4, peerEpoch: 3);

        List<ZabMessage> sent = node.Step(new Notification(3, 2, new Vote(3, 0, 0), 9, PeerState.Looking));

        Notification answer = Assert.Single(sent.OfType<Notification>());
        Assert.Equal((3L, 1L, 4L, PeerState.Following), (answer.To, answer.Vote.Leader, answer.Round, answer.State));
    }

    [Fact]
    public void FinalizeWait_BetterVoteArrivesInTime_ChangesTheDecision()
    {
        var node = new DrivenNode(2, new Membership([1, 2, 3]), o => o with { FinalizeWaitTicks = 2 });

        node.Step(new Notification(1, 2, new Vote(2, 0, 0), 1, PeerState.Looking)); // 1 agrees with 2: a quorum, wait
        Assert.Equal(PeerState.Looking, node.Status.State);
        node.Step(new Notification(3, 2, new Vote(3, 0, 0), 1, PeerState.Looking)); // better, within finalizeWait: adopt it
        Assert.Equal(PeerState.Looking, node.Status.State);

        node.Tick(2); // 2 and 3 now agree on 3; nothing better arrives during finalizeWait

        Assert.Equal(PeerState.Following, node.Status.State);
        Assert.Equal(3, node.Status.LeaderId);
    }

    [Fact]
    public void LookingVoter_AnsweredByDecidedObserver_DoesNotAnswerBack()
    {
        // A decided observer answers LOOKING notifications; if the voter answered every observer message back, the two
        // would exchange notifications forever (the simulator found that storm).
        var voter = new DrivenNode(1, new Membership([1, 2, 3], [4]));

        List<ZabMessage> toLookingObserver = voter.Step(new Notification(4, 1, Vote.None, 1, PeerState.Looking));
        List<ZabMessage> toDecidedObserver = voter.Step(new Notification(4, 1, new Vote(3, 0, 1), 2, PeerState.Observing));

        Assert.Single(toLookingObserver.OfType<Notification>(), n => n.To == 4);
        Assert.Empty(toDecidedObserver);
    }
}
