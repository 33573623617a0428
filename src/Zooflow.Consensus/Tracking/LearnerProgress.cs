namespace Zooflow.Consensus.Tracking;

/// <summary>Where a learner's link stands on the leader (the states a ZooKeeper <c>LearnerHandler</c> goes through).</summary>
public enum LearnerStage
{
    /// <summary>FOLLOWERINFO received; the epoch is not chosen yet.</summary>
    Connected,

    /// <summary>LEADERINFO sent; waiting for ACKEPOCH.</summary>
    EpochSent,

    /// <summary>ACKEPOCH received; waiting for the leader to establish the epoch with a quorum.</summary>
    EpochAcked,

    /// <summary>SNAP chosen; waiting for the driver's snapshot.</summary>
    AwaitingSnapshot,

    /// <summary>NEWLEADER (with its DIFF/TRUNC/SNAP) sent; proposals flow; waiting for its ACK.</summary>
    NewLeaderSent,

    /// <summary>NEWLEADER acknowledged: the learner has the leader's history durably (counts for quorums).</summary>
    Synced,

    /// <summary>UPTODATE sent: the learner serves clients.</summary>
    UpToDate,
}

/// <summary>
/// The leader's record of one learner link: stage, link sequencing, what was sent and acknowledged, and when the learner
/// was last heard. Mutable, owned by <see cref="LearnerTracker"/>.
/// </summary>
public sealed class LearnerProgress
{
    /// <summary>Creates the progress of a link opened by FOLLOWERINFO at <paramref name="tick"/>.</summary>
    /// <param name="id">The learner.</param>
    /// <param name="isObserver">True for an observer.</param>
    /// <param name="linkId">The leader's fresh id for the link.</param>
    /// <param name="acceptedEpoch">From FOLLOWERINFO.</param>
    /// <param name="tick">Now.</param>
    /// <param name="learnerNonce">The FOLLOWERINFO's nonce (copies of it are recognised and ignored).</param>
    public LearnerProgress(long id, bool isObserver, long linkId, long acceptedEpoch, long tick, long learnerNonce = 0)
    {
        Id = id;
        IsObserver = isObserver;
        LinkId = linkId;
        LearnerNonce = learnerNonce;
        AcceptedEpoch = acceptedEpoch;
        LastHeardTick = tick;
        ConnectedTick = tick;
        NextSeqIn = 1; // FOLLOWERINFO was 0
    }

    /// <summary>The learner's server id.</summary>
    public long Id { get; }

    /// <summary>True for an observer.</summary>
    public bool IsObserver { get; }

    /// <summary>The link id the leader chose (carried by every message after FOLLOWERINFO).</summary>
    public long LinkId { get; }

    /// <summary>The nonce of the FOLLOWERINFO that asked for the link.</summary>
    public long LearnerNonce { get; }

    /// <summary>Sequence number of the next message to the learner.</summary>
    public long NextSeqOut { get; set; }

    /// <summary>Sequence number expected next from the learner.</summary>
    public long NextSeqIn { get; set; }

    /// <summary>Stage of the link.</summary>
    public LearnerStage Stage { get; set; } = LearnerStage.Connected;

    /// <summary>Accepted epoch reported in FOLLOWERINFO.</summary>
    public long AcceptedEpoch { get; }

    /// <summary>True when its ACKEPOCH counts toward the epoch quorum (a first acceptance by a voter).</summary>
    public bool EpochAckCounts { get; set; }

    /// <summary>Current epoch reported in ACKEPOCH.</summary>
    public long ReportedCurrentEpoch { get; set; }

    /// <summary>Last zxid reported in ACKEPOCH.</summary>
    public long ReportedLastZxid { get; set; }

    /// <summary>Last zxid the learner will have once it processed everything sent on the link.</summary>
    public long SentZxid { get; set; }

    /// <summary>Last zxid the NEWLEADER brought it to.</summary>
    public long SyncZxid { get; set; }

    /// <summary>Highest zxid the learner acknowledged as durably logged (followers).</summary>
    public long AckedZxid { get; set; }

    /// <summary>Highest ping round it answered.</summary>
    public long PingRoundAcked { get; set; }

    /// <summary>Tick of the last message from it.</summary>
    public long LastHeardTick { get; set; }

    /// <summary>Tick the link was opened.</summary>
    public long ConnectedTick { get; }

    /// <summary>True from NEWLEADER sent on: proposals, commits or informs flow on the link.</summary>
    public bool ReceivesBroadcast => Stage >= LearnerStage.NewLeaderSent;

    /// <summary>True once it acknowledged NEWLEADER.</summary>
    public bool IsSynced => Stage >= LearnerStage.Synced;
}
