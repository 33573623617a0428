using Microsoft.Extensions.Logging;
using Zooflow.Consensus;
using Zooflow.Consensus.Messages;
using Zooflow.Server.Persistence;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server.Quorum;

/// <summary>
/// The consensus driver of an ensemble member: owns the <see cref="ZabNode"/> and carries out its
/// <see cref="Ready"/>s in the contract's order (docs/consensus.md, "The driver contract"): persist through the
/// <see cref="ZabLogStore"/> (snapshot, truncation, appends with one group-committed fsync, epochs), send through the
/// <see cref="PeerTransport"/>, hand committed records, syncs, forwarded requests and session reports to the state
/// machine, then <see cref="ZabNode.Advance"/>.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> Everything but the persist itself runs on the state machine's loop (the single writer): peer
/// messages, ticks, completed persists and produced snapshots arrive as control work items. One Ready is in flight at a
/// time; while its fsync runs, the loop keeps stepping the node (messages, ticks, proposals), which is what batches the
/// next Ready (group commit). A persist that only appends starts on the loop (the appends are queued to the log's
/// writer) and completes on the writer; one that installs a snapshot or truncates runs on the thread pool.</para>
/// <para><b>Early send.</b> A leader in broadcast sends a Ready's messages before its own fsync when they are only
/// proposals, commits, pings, informs and sync replies (the contract allows it for proposals; commits, informs and sync
/// replies depend only on what a quorum already made durable). Its own acknowledgement still counts only at Advance.</para>
/// <para><b>Failures.</b> A failed persist or a <see cref="ZabInvariantException"/> stops the server (the node cannot
/// continue from half-written state; ZooKeeper exits too): <see cref="Fatal"/> completes and the host exits.</para>
/// </remarks>
internal sealed class ZabDriver : IPeerInbox, IAsyncDisposable
{
    private readonly ZabOptions _options;
    private readonly ZabLogStore _store;
    private readonly PeerTransport _transport;
    private readonly Action<Work> _post;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _tickIntervalMs;
    private readonly TaskCompletionSource<string> _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<long> _snapshotWaiters = [];
    private IReplicatedStateMachine? _machine;
    private ZabNode? _node;
    private Ready? _persisting;
    private bool _sentEarly;
    private bool _serving;
    private int _pendingTicks;
    private long _nextZxid;
    private int _pendingEstimate;
    private Task _ticker = Task.CompletedTask;
    private Func<CancellationToken, Task<SnapshotData>>? _snapshotSource;
    private bool _snapshotRunning;
    private int _purgeRetain;

    /// <param name="options">The core's options (from zoo.cfg timing, with a fresh random seed).</param>
    /// <param name="store">The member's durable consensus state.</param>
    /// <param name="quorum">The ensemble.</param>
    /// <param name="frameBytesMax">Largest ordinary peer frame.</param>
    /// <param name="post">Queues control work for the state machine loop (thread-safe, never blocks).</param>
    /// <param name="tickIntervalMs">Milliseconds between <see cref="ZabNode.Tick"/>s.</param>
    /// <param name="time">Clock of the tick timer.</param>
    /// <param name="logger">Logger.</param>
    public ZabDriver(ZabOptions options, ZabLogStore store, Configuration.QuorumOptions quorum, int frameBytesMax, Action<Work> post,
        int tickIntervalMs, TimeProvider time, ILogger logger)
    {
        _options = options;
        _store = store;
        _post = post;
        _tickIntervalMs = tickIntervalMs;
        _time = time;
        _logger = logger;
        _transport = new PeerTransport(quorum, this, frameBytesMax, Array.MaxLength - 64, logger);
    }

    /// <summary>Completes with the reason when the server must stop (failed persist, broken invariant).</summary>
    public Task<string> Fatal => _fatal.Task;

    /// <summary>The status of the last Ready (loop only).</summary>
    public ZabStatus Status { get; private set; }

    /// <summary>True once the driver has seen the node serve and until it stops (loop only).</summary>
    public bool IsServing => _serving;

    /// <summary>True when this server is the established leader (loop only).</summary>
    public bool IsLeader => _serving && Status.State == PeerState.Leading;

    /// <summary>The zxid the next accepted proposal gets (leader, loop only).</summary>
    public long NextZxid => _nextZxid;

