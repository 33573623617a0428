using System.Buffers.Binary;
using Zooflow.Consensus;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Network;
using Zooflow.Server.Persistence;
using Zooflow.Server.Quorum;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// The member of a replicated ensemble (ZooKeeper's FollowerZooKeeperServer / LeaderZooKeeperServer /
// ObserverZooKeeperServer chains, on one loop):
//
//   every role:  client write ─► ForwardedWrite ─► (learner) ZabDriver.Forward ─► leader
//                                                └► (leader) its own prep queue
//                committed record (Ready.CommittedEntries) ─► Apply ─► watches, then the reply of the session waiting here
//                reads: the local tree, behind the session's own earlier requests (FIFO); sync ─► RequestSync
//   leader:      prep queue ─► RequestPreparer (speculative view) ─► TxnCodec ─► ZabDriver.Propose
//                session expiry and container/TTL reaping (only the leader decides); learners' session touches
//   learner:     session touches ─► ReportSessions every tick (they ride on the next ping reply)
//
// The leader prepares nothing until its tree has applied its whole initial history (the "barrier"): prep's speculative
// view starts from the applied tree and must not miss records committed by the establishment.
internal sealed partial class StateMachine : IReplicatedStateMachine
{
    private readonly Queue<ForwardedWrite> _prepQueue = new();
    private readonly Dictionary<long, (TxnHeader Header, object? Txn)> _proposed = [];
    private readonly Dictionary<long, (Session? Session, PendingRequest? Pending, ConnectWork? Connect)> _syncs = [];
    private readonly List<Session> _touched = [];
    private ZabDriver? _driver;
    private bool _serving = true;
    private bool _leaderReady;
    private long _leaderBarrier;
    private long _nextSyncId;

    /// <summary>The consensus driver of an ensemble member; null standalone.</summary>
    public ZabDriver? Driver => _driver;

    /// <summary>True while clients are served (always standalone; an ensemble member only while its role is established).</summary>
    public bool Serving => _serving;

    /// <summary>Makes this state machine an ensemble member driven by <paramref name="driver"/>: it serves nothing until
    /// the driver reports an established role. Call before <see cref="Start"/>.</summary>
    public void AttachEnsemble(ZabDriver driver)
    {
        _driver = driver;
        _serving = false;
        _server.Role = null;
    }

    /// <inheritdoc />
    public long AppliedZxid => _tree.LastProcessedZxid;

    // ---- client side ---------------------------------------------------------------------------------------------

    /// <summary>Sends a write towards the leader and parks its answer at the end of the session's queue.</summary>
    private void SubmitReplicated(Session session, ForwardedWrite write, PendingRequest? pending)
    {
        if (pending is not null)
        {
            pending.Zxid = PendingRequest.AwaitingCommit;
            session.Pending.Enqueue(pending);
            _inFlight++;
        }

        if (_driver!.IsLeader)
        {
            _prepQueue.Enqueue(write);
            DrainPrepQueue();
        }
        else
        {
            _driver.Forward(write.Encode());
        }
    }

    private void SubmitSync(Session session, RequestWork request)
    {
        var id = ++_nextSyncId;
        var pending = new PendingRequest(request) { SyncId = id };
        session.Pending.Enqueue(pending);
        _syncs[id] = (session, pending, null);
        _driver!.RequestSync(id);
    }

    private void Revalidate(ConnectWork work)
    {
        var id = ++_nextSyncId;
        _syncs[id] = (null, null, work);
        _driver!.RequestSync(id);
    }

    /// <inheritdoc />
    public void SyncFinished(long syncId, bool completed)
    {
        if (!_syncs.Remove(syncId, out var sync))
        {
            return;
        }

        if (sync.Connect is { } connect)
        {
            if (completed)
            {
                HandleConnect(new ConnectWork(connect.Connection, connect.Request) { Revalidated = true });
            }
            else
            {
                connect.Connection.Abort();
            }

            return;
        }

        if (completed)
        {
            sync.Pending!.Ready = true;
            Drain(sync.Session!);
        }
        else if (sync.Session!.Connection is { } connection)
        {
            // The leader is gone before the sync could complete: ConnectionLoss, the client retries elsewhere.
            connection.Abort();
        }
    }

