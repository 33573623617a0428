namespace Zooflow.Consensus;

/// <summary>One record of the replicated log: a zxid and the opaque transaction bytes the driver proposed.</summary>
/// <param name="Zxid">The record's zxid; strictly increasing along every log.</param>
/// <param name="Data">The payload. The core never reads or changes it; it keeps a reference until the record has been
/// applied and dropped from its in-memory tail, so the driver must not reuse the buffer.</param>
public readonly record struct LogEntry(long Zxid, ReadOnlyMemory<byte> Data)
{
    /// <inheritdoc />
    public override string ToString() => $"{Consensus.Zxid.ToHex(Zxid)}({Data.Length}B)";
}

/// <summary>
/// The epochs a server must keep across restarts (Zab paper §IV: <c>f.a</c> and <c>f.e</c>; ZooKeeper's
/// <c>acceptedEpoch</c> and <c>currentEpoch</c> files).
/// </summary>
/// <param name="AcceptedEpoch">The last epoch this server promised to a prospective leader (NEWEPOCH / LEADERINFO
/// acknowledged). It never accepts a LEADERINFO for an older epoch: the "promise" of Paxos's phase 1.</param>
/// <param name="CurrentEpoch">The last epoch whose NEWLEADER this server accepted (its history is that leader's). Never
/// above <paramref name="AcceptedEpoch"/>.</param>
public readonly record struct HardState(long AcceptedEpoch, long CurrentEpoch)
{
    /// <summary>A fresh server: epochs 0.</summary>
    public static HardState Initial => default;

    /// <inheritdoc />
    public override string ToString() => $"accepted={AcceptedEpoch} current={CurrentEpoch}";
}

/// <summary>A snapshot of the driver's state machine: it reflects every committed record up to and including
/// <paramref name="Zxid"/> (and, for a fuzzy snapshot, possibly some later ones that replay idempotently).</summary>
/// <param name="Zxid">The last record the snapshot is known to contain.</param>
/// <param name="Data">The serialized state, opaque to the core.</param>
public sealed record SnapshotData(long Zxid, ReadOnlyMemory<byte> Data)
{
    /// <inheritdoc />
    public override string ToString() => $"snapshot {Consensus.Zxid.ToHex(Zxid)}({Data.Length}B)";
}

/// <summary>A server's state in ZooKeeper's terms (<c>QuorumPeer.ServerState</c>).</summary>
public enum PeerState
{
    /// <summary>Electing a leader.</summary>
    Looking,

    /// <summary>Voting member following a leader.</summary>
    Following,

    /// <summary>Leader (prospective until established).</summary>
    Leading,

    /// <summary>Non-voting member following a leader.</summary>
    Observing,
}

/// <summary>The Zab phase a server is in (Zab paper §IV; ZooKeeper's <c>QuorumPeer.ZabState</c>).</summary>
public enum ZabPhase
{
    /// <summary>Phase 0: fast leader election.</summary>
    Election,

    /// <summary>Phase 1: the prospective leader collects FOLLOWERINFO and establishes a new epoch (LEADERINFO / ACKEPOCH).</summary>
    Discovery,

    /// <summary>Phase 2: the leader brings learners to its history (DIFF / TRUNC / SNAP, NEWLEADER / ACK).</summary>
    Synchronization,

    /// <summary>Phase 3: the established leader broadcasts proposals; learners are up to date and serve clients.</summary>
    Broadcast,
}

/// <summary>A vote in fast leader election: the proposed leader and the history it would bring.</summary>
/// <param name="Leader">Proposed leader's server id; -1 for "no one" (an observer's initial vote).</param>
/// <param name="Zxid">Last logged zxid of the proposed leader.</param>
/// <param name="PeerEpoch">Current epoch of the proposed leader.</param>
public readonly record struct Vote(long Leader, long Zxid, long PeerEpoch)
{
    /// <summary>The vote of a server that proposes no one (observers): worse than any real vote.</summary>
    public static Vote None => new(-1, long.MinValue, long.MinValue);

    /// <summary>
    /// FastLeaderElection's <c>totalOrderPredicate</c>: true when this vote beats <paramref name="other"/> by
    /// (epoch, zxid, server id), in that order. The most up-to-date history wins; ids break ties.
    /// </summary>
    public bool IsBetterThan(Vote other) =>
        PeerEpoch > other.PeerEpoch
        || (PeerEpoch == other.PeerEpoch && (Zxid > other.Zxid || (Zxid == other.Zxid && Leader > other.Leader)));

    /// <inheritdoc />
    public override string ToString() => $"(leader={Leader} zxid={Consensus.Zxid.ToHex(Zxid)} epoch={PeerEpoch})";
}

/// <summary>How a leader brings a learner to its history (ZooKeeper's LearnerHandler.syncFollower).</summary>
public enum SyncMode
{
    /// <summary>DIFF: the learner's log is a prefix of the leader's; send the missing records.</summary>
    Diff,

    /// <summary>TRUNC (+ DIFF): the learner has records the leader does not (never committed); cut them, then send the
    /// missing ones.</summary>
    Trunc,

    /// <summary>SNAP: the learner is too far behind, or the leader has purged the records it needs; send a snapshot of
    /// the leader's state, then the records after it.</summary>
    Snap,
}

/// <summary>The outcome of <see cref="ZabNode.Propose"/>.</summary>
public enum ProposeStatus
{
    /// <summary>The record was given <see cref="ProposeResult.Zxid"/> and is on its way to the quorum.</summary>
    Accepted,

    /// <summary>This server is not an established leader (or just stepped down); the driver answers the client with
    /// ConnectionLoss so it retries elsewhere.</summary>
    NotLeader,

    /// <summary>Too many proposals are uncommitted (<see cref="ZabOptions.PendingProposalsMax"/>); retry after commits.</summary>
    Busy,
}

/// <summary>The outcome of <see cref="ZabNode.Propose"/>.</summary>
/// <param name="Status">Accepted, or why not.</param>
/// <param name="Zxid">The zxid given to the record when accepted; 0 otherwise.</param>
public readonly record struct ProposeResult(ProposeStatus Status, long Zxid)
{
    /// <summary>True when accepted.</summary>
    public bool IsAccepted => Status == ProposeStatus.Accepted;
}

/// <summary>What the core tells the driver to log (rare events only: role changes, sync decisions, dropped links).</summary>
public enum ZabEventKind
{
    /// <summary>A new election round began.</summary>
    ElectionStarted,

    /// <summary>Election concluded: following, observing or leading.</summary>
    ElectionConcluded,

    /// <summary>A prospective leader chose its epoch.</summary>
    EpochProposed,

    /// <summary>A leader became established (quorum acknowledged NEWLEADER) and serves.</summary>
    LeaderEstablished,

    /// <summary>The leader decided how to synchronise a learner.</summary>
    LearnerSync,

    /// <summary>A learner became up to date.</summary>
    UpToDate,

    /// <summary>A leader-learner link was dropped (timeout, gap in sequence, reset, peer down).</summary>
    LinkDropped,

    /// <summary>The server stopped following or leading (why is in the text).</summary>
    LeftRole,

    /// <summary>An input was ignored (stale, from a non-member, wrong link).</summary>
    Ignored,
}

/// <summary>A diagnostic event for the driver's log.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Text">Details (ids, zxids in hex); never payload bytes.</param>
public readonly record struct ZabEvent(ZabEventKind Kind, string Text)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {Text}";
}
