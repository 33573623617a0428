using System.Diagnostics.CodeAnalysis;
using Zooflow.Common;
using Zooflow.Consensus.Log;
using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Quorum;

namespace Zooflow.Consensus;

/// <summary>
/// One server's Zab atomic broadcast (ZooKeeper's quorum protocol) as a pure, single-threaded, deterministic state
/// machine: fast leader election, discovery (new epoch), synchronisation (DIFF / TRUNC / SNAP, NEWLEADER, UPTODATE) and
/// broadcast (PROPOSAL / ACK / COMMIT, INFORM for observers), plus sync, pings and liveness.
/// </summary>
/// <remarks>
/// <para>The node does no I/O and has no clock or shared randomness: the driver feeds it messages (<see cref="Step"/>),
/// time (<see cref="Tick"/>) and client writes (<see cref="Propose"/>), and carries out what it asks in each
/// <see cref="Ready"/> — persist, then send, then apply — before calling <see cref="Advance"/>. Everything else
/// (sockets, files, client sessions, the znode tree) belongs to the driver. Same inputs, same outputs: the
/// deterministic simulator runs this class unmodified.</para>
/// <para>Not thread-safe: call it from one thread (the server's consensus loop).</para>
/// <para>An input that contradicts the protocol in a way that could corrupt state throws
/// <see cref="ZabInvariantException"/>; the process must stop. Stale, duplicated or misrouted messages are ignored
/// (reported in <see cref="Ready.Events"/>).</para>
/// </remarks>
public sealed partial class ZabNode
{
    private const int EpochLeadersKept = 64;

    private readonly ZabOptions _options;
    private readonly long _id;
    private readonly Membership _membership;
    private readonly MajorityQuorum _quorum;
    private readonly bool _isVoter;
    private readonly ReplicatedLog _log;
    private readonly SplitMix64 _random;

    private long _acceptedEpoch;
    private long _currentEpoch;
    private HardState _durableHardState;
    private bool _hardStateDirty;

    private long _committed;
    private long _applied;
    private long _tick;

    private PeerState _state = PeerState.Looking;
    private ZabPhase _phase = ZabPhase.Election;
    private LeaderState? _leader;
    private LearnerState? _learner;

    private readonly List<ZabMessage> _outbox = [];
    private readonly List<(long SyncId, long Zxid)> _syncsDone = [];
    private readonly List<long> _syncsAborted = [];
    private readonly List<ForwardedRequest> _forwarded = [];
    private readonly List<SessionReport> _sessionReports = [];
    private readonly List<long> _snapshotRequests = [];
    private readonly List<ZabEvent> _events = [];
    private readonly SortedDictionary<long, long> _epochLeaders = [];
    private Ready? _outstanding;
    private ZabStatus? _lastStatus;