    /// <summary>Learner: hands the sessions its clients touched since the last report to the leader.</summary>
    private void ReportTouchedSessions()
    {
        if (_touched.Count == 0)
        {
            return;
        }

        if (_serving && !_driver!.IsLeader)
        {
            // report := count:i32 (sessionId:i64 timeoutMs:i32)*
            var report = new byte[4 + (12 * _touched.Count)];
            BinaryPrimitives.WriteInt32BigEndian(report, _touched.Count);
            var offset = 4;
            foreach (var session in _touched)
            {
                BinaryPrimitives.WriteInt64BigEndian(report.AsSpan(offset), session.Id);
                BinaryPrimitives.WriteInt32BigEndian(report.AsSpan(offset + 8), session.TimeoutMs);
                offset += 12;
            }

            _driver.ReportSessions(report);
        }

        foreach (var session in _touched)
        {
            session.Touched = false;
        }

        _touched.Clear();
    }

    // ---- leader: prep and propose --------------------------------------------------------------------------------

    private void DrainPrepQueue()
    {
        var driver = _driver!;
        while (_prepQueue.Count > 0 && _leaderReady && driver.CanPropose)
        {
            var write = _prepQueue.Dequeue();
            var zxid = driver.NextZxid;
            var now = _server.NowMs();
            PrepareResult prepared;
            try
            {
                prepared = write.Kind switch
                {
                    ForwardKind.CreateSession => _preparer.PrepareCreateSession(write.SessionId, write.TimeoutMs, zxid, now),
                    ForwardKind.CloseSession => _preparer.PrepareCloseSession(write.SessionId, write.Cxid, zxid, now),
                    _ => _preparer.Prepare(write.SessionId, write.Cxid, write.Type, write.Body, write.AuthIds, zxid, now),
                };
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidCastException or NullReferenceException or InvalidOperationException)
            {
                // ZooKeeper's prep turns a request it cannot process into an error transaction (MarshallingError).
                prepared = new PrepareResult(new TxnHeader(write.SessionId, write.Cxid, zxid, now, OpCode.Error),
                    new ErrorTxn(ErrorCode.MarshallingError), ErrorCode.MarshallingError);
            }

            if (!driver.Propose(TxnCodec.Serialize(prepared.Header, prepared.Txn)))
            {
                // Stepped down meanwhile: everything prepared is void; StoppedServing follows with the next Ready.
                _leaderReady = false;
                _prepQueue.Clear();
                _preparer.Reset();
                return;
            }

            _proposed[zxid] = (prepared.Header, prepared.Txn);
        }
    }

    private void ReapAsLeader()
    {
        if (!_leaderReady)
        {
            return;
        }

        foreach (var path in _tree.FindExpiredContainersAndTtls(_server.NowMs(), _server.Options.ContainerMaxNeverUsedIntervalMs))
        {
            if (_prepQueue.Count >= _server.Options.MaxInFlightTxns)
            {
                break;
            }

            ServerLog.ReaperDelete(_server.Logger, "container/TTL", path);
            _prepQueue.Enqueue(ForwardedWrite.Request(0, 0, OpCode.DeleteContainer, path, []));
        }

        DrainPrepQueue();
    }

    /// <summary>Once the leader's tree holds its whole initial history, prep may start (from a fresh speculative view),
    /// and every session gets a full timeout from now (ZooKeeper's new leader does the same).</summary>
    private void CheckLeaderBarrier()
    {
        if (_leaderReady || _driver is not { IsLeader: true } || _tree.LastProcessedZxid < _leaderBarrier)
        {
            return;
        }

        _leaderReady = true;
        _preparer.Reset();
        _proposed.Clear();
        var now = _server.NowMs();
        foreach (var session in _sessions.Sessions.Values)
        {
            _sessions.Touch(session, now);
        }
    }

    // ---- IReplicatedStateMachine (the driver, on this loop) ------------------------------------------------------

    /// <inheritdoc />
    public void InstallSnapshot(SnapshotData snapshot)
    {
        var tree = TreeSnapshot.Load(new MemoryStream(snapshot.Data.ToArray(), writable: false), snapshot.Zxid, _server.Options.ExtendedTypesEnabled);
        QuorumLog.SnapshotInstalled(_server.Logger, snapshot.Zxid, snapshot.Data.Length, tree.NodeCount);
        _tree = tree;
        _preparer = new RequestPreparer(tree, new DataTreeOptions { ExtendedTypesEnabled = _server.Options.ExtendedTypesEnabled });
        _proposed.Clear();
        // Not serving during synchronisation: no client is attached, so the session table just follows the new tree.
        var now = _server.NowMs();
        foreach (var session in _sessions.Sessions.Values.ToList())
        {
            if (!tree.Sessions.ContainsKey(session.Id))
            {
                EndSession(session);
            }
        }

        foreach (var (id, timeoutMs) in tree.Sessions)
        {
            if (!_sessions.TryGet(id, out _))
            {
                _sessions.Restore(id, timeoutMs, now);
            }
        }
    }

