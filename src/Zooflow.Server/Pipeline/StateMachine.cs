using System.Collections.Concurrent;
using System.Threading.Channels;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Network;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

/// <summary>
/// The server's single writer: one loop over a bounded inbox that owns the <see cref="ZnodeTree"/>, the prep stage
/// (<see cref="RequestPreparer"/> and its private speculative view), the <see cref="WatchManager"/>, the sessions and each
/// session's reply order. No locks on the request path: everything here runs on the loop.
/// </summary>
/// <remarks>
/// <para><b>A write</b>: prep (validate, ACL against the speculative view, assign zxid) → <see cref="LogStage"/> (batched
/// append) → back here when durable → apply to the tree → send the watch notifications it fired → reply, in the session's
/// order. A watch event therefore always reaches a client before the reply that reflects the change.</para>
/// <para><b>A read</b> is answered at once from the tree unless the same session has earlier requests unanswered; then it
/// waits behind them (FIFO client order). Reads never wait for other sessions' writes.</para>
/// <para>Partial files by family: <c>.Session.cs</c> (connect, close, expiry, auth, ping), <c>.Writes.cs</c>,
/// <c>.Reads.cs</c>, <c>.Watches.cs</c>, <c>.Multi.cs</c>, <c>.Ensemble.cs</c> (the member of a replicated ensemble:
/// writes forwarded to the leader and applied when committed). Shutdown: complete the inbox; the loop drains and ends.</para>
/// <para><b>Control work</b> (ensemble: peer messages, consensus ticks, finished persists) comes through
/// <see cref="PostControl"/> and runs before the next client item, so acknowledgements are never stuck behind a full
/// inbox of client requests.</para>
/// </remarks>
internal sealed partial class StateMachine
{
    private static readonly byte[] EmptyPassword = new byte[16];

    private readonly ServerContext _server;
    private readonly Channel<Work> _inbox;
    private readonly ConcurrentQueue<Work> _control = new();
    private ZnodeTree _tree;
    private RequestPreparer _preparer;
    private int _wakeQueued;
    private readonly WatchManager _watches = new();
    private readonly SessionTracker _sessions;
    private readonly LogStage _log;
    private readonly Queue<(IReadOnlyList<LoggedTxn> Batch, Exception? Failure)> _durable = new();
    private readonly Lock _durableLock = new();
    private readonly List<ClientConnection> _dirty = [];
    private readonly Func<long, IReadOnlyList<Id>> _authIdsOf;
    private long _nextZxid;
    private int _inFlight;
    private int _epoch;

    public StateMachine(ServerContext server, Channel<Work> inbox, ZnodeTree tree, ITxnLog log, byte[] sessionSecret)
    {
        _server = server;
        _inbox = inbox;
        _tree = tree;
        _preparer = new RequestPreparer(tree, new DataTreeOptions { ExtendedTypesEnabled = server.Options.ExtendedTypesEnabled });
        _sessions = new SessionTracker(server.Options.ServerId, server.Options.TickTimeMs, server.NowMs(), sessionSecret);
        _nextZxid = tree.LastProcessedZxid;
        // Sessions recovered with the tree (createSession applied, no closeSession yet) live on until their timeout, so a
        // client that reconnects in time keeps its session and ephemerals.
        var now = server.NowMs();
        foreach (var (sessionId, timeoutMs) in tree.Sessions)
        {
            _sessions.Restore(sessionId, timeoutMs, now);
        }

        _log = new LogStage(log, server.Options.MaxInFlightTxns, OnDurable, OnLogFailed, server.Logger);
        _authIdsOf = AuthIdsOf;
    }

    /// <summary>The committed tree (loop only; four-letter words read it through <see cref="QueryWork"/>).</summary>
    public ZnodeTree Tree => _tree;

    /// <summary>The watch registry (loop only).</summary>
    public WatchManager Watches => _watches;

    /// <summary>The session table (loop only).</summary>
    public SessionTracker Sessions => _sessions;

    /// <summary>Transactions handed to the log and not yet applied.</summary>
    public int InFlight => _inFlight;

