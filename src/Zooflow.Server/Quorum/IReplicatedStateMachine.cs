using Zooflow.Consensus;

namespace Zooflow.Server.Quorum;

/// <summary>
/// What the consensus driver (<see cref="ZabDriver"/>) hands to the server's state machine, in the order of the driver
/// contract (docs/consensus.md): a snapshot to install, committed records to apply, syncs to answer, and on the leader
/// the forwarded requests and session reports to prepare. Every call comes on the state machine's loop thread.
/// </summary>
internal interface IReplicatedStateMachine
{
    /// <summary>The zxid the tree reflects (the snapshot it was loaded from, then every applied record).</summary>
    long AppliedZxid { get; }

    /// <summary>SNAP: replace the tree with the leader's snapshot (already durable).</summary>
    void InstallSnapshot(SnapshotData snapshot);

    /// <summary>Apply one committed record (ascending, gap-free) and answer the local client whose request it is.</summary>
    void ApplyCommitted(LogEntry entry);

    /// <summary>A sync is complete (every record it must see is applied) or aborted (answer ConnectionLoss).</summary>
    void SyncFinished(long syncId, bool completed);

    /// <summary>Leader: a client request a learner forwarded (decode, queue for prep, propose).</summary>
    void Forwarded(long from, ReadOnlyMemory<byte> request);

    /// <summary>Leader: session touches a learner reported.</summary>
    void SessionsReported(long from, ReadOnlyMemory<byte> report);

    /// <summary>The server stopped serving (LOOKING, lost its leader or its quorum): fail every pending request with
    /// ConnectionLoss and close every client connection, as ZooKeeper does when a server leaves its role.</summary>
    void StoppedServing(ZabStatus status, string reason);

    /// <summary>The server serves (again): an established leader or an up-to-date learner, its Ready applied.</summary>
    void StartedServing(ZabStatus status);

    /// <summary>After each Ready was carried out (before Advance): the leader prepares what waits for prep.</summary>
    void ReadyDone(ZabStatus status);
}