    /// <inheritdoc />
    public void ApplyCommitted(LogEntry entry)
    {
        if (_proposed.Remove(entry.Zxid, out var proposed))
        {
            Apply(proposed.Header, proposed.Txn);
            return;
        }

        var decoded = TxnCodec.Deserialize(entry.Data, int.MaxValue);
        if (decoded.Header.Zxid != entry.Zxid)
        {
            throw new InvalidDataException($"committed record 0x{entry.Zxid:x} carries the header zxid 0x{decoded.Header.Zxid:x}");
        }

        Apply(decoded.Header, decoded.Txn);
    }

    /// <inheritdoc />
    public void Forwarded(long from, ReadOnlyMemory<byte> request)
    {
        if (!_driver!.IsLeader)
        {
            return;
        }

        ForwardedWrite write;
        try
        {
            write = ForwardedWrite.Decode(request, _server.Options.JuteMaxBufferBytes + 65536);
        }
        catch (ProtocolException ex)
        {
            QuorumLog.BadForwardedRequest(_server.Logger, from, ex.Message);
            return;
        }

        _prepQueue.Enqueue(write);
    }

    /// <inheritdoc />
    public void SessionsReported(long from, ReadOnlyMemory<byte> report)
    {
        var span = report.Span;
        if (span.Length < 4)
        {
            return;
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(span);
        if (count < 0 || span.Length != 4 + (12L * count))
        {
            QuorumLog.BadForwardedRequest(_server.Logger, from, $"session report of {span.Length} bytes does not hold {count} sessions");
            return;
        }

        var now = _server.NowMs();
        for (var i = 0; i < count; i++)
        {
            var id = BinaryPrimitives.ReadInt64BigEndian(span[(4 + (12 * i))..]);
            var timeoutMs = BinaryPrimitives.ReadInt32BigEndian(span[(12 + (12 * i))..]);
            if (_sessions.TryGet(id, out var session) && session.State == SessionState.Active)
            {
                session.TimeoutMs = timeoutMs;
                _sessions.Touch(session, now);
            }
        }
    }

    /// <inheritdoc />
    public void StoppedServing(ZabStatus status, string reason)
    {
        _serving = false;
        _server.Role = null;
        _leaderReady = false;
        _prepQueue.Clear();
        _proposed.Clear();
        _preparer.Reset();
        var connections = new List<ClientConnection>(_server.Connections.Values);
        QuorumLog.StoppedServing(_server.Logger, connections.Count, reason);
        foreach (var session in _sessions.Sessions.Values.ToList())
        {
            if (session.Connection is { } connection)
            {
                session.Connection = null;
                connection.Session = null;
                _watches.RemoveSession(session.Id);
            }

            // Every pending request fails with ConnectionLoss (its connection closes); a forwarded write may still
            // commit, and then applies like any other record.
            session.Pending.Clear();
            switch (session.State)
            {
                case SessionState.Creating:
                    // Never committed as far as we know; if it was, applying its createSession brings it back.
                    session.State = SessionState.Closed;
                    _sessions.Remove(session);
                    break;
                case SessionState.Closing:
                    session.State = SessionState.Active;
                    break;
            }
        }

        foreach (var connection in connections)
        {
            connection.Abort();
        }

        foreach (var (_, sync) in _syncs)
        {
            sync.Connect?.Connection.Abort();
        }

        _syncs.Clear();
        foreach (var session in _touched)
        {
            session.Touched = false;
        }

        _touched.Clear();
        _inFlight = 0;
        _ = status;
    }

    /// <inheritdoc />
    public void StartedServing(ZabStatus status)
    {
        _serving = true;
        _server.Role = status.ServerStateName;
        if (status.State == PeerState.Leading)
        {
            _leaderBarrier = status.LastZxid;
            CheckLeaderBarrier();
        }
    }

    /// <inheritdoc />
    public void ReadyDone(ZabStatus status)
    {
        CheckLeaderBarrier();
        if (_leaderReady)
        {
            DrainPrepQueue();
        }
    }
}