    /// <summary>
    /// Creates a node from what the driver recovered: the storage (hard state and log) and the zxid its state machine
    /// already reflects (the snapshot it loaded). The node starts LOOKING; committed records after
    /// <paramref name="appliedZxid"/> are handed out again in <see cref="Ready.CommittedEntries"/> as the node learns
    /// that they are committed.
    /// </summary>
    /// <param name="options">Validated settings; every problem is reported at once in an <see cref="ArgumentException"/>.</param>
    /// <param name="storage">The read-only storage view (see its contract).</param>
    /// <param name="appliedZxid">The zxid of the snapshot the state machine was restored from (0 for an empty one).</param>
    /// <exception cref="InvalidDataException">The stored hard state is impossible (current epoch above accepted epoch).</exception>
    public ZabNode(ZabOptions options, IZabStorage storage, long appliedZxid)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storage);
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid consensus options: " + string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _id = options.ServerId;
        _membership = options.Membership;
        _quorum = new MajorityQuorum(_membership.Voters, options.Faults.QuorumSizeReduction);
        _isVoter = _membership.IsVoter(_id);
        _random = new SplitMix64(options.RandomSeed);

        HardState hard = storage.HardState;
        if (hard.CurrentEpoch > hard.AcceptedEpoch || hard.CurrentEpoch < 0)
        {
            throw new InvalidDataException(
                $"stored hard state of server {_id} is impossible: current epoch {hard.CurrentEpoch}, accepted epoch {hard.AcceptedEpoch} (current must be 0..accepted)");
        }

        _acceptedEpoch = hard.AcceptedEpoch;
        _currentEpoch = hard.CurrentEpoch;
        _durableHardState = hard;
        _log = new ReplicatedLog(storage);
        if (appliedZxid < 0 || appliedZxid > _log.LastZxid)
        {
            throw new ArgumentOutOfRangeException(nameof(appliedZxid), appliedZxid,
                $"applied zxid {Zxid.ToHex(appliedZxid)} must be between 0 and the log's last zxid {Zxid.ToHex(_log.LastZxid)}");
        }

        _committed = appliedZxid;
        _applied = appliedZxid;
        StartElection("server started");
    }

    /// <summary>The server's state now (the same figures the next <see cref="Ready.Status"/> will carry). Read-only; a
    /// leader's driver reads <see cref="ZabStatus.NextZxid"/> here right before <see cref="Propose"/> to stamp the
    /// transaction header.</summary>
    public ZabStatus Status => BuildStatus();

    /// <summary>
    /// Feeds one input: a message from another server (<see cref="ZabMessage"/>, in any order, possibly duplicated) or a
    /// local request of the driver (<see cref="LocalInput"/>). Its effects appear in the next <see cref="Ready"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A message addressed to another server, or an unknown input type (driver bugs).</exception>
    /// <exception cref="ZabInvariantException">The input contradicts the protocol; stop the process.</exception>
    public void Step(ZabInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        switch (input)
        {
            case ZabMessage m:
                if (m.To != _id)
                {
                    throw new ArgumentException($"server {_id} was given a message for server {m.To}: {m}", nameof(input));
                }

                if (m.From == _id || !_membership.Contains(m.From))
                {
                    Note(ZabEventKind.Ignored, $"message from {m.From}, not another member of the ensemble");
                    return;
                }

                switch (m)
                {
                    case Notification n:
                        OnNotification(n);
                        break;
                    case LinkReset r:
                        OnLinkReset(r);
                        break;
                    case FollowerInfo or AckEpoch or AckNewLeader or Ack or PingReply or Request or SyncRequest:
                        OnLearnerMessage((LinkMessage)m);
                        break;
                    case LinkMessage l:
                        OnLeaderMessage(l);
                        break;
                    default:
                        throw new ArgumentException($"unknown message type {m.GetType().Name}", nameof(input));
                }

                break;
            case ForwardRequest f:
                OnForwardRequest(f);
                break;
            case RequestSync s:
                OnRequestSync(s);
                break;
            case ReportSessions r:
                OnReportSessions(r);
                break;
            case ProvideSnapshot p:
                OnProvideSnapshot(p);
                break;
            case PeerDisconnected d:
                OnPeerDisconnected(d);
                break;
            default:
                throw new ArgumentException($"unknown input type {input.GetType().Name}", nameof(input));
        }
    }

    /// <summary>
    /// Advances logical time by one tick: election re-sends and decisions, leader pings, and every timeout (initLimit,
    /// syncLimit, lost quorum). The driver calls it at a fixed interval (see <see cref="ZabOptions.FromZooKeeper"/>).
    /// </summary>
    public void Tick()
    {
        _tick++;
        switch (_state)
        {
            case PeerState.Looking:
                TickElection();
                break;
            case PeerState.Leading:
                TickLeader();
                break;
            default:
                TickLearner();
                break;
        }
    }

    /// <summary>
    /// Leader: gives <paramref name="data"/> the next zxid (<see cref="ZabStatus.NextZxid"/>), appends it to the log and
    /// broadcasts it. It is committed once a quorum (the leader included, after its own persist) has logged it; the
    /// driver learns that from <see cref="Ready.CommittedEntries"/> on every server, in zxid order.
    /// </summary>
    /// <param name="data">The transaction bytes; the core keeps a reference, so the buffer must not be reused.</param>
    /// <returns>Accepted with the zxid, or NotLeader / Busy (nothing was appended).</returns>
    public ProposeResult Propose(ReadOnlyMemory<byte> data) => ProposeEntry(data);

    /// <summary>
    /// Collects the work accumulated since the last Ready (writes, messages, committed records, completions, status).
    /// Returns false when there is nothing to do, or while a previous Ready has not been passed to <see cref="Advance"/>.
    /// </summary>
    public bool TryGetReady([NotNullWhen(true)] out Ready? ready) => TryBuildReady(out ready);

    /// <summary>
    /// Tells the node that the driver has carried out <paramref name="ready"/>: its writes are durable, its messages
    /// handed to the transport, its committed records applied. A leader counts its own acknowledgement of the persisted
    /// records now, which may commit proposals.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="ready"/> is not the Ready last returned.</exception>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!ReferenceEquals(ready, _outstanding))
        {
            throw new InvalidOperationException("Advance must be given the Ready last returned by TryGetReady, once");
        }

        _outstanding = null;
        if (ready.HardState is HardState hard)
        {
            _durableHardState = hard;
        }

        _log.WritesDurable();
        _log.Evict(_applied, _options.CommittedLogCacheMax);
        if (_state == PeerState.Leading && _leader is not null)
        {
            if (_phase == ZabPhase.Synchronization)
            {
                CheckEstablished();
            }
            else if (_phase == ZabPhase.Broadcast)
            {
                AdvanceLeaderCommit();
            }
        }
    }

    // ---- shared helpers ------------------------------------------------------------------------------------------

    private void Send(ZabMessage message) => _outbox.Add(message);

    private void Note(ZabEventKind kind, string text) => _events.Add(new ZabEvent(kind, text));

    private void SetAcceptedEpoch(long epoch)
    {
        if (epoch < _acceptedEpoch)
        {
            throw new ZabInvariantException($"server {_id}: accepted epoch would go back from {_acceptedEpoch} to {epoch}");
        }

        _hardStateDirty |= epoch != _acceptedEpoch;
        _acceptedEpoch = epoch;
    }

    private void SetCurrentEpoch(long epoch)
    {
        if (epoch < _currentEpoch || epoch > _acceptedEpoch)
        {
            throw new ZabInvariantException(
                $"server {_id}: current epoch {epoch} must be between the current {_currentEpoch} and the accepted {_acceptedEpoch}");
        }

        _hardStateDirty |= epoch != _currentEpoch;
        _currentEpoch = epoch;
    }

    /// <summary>Raises the commit point; never beyond the log (ZooKeeper exits on a COMMIT it has no record for).</summary>
    private void SetCommitted(long zxid)
    {
        if (zxid <= _committed)
        {
            return;
        }

        if (zxid > _log.LastZxid)
        {
            throw new ZabInvariantException(
                $"server {_id}: commit of {Zxid.ToHex(zxid)} beyond its last logged record {Zxid.ToHex(_log.LastZxid)}");
        }

        _committed = zxid;
    }

    /// <summary>"At most one leader per epoch", from this server's view: every NEWLEADER or establishment of an epoch
    /// must name the same leader.</summary>
    private void RecordEpochLeader(long epoch, long leader)
    {
        if (_epochLeaders.TryGetValue(epoch, out long known))
        {
            if (known != leader)
            {
                throw new ZabInvariantException($"server {_id}: epoch {epoch} has two leaders, {known} and {leader}");
            }

            return;
        }

        _epochLeaders[epoch] = leader;
        if (_epochLeaders.Count > EpochLeadersKept)
        {
            _epochLeaders.Remove(_epochLeaders.Keys.First());
        }
    }

    private long NewLinkId()
    {
        long id;
        do
        {
            id = (long)(_random.Next() & long.MaxValue);
        }
        while (id == 0);
        return id;
    }

    private ZabStatus BuildStatus()
    {
        var tracker = _leader?.Learners;
        return new ZabStatus(
            ServerId: _id,
            State: _state,
            Phase: _phase,
            LeaderId: _state == PeerState.Leading ? _id : _learner?.LeaderId ?? -1,
            IsServing: _phase == ZabPhase.Broadcast && (_leader is not null || _learner is not null),
            AcceptedEpoch: _acceptedEpoch,
            CurrentEpoch: _currentEpoch,
            LastZxid: _log.LastZxid,
            CommittedZxid: _committed,
            NextZxid: _leader is not null && _phase == ZabPhase.Broadcast ? Zxid.Make(_leader.Epoch, _leader.NextCounter) : 0,
            Followers: tracker?.Followers ?? 0,
            SyncedFollowers: tracker?.SyncedFollowers ?? 0,
            Observers: tracker?.Observers ?? 0,
            SyncedObservers: tracker?.SyncedObservers ?? 0,
            PendingProposals: PendingProposals,
            PendingSyncs: _leader?.PendingSyncs.Count ?? _learner?.PendingSyncs.Count ?? 0,
            ElectionRound: _election.Round);
    }

    private bool TryBuildReady([NotNullWhen(true)] out Ready? ready)
    {
        ready = null;
        if (_outstanding is not null)
        {
            return false;
        }

        SnapshotData? snapshot = null;
        long? truncate = null;
        IReadOnlyList<LogEntry> entries = [];
        if (_log.HasQueuedWrites)
        {
            (snapshot, truncate, entries) = _log.TakeQueuedWrites();
        }

        HardState? hard = null;
        if (_hardStateDirty)
        {
            hard = new HardState(_acceptedEpoch, _currentEpoch);
            _hardStateDirty = false;
        }

        if (snapshot is not null)
        {
            // The state machine is replaced by the snapshot: application continues after it.
            _applied = snapshot.Zxid;
        }

        List<LogEntry> committed = [];
        if (_committed > _applied)
        {
            if (!_log.TryRead(_applied, _committed, _options.ApplyBatchMax, committed))
            {
                throw new InvalidOperationException(
                    $"server {_id}: storage no longer holds the committed records after applied zxid {Zxid.ToHex(_applied)}; the driver must keep the log after its applied zxid");
            }

            if (committed.Count == 0 || committed[0].Zxid <= _applied)
            {
                throw new ZabInvariantException(
                    $"server {_id}: committed {Zxid.ToHex(_committed)} but no record follows applied {Zxid.ToHex(_applied)}");
            }

            _applied = committed[^1].Zxid;
        }

        List<long> completed = [];
        for (int i = 0; i < _syncsDone.Count; i++)
        {
            if (_syncsDone[i].Zxid <= _applied)
            {
                completed.Add(_syncsDone[i].SyncId);
                _syncsDone.RemoveAt(i--);
            }
        }

        ZabStatus status = BuildStatus();
        bool roleChanged = _lastStatus is not ZabStatus last
            || last.State != status.State || last.LeaderId != status.LeaderId || last.IsServing != status.IsServing
            || last.CurrentEpoch != status.CurrentEpoch;
        bool any = hard is not null || snapshot is not null || truncate is not null || entries.Count > 0 || _outbox.Count > 0
            || committed.Count > 0 || completed.Count > 0 || _syncsAborted.Count > 0 || _forwarded.Count > 0
            || _sessionReports.Count > 0 || _snapshotRequests.Count > 0 || _events.Count > 0 || _lastStatus != status;
        if (!any)
        {
            return false;
        }

        ready = new Ready
        {
            HardState = hard,
            InstallSnapshot = snapshot,
            TruncateAfterZxid = truncate,
            Entries = entries,
            Messages = [.. _outbox],
            CommittedEntries = committed,
            CompletedSyncs = completed,
            AbortedSyncs = [.. _syncsAborted],
            ForwardedRequests = [.. _forwarded],
            SessionReports = [.. _sessionReports],
            SnapshotRequests = [.. _snapshotRequests],
            Status = status,
            RoleChanged = roleChanged,
            Events = [.. _events],
        };
        _outbox.Clear();
        _syncsAborted.Clear();
        _forwarded.Clear();
        _sessionReports.Clear();
        _snapshotRequests.Clear();
        _events.Clear();
        _lastStatus = status;
        _outstanding = ready;
        return true;
    }

    /// <summary>Leaves leading or following (timeouts, lost quorum, protocol surprises) and starts a new election.</summary>
    private void LeaveRole(string reason)
    {
        if (_leader is not null)
        {
            foreach (var p in _leader.Learners.All)
            {
                Send(new LinkReset(_id, p.Id, p.LinkId));
            }

            foreach (var s in _leader.PendingSyncs)
            {
                if (s.Origin == _id)
                {
                    _syncsAborted.Add(s.SyncId);
                }
            }
        }

        if (_learner is not null)
        {
            if (_learner.LinkOpen && _learner.LinkId != 0)
            {
                Send(new LinkReset(_id, _learner.LeaderId, _learner.LinkId));
            }

            _syncsAborted.AddRange(_learner.PendingSyncs);
        }

        _leader = null;
        _learner = null;
        Note(ZabEventKind.LeftRole, $"server {_id} left {_state} in {_phase}: {reason}");
        StartElection(reason);
    }

    private void OnLinkReset(LinkReset reset)
    {
        // Before LEADERINFO the learner's link is known by its nonce (a server that will not lead refuses that way).
        if (_learner is not null && reset.From == _learner.LeaderId && reset.LinkId == (_learner.LinkId != 0 ? _learner.LinkId : _learner.Nonce))
        {
            _learner.LinkOpen = false; // the leader closed it: no reset back
            LeaveRole($"leader {reset.From} closed the link");
        }
        else if (_leader?.Learners.Get(reset.From) is { } p && p.LinkId == reset.LinkId)
        {
            _leader.Learners.Remove(p.Id);
            Note(ZabEventKind.LinkDropped, $"learner {p.Id} closed its link");
        }
    }

    private void OnPeerDisconnected(PeerDisconnected disconnected)
    {
        if (_learner is not null && disconnected.Peer == _learner.LeaderId)
        {
            _learner.LinkOpen = false;
            LeaveRole($"transport lost leader {disconnected.Peer}");
        }
        else if (_leader?.Learners.Get(disconnected.Peer) is { } p)
        {
            DropLearner(p, "transport lost the connection");
        }
    }

    private void OnForwardRequest(ForwardRequest forward)
    {
        if (_phase != ZabPhase.Broadcast)
        {
            Note(ZabEventKind.Ignored, "forwarded request dropped: not serving");
        }
        else if (_leader is not null)
        {
            _forwarded.Add(new ForwardedRequest(_id, forward.Data));
        }
        else if (_learner is not null)
        {
            Send(new Request(_id, _learner.LeaderId, _learner.LinkId, NextLearnerSeq(), forward.Data));
        }
    }

    private void OnReportSessions(ReportSessions report)
    {
        if (_leader is not null)
        {
            _sessionReports.Add(new SessionReport(_id, report.Data));
        }
        else if (_learner is not null)
        {
            List<ReadOnlyMemory<byte>> reports = _learner.SessionReports;
            if (reports.Count >= _options.SessionReportsMax)
            {
                reports.RemoveAt(0);
            }

            reports.Add(report.Data);
        }
    }

    private void OnRequestSync(RequestSync request)
    {
        if (_phase != ZabPhase.Broadcast)
        {
            _syncsAborted.Add(request.SyncId);
        }
        else if (_leader is not null)
        {
            RegisterSync(_id, 0, request.SyncId);
        }
        else if (_learner is not null)
        {
            _learner.PendingSyncs.Add(request.SyncId);
            Send(new SyncRequest(_id, _learner.LeaderId, _learner.LinkId, NextLearnerSeq(), request.SyncId));
        }
    }
}
