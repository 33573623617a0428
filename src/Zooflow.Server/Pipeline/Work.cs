using Zooflow.Consensus;
using Zooflow.Consensus.Messages;
using Zooflow.Jute;
using Zooflow.Server.Network;

namespace Zooflow.Server.Pipeline;

/// <summary>An item for the state machine loop. Connections, timers and the log stage produce them; only the loop consumes.</summary>
internal abstract class Work;

/// <summary>The first frame of a connection.</summary>
internal sealed class ConnectWork(ClientConnection connection, ConnectRequest request) : Work
{
    public ClientConnection Connection { get; } = connection;
    public ConnectRequest Request { get; } = request;
    /// <summary>Ensemble: the session was unknown here and a sync has since brought this server up to date; an unknown
    /// session now is really expired.</summary>
    public bool Revalidated { get; init; }
}

/// <summary>A decoded request after the handshake.</summary>
internal sealed class RequestWork(ClientConnection connection, RequestHeader header, object? body, long receivedAtMs) : Work
{
    public ClientConnection Connection { get; } = connection;
    public RequestHeader Header { get; } = header;
    /// <summary>The body record, null for requests without one, or for opcodes we cannot decode (<see cref="Known"/> false).</summary>
    public object? Body { get; } = body;
    public long ReceivedAtMs { get; } = receivedAtMs;
    /// <summary>False for an opcode the codec does not know: answered Unimplemented and the connection closed.</summary>
    public bool Known { get; init; } = true;
}

/// <summary>The connection's socket closed (the session, if any, stays until its timeout).</summary>
internal sealed class DisconnectedWork(ClientConnection connection) : Work
{
    public ClientConnection Connection { get; } = connection;
}

/// <summary>A tick: expire sessions whose deadline passed.</summary>
internal sealed class TickWork : Work
{
    public static readonly TickWork Instance = new();
}

/// <summary>Time for the container/TTL reaper.</summary>
internal sealed class ReapWork : Work
{
    public static readonly ReapWork Instance = new();
}

/// <summary>Nudges the loop after the log stage acknowledged a batch.</summary>
internal sealed class WakeWork : Work
{
    public static readonly WakeWork Instance = new();
}

/// <summary>A read-only query of server state (four-letter words) run on the loop so it sees a consistent state.</summary>
internal sealed class QueryWork(Func<StateMachine, string> query) : Work
{
    public Func<StateMachine, string> Query { get; } = query;
    public TaskCompletionSource<string> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

// ---- ensemble control work: produced by the consensus driver's transport, timer and persist task; the loop runs it
// ahead of client work (StateMachine.PostControl). --------------------------------------------------------------------

/// <summary>Messages from a peer connection, in arrival order.</summary>
internal sealed class PeerMessagesWork(List<ZabMessage> messages) : Work
{
    public List<ZabMessage> Messages { get; } = messages;
}

/// <summary>A quorum connection to or from a peer was lost.</summary>
internal sealed class PeerDisconnectedWork(long peer) : Work
{
    public long Peer { get; } = peer;
}

/// <summary>Consensus ticks are due (the driver counts how many).</summary>
internal sealed class ConsensusTickWork : Work
{
    public static readonly ConsensusTickWork Instance = new();
}

/// <summary>The persist of a Ready finished (failure non-null: it did not).</summary>
internal sealed class PersistedWork(Ready ready, Exception? failure) : Work
{
    public Ready Ready { get; } = ready;
    public Exception? Failure { get; } = failure;
}

/// <summary>A snapshot for SNAP learners is ready (or could not be made).</summary>
internal sealed class SnapshotProducedWork(SnapshotData? snapshot, Exception? failure) : Work
{
    public SnapshotData? Snapshot { get; } = snapshot;
    public Exception? Failure { get; } = failure;
}

/// <summary>Autopurge is due (ensemble: it runs between two persists, so no append races the segment removal).</summary>
internal sealed class PurgeWork(int retainCount) : Work
{
    public int RetainCount { get; } = retainCount;
}

/// <summary>A request of a session that cannot be answered yet: it waits behind the session's earlier writes.</summary>
internal sealed class PendingRequest(RequestWork? request)
{
    /// <summary>The request, or null for the session's createSession (its answer is the ConnectResponse).</summary>
    public RequestWork? Request { get; } = request;

    /// <summary>For createSession: the connection that waits for the ConnectResponse.</summary>
    public ClientConnection? ConnectOn { get; init; }
    /// <summary>Ensemble: <see cref="Zxid"/> of a write forwarded to the leader and not yet applied here (its zxid is the
    /// leader's to choose; it is recognised by session and cxid when it commits).</summary>
    public const long AwaitingCommit = -1;

    /// <summary>The zxid of this request's transaction while it is in the log; 0 for reads and already-failed writes;
    /// <see cref="AwaitingCommit"/> for a forwarded write.</summary>
    public long Zxid { get; set; }

    /// <summary>The request's xid (0 for the createSession of a connect).</summary>
    public int Cxid => Request?.Header.Xid ?? 0;

    /// <summary>Ensemble: the id of the sync this entry waits for (a client's sync request, or 0).</summary>
    public long SyncId { get; set; }
    /// <summary>True once the answer can go out (the transaction applied, or nothing to wait for).</summary>
    public bool Ready { get; set; }
    /// <summary>For writes: the error prep found (Ok for a multi, whose results carry the errors).</summary>
    public ErrorCode PrepError { get; set; }
    /// <summary>For applied writes: the apply result.</summary>
    public Zooflow.DataTree.ApplyResult? Result { get; set; }
}
