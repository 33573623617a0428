namespace Zooflow.Consensus.Messages;

/// <summary>
/// Forward an opaque client request to the leader (a follower's or observer's write). On the leader itself it loops
/// back into <see cref="Ready.ForwardedRequests"/>, so a driver may send every write this way. Dropped silently when the
/// server is not serving; the driver fails such requests with ConnectionLoss when it sees
/// <see cref="ZabStatus.IsServing"/> turn false.
/// </summary>
/// <param name="Data">Request bytes, defined by the driver (for ZooKeeper: session id, cxid, opcode, request, auth).</param>
public sealed record ForwardRequest(ReadOnlyMemory<byte> Data) : LocalInput;

/// <summary>
/// Start a sync (ZooKeeper's <c>sync</c> operation). Completes in <see cref="Ready.CompletedSyncs"/> once this server
/// has applied every record committed before the leader received the request, and the leader has confirmed with a
/// quorum that it was still leader after receiving it; or is reported in <see cref="Ready.AbortedSyncs"/> if the
/// server loses its leader first.
/// </summary>
/// <param name="SyncId">Driver-chosen id, unique among this server's outstanding syncs.</param>
public sealed record RequestSync(long SyncId) : LocalInput;

/// <summary>
/// Session liveness data for the leader (ZooKeeper's learner session touch table). A learner sends it with its next
/// <see cref="PingReply"/>; on the leader it loops back into <see cref="Ready.SessionReports"/>. Dropped while the
/// learner has no link (sessions are touched again once reconnected).
/// </summary>
/// <param name="Data">Opaque bytes, defined by the driver.</param>
public sealed record ReportSessions(ReadOnlyMemory<byte> Data) : LocalInput;

/// <summary>
/// The leader's driver answers a <see cref="Ready.SnapshotRequests"/> entry: a snapshot of its applied state, to be
/// sent to <paramref name="Learner"/> inside NEWLEADER (SNAP). Ignored if the learner's link is gone meanwhile.
/// </summary>
/// <param name="Learner">The learner the snapshot is for.</param>
/// <param name="Snapshot">The state at <see cref="SnapshotData.Zxid"/>, which must be a zxid this driver has applied. If its
/// log no longer holds the records after it, the leader asks again through <see cref="Ready.SnapshotRequests"/>.</param>
public sealed record ProvideSnapshot(long Learner, SnapshotData Snapshot) : LocalInput;

/// <summary>The transport lost its connection to <paramref name="Peer"/> (a TCP reset). A learner whose leader is that
/// peer goes LOOKING at once; a leader drops that learner. Optional: silence timeouts reach the same result later.</summary>
/// <param name="Peer">The peer's server id.</param>
public sealed record PeerDisconnected(long Peer) : LocalInput;
