using Zooflow.Consensus.Quorum;
using Zooflow.Consensus.Tracking;

namespace Zooflow.Consensus.Tests;

/// <summary>The leader's table of learner links (ZooKeeper's LearnerHandler set and SyncedLearnerTracker).</summary>
public sealed class LearnerTrackerTests
{
    private static readonly Membership Ensemble = new([1, 2, 3, 4, 5], [6, 7]);

    private static LearnerTracker NewTracker() => new(Ensemble, new MajorityQuorum(Ensemble.Voters), selfId: 1);

    private static LearnerProgress Link(long id, LearnerStage stage, long acked = 0) =>
        new(id, Ensemble.IsObserver(id), linkId: 100 + id, acceptedEpoch: 0, tick: 0) { Stage = stage, AckedZxid = acked };

    [Fact]
    public void HasQuorum_ObserversSynced_NeverCount()
    {
        LearnerTracker tracker = NewTracker();
        tracker.Set(Link(6, LearnerStage.Synced));
        tracker.Set(Link(7, LearnerStage.Synced));
        tracker.Set(Link(2, LearnerStage.Synced));

        // Leader + follower 2 = 2 of 5 voters; the two observers add nothing.
        Assert.False(tracker.HasQuorum(selfCounts: true, p => p.IsSynced));
        tracker.Set(Link(3, LearnerStage.Synced));
        Assert.True(tracker.HasQuorum(selfCounts: true, p => p.IsSynced));
        Assert.False(tracker.HasQuorum(selfCounts: false, p => p.IsSynced));
    }

    [Fact]
    public void QuorumAckedZxid_OnlySyncedFollowersCount()
    {
        LearnerTracker tracker = NewTracker();
        tracker.Set(Link(2, LearnerStage.UpToDate, acked: 9));
        tracker.Set(Link(3, LearnerStage.NewLeaderSent, acked: 9)); // not synced: its acknowledgements do not count yet
        tracker.Set(Link(6, LearnerStage.UpToDate, acked: 9)); // observer

        Assert.Equal(long.MinValue, tracker.QuorumAckedZxid(selfDurableZxid: 9)); // leader + 2 only: no majority of 5
        tracker.Set(Link(4, LearnerStage.Synced, acked: 5));
        Assert.Equal(5, tracker.QuorumAckedZxid(selfDurableZxid: 9));
    }

    [Fact]
    public void QuorumPingRound_SelfAnswersEveryRound()
    {
        var membership = new Membership([1, 2, 3]);
        var tracker = new LearnerTracker(membership, new MajorityQuorum(membership.Voters), selfId: 1);
        tracker.Set(new LearnerProgress(2, false, 1, 0, 0) { Stage = LearnerStage.UpToDate, PingRoundAcked = 4 });
        tracker.Set(new LearnerProgress(3, false, 2, 0, 0) { Stage = LearnerStage.UpToDate, PingRoundAcked = 2 });

        Assert.Equal(4, tracker.QuorumPingRound(selfRound: 7));
    }

    [Fact]
    public void Silent_UsesInitLimitBeforeSyncAndSyncLimitAfter()
    {
        LearnerTracker tracker = NewTracker();
        tracker.Set(Link(2, LearnerStage.EpochSent));
        tracker.Set(Link(3, LearnerStage.UpToDate));

        Assert.Equal([3], tracker.Silent(tick: 6, initLimitTicks: 10, syncLimitTicks: 5).Select(p => p.Id));
        Assert.Equal([2, 3], tracker.Silent(tick: 11, initLimitTicks: 10, syncLimitTicks: 5).Select(p => p.Id));
    }

    [Fact]
    public void Counts_ForMntr_SeparateFollowersAndObservers()
    {
        LearnerTracker tracker = NewTracker();
        tracker.Set(Link(2, LearnerStage.UpToDate));
        tracker.Set(Link(3, LearnerStage.EpochAcked));
        tracker.Set(Link(6, LearnerStage.Synced));

        Assert.Equal((2, 1, 1, 1), (tracker.Followers, tracker.SyncedFollowers, tracker.Observers, tracker.SyncedObservers));
    }

    [Fact]
    public void Set_LeaderItself_IsRejected() =>
        Assert.Throws<ArgumentException>(() => NewTracker().Set(Link(1, LearnerStage.Connected)));
}