    /// <summary>The loop's task; completes after the inbox is completed and drained.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the log stage and the loop.</summary>
    public void Start(CancellationToken cancellationToken)
    {
        _log.Start(cancellationToken);
        Completion = Task.Run(() => RunAsync(cancellationToken), CancellationToken.None);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _inbox.Reader;
        try
        {
            while (true)
            {
                ApplyDurable();
                DrainControl();
                if (_inFlight < _server.Options.MaxInFlightTxns && reader.TryRead(out var work))
                {
                    Handle(work);
                    if (reader.Count == 0)
                    {
                        _driver?.Pump();
                        FlushDirty();
                    }

                    continue;
                }

                _driver?.Pump();
                FlushDirty();
                if (_inFlight >= _server.Options.MaxInFlightTxns)
                {
                    // Only an acknowledgement can unblock us; it arrives with a WakeWork, but we must not take new
                    // requests yet, so wait for the log stage directly.
                    await WaitForDurableAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            ServerLog.StateMachineFailed(_server.Logger, ex);
            throw;
        }
        finally
        {
            _log.Complete();
            await _log.Completion.ConfigureAwait(false);
            ApplyDurable();
            FlushDirty();
        }
    }

    private readonly SemaphoreSlim _durableSignal = new(0);

    private async Task WaitForDurableAsync(CancellationToken cancellationToken)
    {
        lock (_durableLock)
        {
            if (_durable.Count > 0 || !_control.IsEmpty)
            {
                return;
            }
        }

        await _durableSignal.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues control work for the loop from any thread (never blocks): it runs before the next client item.</summary>
    public void PostControl(Work work)
    {
        _control.Enqueue(work);
        _durableSignal.Release();
        if (Interlocked.Exchange(ref _wakeQueued, 1) == 0 && !_inbox.Writer.TryWrite(WakeWork.Instance))
        {
            // The inbox is full: the loop is busy and drains control work before its next item anyway.
            Volatile.Write(ref _wakeQueued, 0);
        }
    }

    private void DrainControl()
    {
        while (_control.TryDequeue(out var work))
        {
            Dispatch(work);
        }

        _driver?.Pump();
    }

    private void Handle(Work work)
    {
        try
        {
            Dispatch(work);
        }
        catch (Exception ex) when (work is RequestWork or ConnectWork && ex is ArgumentException or InvalidCastException or NullReferenceException or InvalidOperationException)
        {
            // A request we could not process (ZooKeeper: "Failed to process", MarshallingError). Nothing was applied:
            // writes only change state when their transaction applies. Answer and close that connection only.
            var connection = work is RequestWork r ? r.Connection : ((ConnectWork)work).Connection;
            ServerLog.RequestFailed(_server.Logger, connection.Remote, work is RequestWork rw ? (int)rw.Header.Type : -10, ex);
            if (work is RequestWork request)
            {
                connection.SendReply(new ReplyHeader(request.Header.Xid, _tree.LastProcessedZxid, ErrorCode.MarshallingError), null);
                MarkDirty(connection);
            }

            connection.CloseAfterSend();
        }
    }

    private void Dispatch(Work work)
    {
        switch (work)
        {
            case RequestWork request:
                _server.Stats.Dequeued();
                HandleRequest(request);
                break;
            case ConnectWork connect:
                _server.Stats.Dequeued();
                HandleConnect(connect);
                break;
            case DisconnectedWork disconnected:
                HandleDisconnected(disconnected.Connection);
                break;
            case TickWork:
                ExpireSessions();
                break;
            case ReapWork:
                ReapContainersAndTtls();
                break;
            case QueryWork query:
                RunQuery(query);
                break;
            case WakeWork:
                Volatile.Write(ref _wakeQueued, 0);
                break;
            case PeerMessagesWork messages:
                _driver?.OnMessages(messages.Messages);
                break;
            case PeerDisconnectedWork disconnected:
                _driver?.OnDisconnected(disconnected.Peer);
                break;
            case ConsensusTickWork:
                _driver?.OnTicks();
                break;
            case PersistedWork persisted:
                _driver?.OnPersisted(persisted.Ready, persisted.Failure);
                break;
            case SnapshotProducedWork produced:
                _driver?.OnSnapshotProduced(produced.Snapshot, produced.Failure);
                break;
            case PurgeWork purge:
                _driver?.RequestPurge(purge.RetainCount);
                break;
        }
    }

    private void RunQuery(QueryWork query)
    {
        try
        {
            query.Result.TrySetResult(query.Query(this));
        }
        catch (Exception ex)
        {
            query.Result.TrySetException(ex);
        }
    }

    // ---- log stage hand-off --------------------------------------------------------------------------------

    /// <summary>Called on the log stage's thread when a batch is durable.</summary>
    private void OnDurable(IReadOnlyList<LoggedTxn> batch) => Enqueue(batch, null);

    /// <summary>Called on the log stage's thread when a batch was refused or failed to append.</summary>
    private void OnLogFailed(IReadOnlyList<LoggedTxn> batch, Exception failure) => Enqueue(batch, failure);

    private void Enqueue(IReadOnlyList<LoggedTxn> batch, Exception? failure)
    {
        lock (_durableLock)
        {
            _durable.Enqueue((batch, failure));
        }

        _durableSignal.Release();
        // If the inbox is full the loop is busy and will drain acks before its next item anyway.
        _inbox.Writer.TryWrite(WakeWork.Instance);
    }

    private void ApplyDurable()
    {
        while (true)
        {
            IReadOnlyList<LoggedTxn> batch;
            Exception? failure;
            lock (_durableLock)
            {
                if (!_durable.TryDequeue(out var item))
                {
                    return;
                }

                (batch, failure) = item;
            }

            foreach (var txn in batch)
            {
                if (failure is null)
                {
                    _inFlight--;
                    Apply(txn.Header, txn.Txn);
                }
                else
                {
                    Refuse(txn);
                }
            }
        }
    }

    /// <summary>Hands a prepared transaction to the log stage.</summary>
    private long Submit(PrepareResult prepared)
    {
        _inFlight++;
        if (!_log.TryAppend(new LoggedTxn(prepared.Header, prepared.Txn) { Epoch = _epoch }))
        {
            // Only possible once the log stage stopped (failure or shutdown).
            _inFlight--;
            return 0;
        }

        return prepared.Header.Zxid;
    }

    private long NextZxid() => ++_nextZxid;

    /// <summary>Applies one durable (standalone) or committed (ensemble) transaction: tree, then watch notifications,
    /// then replies (watch-before-data).</summary>
    private void Apply(TxnHeader header, object? txn)
    {
        var result = _tree.Apply(header, txn);
        _preparer.Applied(header.Zxid);
        if (result.Triggers.Count > 0)
        {
            Deliver(_watches.TriggerAll(result.Triggers, _authIdsOf));
        }

        _sessions.TryGet(header.ClientId, out var session);
        switch (header.Type)
        {
            case OpCode.CreateSession:
                if (session is not null && session.State == SessionState.Creating)
                {
                    session.State = SessionState.Active;
                }
                else if (session is null && _driver is not null && txn is CreateSessionTxn created)
                {
                    // Ensemble: a session another member created; every member knows every session.
                    session = _sessions.Restore(header.ClientId, created.TimeOutMs, _server.NowMs());
                }

                break;
            case OpCode.CloseSession:
                if (session is not null)
                {
                    EndSession(session);
                }

                break;
        }

        if (session is not null && session.Pending.TryPeek(out var head) && IsAnswerTo(head, header))
        {
            if (head.Zxid == PendingRequest.AwaitingCommit)
            {
                // The leader's prep decided the outcome; an error transaction carries it (a multi's results carry theirs).
                _inFlight--;
                head.PrepError = header.Type == OpCode.Error && txn is ErrorTxn error && head.Request?.Header.Type != OpCode.Multi ? error.Err : ErrorCode.Ok;
            }

            head.Ready = true;
            head.Result = result;
            Drain(session);
        }

        if (header.Type == OpCode.CloseSession && session?.Connection is { } connection)
        {
            session.Connection = null;
            connection.Session = null;
            MarkDirty(connection);
            connection.CloseAfterSend();
        }
    }

    /// <summary>True when the applied transaction answers the session's oldest pending request: the same zxid
    /// (standalone), or, for a write forwarded to the leader, the same cxid and kind (createSession answers a connect).</summary>
    private static bool IsAnswerTo(PendingRequest head, TxnHeader header) =>
        head.Zxid == PendingRequest.AwaitingCommit
            ? head.Cxid == header.Cxid && (head.Request is null) == (header.Type == OpCode.CreateSession)
            : head.Zxid == header.Zxid && header.Zxid != 0;

    /// <summary>A transaction the log could not make durable: nothing is applied; its request is answered SystemError.</summary>
    private void Refuse(LoggedTxn logged)
    {
        _inFlight--;
        if (logged.Epoch == _epoch)
        {
            // Everything prepared so far assumed this transaction would apply: start a new epoch from the committed tree.
            _epoch++;
            _preparer.Reset();
        }

        var header = logged.Header;
        if (!_sessions.TryGet(header.ClientId, out var session))
        {
            return;
        }

        switch (header.Type)
        {
            case OpCode.CreateSession:
                // The session never existed durably: refuse the handshake like an unknown session.
                if (session.Pending.TryPeek(out var connect) && connect.Zxid == header.Zxid && connect.ConnectOn is { } connection)
                {
                    session.Pending.Dequeue();
                    connection.Session = null;
                    connection.SendRecord(new ConnectResponse(0, 0, 0, EmptyPassword, false));
                    MarkDirty(connection);
                    connection.CloseAfterSend();
                }

                session.Connection = null;
                session.State = SessionState.Closed;
                _sessions.Remove(session);
                return;
            case OpCode.CloseSession:
                // Still alive: expiry will try again after another timeout.
                session.State = SessionState.Active;
                _sessions.Touch(session, _server.NowMs());
                break;
        }

        if (session.Pending.TryPeek(out var head) && head.Zxid == header.Zxid)
        {
            head.Ready = true;
            head.Result = null;
            head.PrepError = ErrorCode.SystemError;
            Drain(session);
        }
    }

    private IReadOnlyList<Id> AuthIdsOf(long sessionId) =>
        _sessions.TryGet(sessionId, out var session) && session.Connection is { } connection ? connection.AuthIds : [];

    /// <summary>Sends answers at the head of the session's queue that are ready, in order.</summary>
    private void Drain(Session session)
    {
        while (session.Pending.TryPeek(out var pending) && pending.Ready)
        {
            session.Pending.Dequeue();
            Answer(session, pending);
        }
    }

    private void Answer(Session session, PendingRequest pending)
    {
        if (pending.Request is null)
        {
            if (pending.ConnectOn is { } connection)
            {
                SendConnectResponse(connection, session);
            }

            return;
        }

        var request = pending.Request;
        if (IsWrite(request.Header.Type))
        {
            ReplyWrite(request, pending);
        }
        else
        {
            ExecuteRead(session, request);
        }
    }

    // ---- replies -------------------------------------------------------------------------------------------

    private void Reply(RequestWork request, ErrorCode err, IJuteWritable? body, string op)
    {
        var connection = request.Connection;
        var zxid = _tree.LastProcessedZxid;
        connection.SendReply(new ReplyHeader(request.Header.Xid, zxid, err), err == ErrorCode.Ok ? body : null);
        MarkDirty(connection);
        var now = _server.NowMs();
        var latency = Math.Max(0, now - request.ReceivedAtMs);
        _server.Stats.Latency(latency);
        connection.LastCxid = request.Header.Xid;
        connection.LastZxid = zxid;
        connection.LastOperation = op;
        connection.LastLatencyMs = latency;
        connection.LastResponseAtMs = now;
        connection.MinLatencyMs = Math.Min(connection.MinLatencyMs, latency);
        connection.MaxLatencyMs = Math.Max(connection.MaxLatencyMs, latency);
        connection.LatencyTotalMs += latency;
        connection.LatencyCount++;
    }

    private void Deliver(IReadOnlyList<WatchDelivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (_sessions.TryGet(delivery.SessionId, out var target) && target.Connection is { } connection)
            {
                // ZooKeeper sends notifications with zxid -1 (NIOServerCnxn.process).
                connection.SendNotification(delivery.Event, -1);
                MarkDirty(connection);
            }
        }
    }

    private void MarkDirty(ClientConnection connection) => _dirty.Add(connection);

    private void FlushDirty()
    {
        foreach (var connection in _dirty)
        {
            connection.Flush();
        }

        _dirty.Clear();
    }
}
