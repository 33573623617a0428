using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;
using static Zooflow.Consensus.Tests.TestData;

namespace Zooflow.Consensus.Tests;

/// <summary>Phase 1, discovery: the new epoch is Paxos's ballot (Zab paper §IV-A; ZooKeeper Leader.getEpochToPropose,
/// waitForEpochAck; Learner.registerWithLeader).</summary>
public sealed class DiscoveryTests
{
    private static readonly Membership Three = new([1, 2, 3]);

    /// <summary>Makes node 1 the prospective leader (server 2 agrees with its vote).</summary>
    private static DrivenNode ProspectiveLeader(MemoryStorage? storage = null)
    {
        var node = new DrivenNode(1, Three, storage: storage);
        Vote vote = new(1, node.Status.LastZxid, node.Status.CurrentEpoch);
        node.Step(new Notification(2, 1, vote, 1, PeerState.Looking));
        Assert.Equal(PeerState.Leading, node.Status.State);
        return node;
    }

    [Fact]
    public void NewEpoch_IsGreaterThanEveryAcceptedEpochOfTheQuorum()
    {
        var storages = new Dictionary<long, MemoryStorage> { [1] = Stored(3, 3), [2] = Stored(7, 3), [3] = Stored(4, 3) };
        var cluster = new TestCluster([1, 2, 3], storages: storages);

        long leader = cluster.ElectAndSettle();

        long epoch = cluster[leader].Status.CurrentEpoch;
        Assert.True(epoch >= 8, $"epoch {epoch} must exceed the accepted epoch 7 of server 2 whenever 2 is in the quorum");
        Assert.All(cluster.Nodes.Values, n => Assert.Equal(epoch, n.Storage.HardState.AcceptedEpoch));
    }

    [Fact]
    public void LeaderInfo_EpochBelowAccepted_LearnerRefusesAndLooksAgain()
    {
        var node = new DrivenNode(2, Three, storage: Stored(5, 5));
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));

        node.Step(new LeaderInfo(1, 2, link, 0, Epoch: 4, link));

        Assert.Equal(PeerState.Looking, node.Status.State);
        Assert.Equal(5, node.Storage.HardState.AcceptedEpoch);
        Assert.DoesNotContain(node.Sent, m => m is AckEpoch);
    }

    [Fact]
    public void LeaderInfo_NewEpoch_PersistedBeforeAckEpochIsSent()
    {
        var node = new DrivenNode(2, Three, storage: Stored(5, 5, Entry(5, 1)));
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));

        node.Step(new LeaderInfo(1, 2, link, 0, Epoch: 6, link));

        Ready ready = node.Readies[^1];
        Assert.Equal(new HardState(6, 5), ready.HardState);
        AckEpoch ack = Assert.Single(ready.Messages.OfType<AckEpoch>());
        Assert.Equal((5L, Zxid.Make(5, 1), false), (ack.CurrentEpoch, ack.LastZxid, ack.AlreadyAccepted));
    }

    [Fact]
    public void LeaderInfo_SameEpochAgain_AcknowledgedAsAlreadyAccepted()
    {
        var node = new DrivenNode(2, Three, storage: Stored(6, 5));
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));

        List<ZabMessage> sent = node.Step(new LeaderInfo(1, 2, link, 0, Epoch: 6, link));

        Assert.True(Assert.Single(sent.OfType<AckEpoch>()).AlreadyAccepted);
    }

    [Fact]
    public void AckEpoch_LearnerAheadOfLeader_LeaderStepsDown()
    {
        DrivenNode leader = ProspectiveLeader();
        leader.Step(new FollowerInfo(2, 1, 77, 0, AcceptedEpoch: 0, IsObserver: false));
        LeaderInfo info = Assert.Single(leader.Sent.OfType<LeaderInfo>());
        Assert.Equal((1L, 77L), (info.Epoch, info.LearnerNonce));

        leader.Step(new AckEpoch(2, 1, info.LinkId, 1, 1, CurrentEpoch: 0, LastZxid: Zxid.Make(0, 5), AlreadyAccepted: false));

        Assert.Equal(PeerState.Looking, leader.Status.State);
        Assert.Contains(leader.Sent, m => m is LinkReset { To: 2 } r && r.LinkId == info.LinkId);
    }

    [Fact]
    public void AckEpoch_AlreadyAccepted_DoesNotCountTowardTheEpochQuorum()
    {
        DrivenNode leader = ProspectiveLeader();
        leader.Step(new FollowerInfo(2, 1, 77, 0, 0, false));

        leader.Step(new AckEpoch(2, 1, leader.LinkTo(2), 1, 1, -1, 0, AlreadyAccepted: true));
        Assert.Equal(ZabPhase.Discovery, leader.Status.Phase);

        leader.Step(new FollowerInfo(3, 1, 88, 0, 0, false));
        leader.Step(new AckEpoch(3, 1, leader.LinkTo(3), 1, 1, 0, 0, AlreadyAccepted: false));
        Assert.Equal(ZabPhase.Synchronization, leader.Status.Phase);
        Assert.Equal(new HardState(1, 1), leader.Storage.HardState);
    }

    [Fact]
    public void AckEpoch_OfAnotherEpochOrOnAnOldLink_IsNotCounted()
    {
        // Found by the simulator: a learner's ACKEPOCH from an earlier leadership of the same server, arriving late on a
        // link that a stale copy of its FOLLOWERINFO reopened, was counted for the newer epoch — two leaders in one epoch.
        DrivenNode leader = ProspectiveLeader();
        leader.Step(new FollowerInfo(2, 1, 77, 0, 0, false));
        leader.Step(new AckEpoch(2, 1, 77, 1, 1, 0, 0, false)); // the learner's nonce is not the link
        Assert.Equal(ZabPhase.Discovery, leader.Status.Phase);

        leader.Step(new FollowerInfo(2, 1, 78, 0, 0, false));
        leader.Step(new AckEpoch(2, 1, leader.LinkTo(2), 1, Epoch: 7, 0, 0, false)); // acknowledges another epoch
        Assert.Equal(ZabPhase.Discovery, leader.Status.Phase);
        Assert.Contains(leader.Sent, m => m is LinkReset { To: 2 });
    }

    [Fact]
    public void ProspectiveLeader_NoQuorumWithinInitLimit_LooksAgain()
    {
        DrivenNode leader = ProspectiveLeader();

        leader.Tick(leader.Options.InitLimitTicks);
        Assert.Equal(PeerState.Leading, leader.Status.State);
        leader.Tick();

        Assert.Equal(PeerState.Looking, leader.Status.State);
    }
}