    /// <summary>The bound quorum and election endpoints.</summary>
    public IReadOnlyList<System.Net.EndPoint> PeerEndpoints => _transport.ListenEndpoints;

    /// <summary>The bytes of the node's log on disk (for mntr's last proposal size; loop only).</summary>
    public long LastProposalBytes { get; private set; } = -1;

    /// <summary>Smallest and largest proposal sizes (mntr).</summary>
    public (long Min, long Max) ProposalBytesRange { get; private set; } = (-1, -1);

    /// <summary>Creates the node over the recovered state and starts the transport and the tick timer.</summary>
    /// <param name="machine">The state machine (its tree is at <see cref="IReplicatedStateMachine.AppliedZxid"/>).</param>
    /// <param name="snapshotSource">Produces a snapshot of the applied tree for a SNAP learner (fuzzy, off the loop).</param>
    public void Start(IReplicatedStateMachine machine, Func<CancellationToken, Task<SnapshotData>> snapshotSource)
    {
        _machine = machine;
        _snapshotSource = snapshotSource;
        _node = new ZabNode(_options, _store, machine.AppliedZxid);
        Status = _node.Status;
        _transport.Start();
        _ticker = TickLoopAsync(_stop.Token);
    }

    private async Task TickLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_tickIntervalMs), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                // Ticks are counted, never dropped: a busy loop runs them all when it gets to them (time did pass).
                if (Interlocked.Increment(ref _pendingTicks) == 1)
                {
                    _post(ConsensusTickWork.Instance);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // ---- IPeerInbox (transport tasks) ----------------------------------------------------------------------------

    void IPeerInbox.Received(List<ZabMessage> batch) => _post(new PeerMessagesWork(batch));

    void IPeerInbox.Disconnected(long peer) => _post(new PeerDisconnectedWork(peer));

    /// <summary>Sends one message now (loop only; the transport queues it per peer).</summary>
    private void Send(IReadOnlyList<ZabMessage> messages)
    {
        foreach (var message in messages)
        {
            _transport.Send(message);
        }
    }

    // ---- inputs (loop only) ----------------------------------------------------------------------------------------

    /// <summary>Peer messages, in arrival order.</summary>
    public void OnMessages(List<ZabMessage> messages)
    {
        foreach (var message in messages)
        {
            Step(message);
        }
    }

    /// <summary>The transport lost a quorum connection.</summary>
    public void OnDisconnected(long peer) => Step(new PeerDisconnected(peer));

    /// <summary>Ticks that accumulated since the last call.</summary>
    public void OnTicks()
    {
        var ticks = Interlocked.Exchange(ref _pendingTicks, 0);
        for (var i = 0; i < ticks && _node is not null; i++)
        {
            Guard(() => _node.Tick());
        }
    }

    /// <summary>Forwards a client write to the leader (learner).</summary>
    public void Forward(byte[] request) => Step(new ForwardRequest(request));

    /// <summary>Starts a sync (any role); completes through <see cref="IReplicatedStateMachine.SyncFinished"/>.</summary>
    public void RequestSync(long syncId) => Step(new RequestSync(syncId));

    /// <summary>Hands session touches to the leader with the next ping reply (learner).</summary>
    public void ReportSessions(byte[] report) => Step(new ReportSessions(report));

    /// <summary>True when the leader may prepare and propose one more record now (below PendingProposalsMax).</summary>
    public bool CanPropose => IsLeader && _pendingEstimate < _options.PendingProposalsMax;

    /// <summary>
    /// Leader: proposes a prepared transaction whose header carries <see cref="NextZxid"/>. Call only when
    /// <see cref="CanPropose"/>; anything but acceptance at that zxid means the leader stepped down meanwhile.
    /// </summary>
    /// <returns>True when accepted.</returns>
    public bool Propose(byte[] txn)
    {
        var node = _node!;
        ProposeResult result = default;
        Guard(() => result = node.Propose(txn));
        if (!result.IsAccepted)
        {
            return false;
        }

        if (result.Zxid != _nextZxid)
        {
            Stop($"the core gave proposal zxid 0x{result.Zxid:x} but the prepared header says 0x{_nextZxid:x}", null);
            return false;
        }

        _nextZxid++;
        _pendingEstimate++;
        LastProposalBytes = txn.Length;
        var (min, max) = ProposalBytesRange;
        ProposalBytesRange = (min < 0 ? txn.Length : Math.Min(min, txn.Length), Math.Max(max, txn.Length));
        return true;
    }

    /// <summary>A persist completed (on the loop again).</summary>
    public void OnPersisted(Ready ready, Exception? failure)
    {
        if (failure is not null)
        {
            Stop($"could not persist consensus state ({failure.GetType().Name}: {failure.Message}); the log and epoch files must be intact before this member runs again", failure);
            return;
        }

        if (!ReferenceEquals(ready, _persisting))
        {
            return;
        }

        _persisting = null;
        Complete(ready, _sentEarly);
        TryPurge();
        Pump();
    }

    /// <summary>Autopurge: runs now, or right after the persist in flight (never concurrently with an append).</summary>
    public void RequestPurge(int retainCount)
    {
        _purgeRetain = retainCount;
        TryPurge();
    }

    private void TryPurge()
    {
        if (_purgeRetain == 0 || _persisting is not null || _machine is null)
        {
            return;
        }

        var retain = _purgeRetain;
        _purgeRetain = 0;
        try
        {
            var result = _store.Purge(retain, _machine.AppliedZxid);
            PersistenceLog.Purged(_logger, retain, result.OldestKeptZxid is { } z ? $"0x{z:x}" : "none", result.DeletedSnapshots.Count, result.DeletedLogSegments.Count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            PersistenceLog.PurgeFailed(_logger, ex);
        }
    }

    /// <summary>A snapshot for SNAP learners was produced (or failed).</summary>
    public void OnSnapshotProduced(SnapshotData? snapshot, Exception? failure)
    {
        _snapshotRunning = false;
        var learners = _snapshotWaiters.ToArray();
        _snapshotWaiters.Clear();
        foreach (var learner in learners)
        {
            if (snapshot is null)
            {
                QuorumLog.SnapshotFailed(_logger, learner, failure?.Message ?? "no snapshot");
                continue;
            }

            QuorumLog.SnapshotProvided(_logger, snapshot.Zxid, snapshot.Data.Length, learner);
            Step(new ProvideSnapshot(learner, snapshot));
        }
    }

    private void Step(ZabInput input)
    {
        if (_node is { } node)
        {
            Guard(() => node.Step(input));
        }
    }

    private void Guard(Action action)
    {
        if (_fatal.Task.IsCompleted)
        {
            return;
        }

        try
        {
            action();
        }
        catch (ZabInvariantException ex)
        {
            Stop("a consensus invariant was violated: " + ex.Message, ex);
        }
    }

    private void Stop(string reason, Exception? exception)
    {
        if (_fatal.TrySetResult(reason))
        {
            QuorumLog.Fatal(_logger, reason, exception);
            _node = null;
        }
    }

    // ---- Readies (loop only) ---------------------------------------------------------------------------------------

    /// <summary>Carries out every Ready the node has (until one must wait for its fsync).</summary>
    public void Pump()
    {
        while (_persisting is null && _node is { } node && !_fatal.Task.IsCompleted)
        {
            Ready? ready = null;
            Guard(() => node.TryGetReady(out ready));
            if (ready is null)
            {
                return;
            }

            Observe(ready);
            if (ready.MustPersist)
            {
                _sentEarly = CanSendEarly(ready);
                if (_sentEarly)
                {
                    Send(ready.Messages);
                }

                _persisting = ready;
                _ = PersistAsync(ready);
                return;
            }

            Complete(ready, sent: false);
        }
    }

    private static bool CanSendEarly(Ready ready)
    {
        if (ready.Status.State != PeerState.Leading || ready.Status.Phase != ZabPhase.Broadcast || ready.HardState is not null
            || ready.InstallSnapshot is not null || ready.TruncateAfterZxid is not null)
        {
            return false;
        }

        foreach (var m in ready.Messages)
        {
            if (m is not (Proposal or Commit or Ping or Inform or SyncReply))
            {
                return false;
            }
        }

        return true;
    }

    private async Task PersistAsync(Ready ready)
    {
        try
        {
            if (ready.InstallSnapshot is not null || ready.TruncateAfterZxid is not null || ready.HardState is not null)
            {
                // Blocking file work: off the loop.
                await Task.Run(() => PersistSlowAsync(ready)).ConfigureAwait(false);
            }
            else
            {
                await _store.AppendAsync(ready.Entries, CancellationToken.None).ConfigureAwait(false);
            }

            _post(new PersistedWork(ready, null));
        }
        catch (Exception ex)
        {
            _post(new PersistedWork(ready, ex));
        }
    }

    private async Task PersistSlowAsync(Ready ready)
    {
        if (ready.InstallSnapshot is { } snapshot)
        {
            await _store.InstallSnapshotAsync(snapshot, CancellationToken.None).ConfigureAwait(false);
        }

        if (ready.TruncateAfterZxid is { } truncate)
        {
            var removed = _store.TruncateAfter(truncate);
            QuorumLog.Truncated(_logger, truncate, removed);
        }

        await _store.AppendAsync(ready.Entries, CancellationToken.None).ConfigureAwait(false);
        if (ready.HardState is { } hard)
        {
            _store.WriteHardState(hard);
        }
    }

    private void Observe(Ready ready)
    {
        var previous = Status;
        Status = ready.Status;
        foreach (var e in ready.Events)
        {
            if (e.Kind == ZabEventKind.Ignored)
            {
                QuorumLog.ConsensusIgnored(_logger, e.ToString());
            }
            else
            {
                QuorumLog.ConsensusEvent(_logger, e.ToString());
            }
        }

        if (ready.RoleChanged)
        {
            var s = ready.Status;
            QuorumLog.RoleChanged(_logger, s.ServerId, s.ServerStateName, s.Phase.ToString(), s.LeaderId, s.CurrentEpoch, s.IsServing, s.LastZxid);
        }

        if (_serving && (!ready.Status.IsServing || ready.Status.CurrentEpoch != previous.CurrentEpoch || ready.Status.State != previous.State))
        {
            _serving = false;
            _pendingEstimate = 0;
            var reason = ready.Status.IsServing ? "role changed" : $"now {ready.Status.ServerStateName} in {ready.Status.Phase}";
            _machine!.StoppedServing(ready.Status, reason);
        }

        if (ready.Status.State == PeerState.Leading)
        {
            // The core's count is exact as of this Ready; proposals made since add to it.
            _pendingEstimate = ready.Status.PendingProposals;
        }
    }

    private void Complete(Ready ready, bool sent)
    {
        var machine = _machine!;
        if (!sent)
        {
            Send(ready.Messages);
        }

        if (ready.InstallSnapshot is { } snapshot)
        {
            machine.InstallSnapshot(snapshot);
        }

        foreach (var entry in ready.CommittedEntries)
        {
            machine.ApplyCommitted(entry);
        }

        foreach (var id in ready.CompletedSyncs)
        {
            machine.SyncFinished(id, completed: true);
        }

        foreach (var id in ready.AbortedSyncs)
        {
            machine.SyncFinished(id, completed: false);
        }

        if (!_serving && ready.Status.IsServing)
        {
            _serving = true;
            if (ready.Status.State == PeerState.Leading)
            {
                _nextZxid = ready.Status.NextZxid;
                _pendingEstimate = ready.Status.PendingProposals;
            }

            machine.StartedServing(ready.Status);
        }

        foreach (var request in ready.ForwardedRequests)
        {
            machine.Forwarded(request.From, request.Data);
        }

        foreach (var report in ready.SessionReports)
        {
            machine.SessionsReported(report.From, report.Data);
        }

        foreach (var learner in ready.SnapshotRequests)
        {
            if (!_snapshotWaiters.Contains(learner))
            {
                _snapshotWaiters.Add(learner);
            }
        }

        if (_snapshotWaiters.Count > 0 && !_snapshotRunning)
        {
            _snapshotRunning = true;
            _ = ProduceSnapshotAsync();
        }

        machine.ReadyDone(ready.Status);
        if (_node is { } node)
        {
            Guard(() => node.Advance(ready));
        }
    }

    private async Task ProduceSnapshotAsync()
    {
        try
        {
            var snapshot = await _snapshotSource!(_stop.Token).ConfigureAwait(false);
            _post(new SnapshotProducedWork(snapshot, null));
        }
        catch (Exception ex)
        {
            _post(new SnapshotProducedWork(null, ex));
        }
    }

    /// <summary>Stops the timer and the transport.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _ticker.ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
