using Zooflow.Consensus.Messages;

namespace Zooflow.Consensus;

/// <summary>
/// Work the core hands to its driver, from <see cref="ZabNode.TryGetReady"/>. The driver carries it out in this order
/// and then calls <see cref="ZabNode.Advance"/>:
/// <list type="number">
/// <item><b>Persist</b>, in this order, durably (fsync) before step 2: <see cref="InstallSnapshot"/> (replace the state
/// machine, save the snapshot, reset the log to start after it); then <see cref="TruncateAfterZxid"/> (remove log
/// records after it); then append <see cref="Entries"/>; then <see cref="HardState"/>, last. A crash may leave any
/// prefix of these writes, but the hard state must never be durable without the log writes before it: a current
/// epoch promises that the log holds that epoch's history (ZooKeeper's Learner writes the log and snapshot, then the
/// currentEpoch file, on NEWLEADER).</item>
/// <item><b>Send</b> <see cref="Messages"/> to their <see cref="ZabMessage.To"/> servers. Many of them promise that the
/// writes of step 1 are durable (ACKEPOCH, ACK, ACK of NEWLEADER), which is why sending comes after persisting.</item>
/// <item><b>Apply</b> <see cref="CommittedEntries"/> to the state machine in order; then complete
/// <see cref="CompletedSyncs"/> (their reads now see everything they must) and fail <see cref="AbortedSyncs"/>.</item>
/// <item><b>Hand over</b> <see cref="ForwardedRequests"/> and <see cref="SessionReports"/> (leader), and start
/// producing a snapshot for each of <see cref="SnapshotRequests"/> (leader; answer later with
/// <see cref="ProvideSnapshot"/>). Note <see cref="Status"/> and log <see cref="Events"/>.</item>
/// <item><b>Advance</b>: <see cref="ZabNode.Advance"/> with this same object. Only then is the next Ready produced.</item>
/// </list>
/// Persisting, sending and applying of one Ready may overlap with Step/Tick/Propose calls (they only queue work for the
/// next Ready), but never with another Ready.
/// </summary>
public sealed class Ready
{
    /// <summary>Hard state to persist after the log writes of this Ready, or null when unchanged.</summary>
    public HardState? HardState { get; init; }

    /// <summary>Learner (SNAP): the snapshot the leader sent. Replace the state machine with it, store it durably, and
    /// discard the whole log: afterwards the log's base is <see cref="SnapshotData.Zxid"/> and it holds no records.
    /// <see cref="CommittedEntries"/> of this Ready continue after it.</summary>
    public SnapshotData? InstallSnapshot { get; init; }

    /// <summary>Learner (TRUNC): remove every log record with a zxid greater than this. Never below the committed zxid.
    /// Applied after <see cref="InstallSnapshot"/> and before <see cref="Entries"/>.</summary>
    public long? TruncateAfterZxid { get; init; }

    /// <summary>Records to append to the log, ascending, each after the log's last record.</summary>
    public IReadOnlyList<LogEntry> Entries { get; init; } = [];

    /// <summary>Messages to send once this Ready's writes are durable. Loss is tolerated; the transport should still keep
    /// each peer's messages in order, since a reordering on a link costs a reconnection.</summary>
    public IReadOnlyList<ZabMessage> Messages { get; init; } = [];

    /// <summary>Committed records to apply, ascending and gap-free (each follows the previous one, or the snapshot, or
    /// the previous Ready's last). May include records in <see cref="Entries"/> of this Ready.</summary>
    public IReadOnlyList<LogEntry> CommittedEntries { get; init; } = [];

    /// <summary>Sync ids (<see cref="RequestSync"/>) that are complete once <see cref="CommittedEntries"/> are applied.</summary>
    public IReadOnlyList<long> CompletedSyncs { get; init; } = [];

    /// <summary>Sync ids that cannot complete (the server lost its leader); answer them with ConnectionLoss.</summary>
    public IReadOnlyList<long> AbortedSyncs { get; init; } = [];

    /// <summary>Leader: client requests forwarded by learners (and looped back from this server), in arrival order per
    /// learner. The driver prepares each into a transaction and proposes it.</summary>
    public IReadOnlyList<ForwardedRequest> ForwardedRequests { get; init; } = [];

    /// <summary>Leader: session data reported by learners (and looped back from this server).</summary>
    public IReadOnlyList<SessionReport> SessionReports { get; init; } = [];

    /// <summary>Leader: learners that need a snapshot (SNAP). Answer each with <see cref="ProvideSnapshot"/>.</summary>
    public IReadOnlyList<long> SnapshotRequests { get; init; } = [];

    /// <summary>The server's state after this Ready (role, leader, epochs, zxids, mntr figures).</summary>
    public required ZabStatus Status { get; init; }

    /// <summary>True when <see cref="ZabStatus.State"/>, <see cref="ZabStatus.LeaderId"/>, <see cref="ZabStatus.IsServing"/>
    /// or the current epoch changed since the previous Ready.</summary>
    public bool RoleChanged { get; init; }

    /// <summary>Diagnostics for the driver's log.</summary>
    public IReadOnlyList<ZabEvent> Events { get; init; } = [];

    /// <summary>True when the driver must write anything before sending.</summary>
    public bool MustPersist => HardState is not null || InstallSnapshot is not null || TruncateAfterZxid is not null || Entries.Count > 0;
}

/// <summary>A client request forwarded to the leader.</summary>
/// <param name="From">The server the client is connected to (this leader for looped-back requests).</param>
/// <param name="Data">The opaque request bytes.</param>
public readonly record struct ForwardedRequest(long From, ReadOnlyMemory<byte> Data);

/// <summary>Session liveness data reported to the leader.</summary>
/// <param name="From">The reporting server.</param>
/// <param name="Data">The opaque bytes.</param>
public readonly record struct SessionReport(long From, ReadOnlyMemory<byte> Data);
