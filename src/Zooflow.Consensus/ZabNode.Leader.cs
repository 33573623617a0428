using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tracking;

namespace Zooflow.Consensus;

// Leader side of phases 1 and 2: discovery (FOLLOWERINFO → LEADERINFO → ACKEPOCH) and synchronisation (DIFF / TRUNC /
// SNAP inside NEWLEADER → ACK → UPTODATE). ZooKeeper: Leader.lead, getEpochToPropose, waitForEpochAck,
// waitForNewLeaderAck; LearnerHandler.run and syncFollower.
public sealed partial class ZabNode
{
    private sealed class LeaderState(LearnerTracker learners, long tick)
    {
        public LearnerTracker Learners { get; } = learners;

        /// <summary>The new epoch; 0 until a quorum reported its accepted epochs.</summary>
        public long Epoch { get; set; }

        public bool EpochChosen { get; set; }

        public long PhaseStartTick { get; set; } = tick;

        /// <summary>The leader's last zxid when it entered synchronisation: its whole log is the new epoch's initial
        /// history, committed once a quorum acknowledges NEWLEADER.</summary>
        public long InitialLastZxid { get; set; }

        /// <summary>Counter of the next proposal's zxid in <see cref="Epoch"/> (starts at 1).</summary>
        public long NextCounter { get; set; } = 1;

        public long PingRound { get; set; }

        public long LastPingTick { get; set; } = tick;

        public bool SyncRoundInFlight { get; set; }

        public long SyncRound { get; set; }

        public bool SyncRoundWanted { get; set; }

        public Queue<PendingSync> PendingSyncs { get; } = new();
    }

    private readonly record struct PendingSync(long Origin, long LinkId, long SyncId, long Zxid, long Round);

    private void BecomeLeader()
    {
        _state = PeerState.Leading;
        _phase = ZabPhase.Discovery;
        _leader = new LeaderState(new LearnerTracker(_membership, _quorum, _id), _tick);
        CheckEpochQuorum();
    }

    /// <summary>Messages learners send to their leader.</summary>
    private void OnLearnerMessage(LinkMessage m)
    {
        LeaderState? leader = _leader;
        if (leader is null)
        {
            // Still electing: this server may become the leader the learner expects (it repeats FOLLOWERINFO, as
            // ZooKeeper's Learner.connectToLeader retries). Otherwise refuse, so the learner looks again.
            if (_state != PeerState.Looking || m is not FollowerInfo)
            {
                Send(new LinkReset(_id, m.From, m.LinkId));
            }

            return;
        }

        if (m is FollowerInfo info)
        {
            OnFollowerInfo(leader, info);
            return;
        }

        LearnerProgress? p = leader.Learners.Get(m.From);
        if (p is null || p.LinkId != m.LinkId)
        {
            Send(new LinkReset(_id, m.From, m.LinkId));
            Note(ZabEventKind.Ignored, $"{m.GetType().Name} from {m.From} on unknown link {m.LinkId}");
            return;
        }

        if (m.Seq < p.NextSeqIn)
        {
            return; // duplicate
        }

        if (m.Seq > p.NextSeqIn)
        {
            DropLearner(p, $"message {m.Seq} arrived when {p.NextSeqIn} was expected");
            return;
        }

        p.NextSeqIn++;
        p.LastHeardTick = _tick;
        switch (m)
        {
            case AckEpoch a:
                OnAckEpoch(leader, p, a);
                break;
            case AckNewLeader a:
                OnAckNewLeader(leader, p, a);
                break;
            case Ack a:
                OnAck(p, a);
                break;
            case PingReply r:
                OnPingReply(p, r);
                break;
            case Request r:
                _forwarded.Add(new ForwardedRequest(p.Id, r.Data));
                break;
            case SyncRequest s:
                RegisterSync(p.Id, p.LinkId, s.SyncId);
                break;
        }
    }

    private void OnFollowerInfo(LeaderState leader, FollowerInfo info)
    {
        if (info.Seq != 0)
        {
            Note(ZabEventKind.Ignored, $"FOLLOWERINFO from {info.From} with sequence {info.Seq}");
            return;
        }

        if (info.IsObserver != _membership.IsObserver(info.From))
        {
            Note(ZabEventKind.Ignored, $"server {info.From} connects as {(info.IsObserver ? "observer" : "participant")}, configured otherwise");
            Send(new LinkReset(_id, info.From, info.LinkId));
            return;
        }

        if (leader.Learners.Get(info.From) is { } existing && existing.LearnerNonce == info.LinkId)
        {
            return; // a copy of the FOLLOWERINFO that opened the current link
        }

        var p = new LearnerProgress(info.From, info.IsObserver, NewLinkId(), info.AcceptedEpoch, _tick, learnerNonce: info.LinkId);
        leader.Learners.Set(p); // replaces an older link of the same learner: it abandoned that one
        if (leader.EpochChosen)
        {
            SendLeaderInfo(leader, p);
        }
        else
        {
            CheckEpochQuorum();
        }
    }

    /// <summary>Once a quorum (this leader included) reported accepted epochs, pick a greater one (Zab paper §IV-A,
    /// step l.1.1; Leader.getEpochToPropose) and promise it ourselves.</summary>
    private void CheckEpochQuorum()
    {
        LeaderState leader = _leader!;
        if (leader.EpochChosen || !leader.Learners.HasQuorum(selfCounts: true, static _ => true))
        {
            return;
        }

        long highest = _acceptedEpoch;
        foreach (LearnerProgress p in leader.Learners.All)
        {
            highest = Math.Max(highest, p.AcceptedEpoch);
        }

        long epoch = _options.Faults.ReuseEpoch ? Math.Max(highest, 1) : highest + 1;
        SetAcceptedEpoch(epoch);
        leader.Epoch = epoch;
        leader.EpochChosen = true;
        Note(ZabEventKind.EpochProposed, $"leader {_id} proposes epoch {epoch}");
        foreach (LearnerProgress p in leader.Learners.ToList())
        {
            SendLeaderInfo(leader, p);
        }

        CheckEpochAckQuorum();
    }

    private void SendLeaderInfo(LeaderState leader, LearnerProgress p)
    {
        Send(new LeaderInfo(_id, p.Id, p.LinkId, p.NextSeqOut++, leader.Epoch, p.LearnerNonce));
        p.Stage = LearnerStage.EpochSent;
    }

    private void OnAckEpoch(LeaderState leader, LearnerProgress p, AckEpoch ack)
    {
        if (p.Stage != LearnerStage.EpochSent || ack.Epoch != leader.Epoch)
        {
            DropLearner(p, $"ACKEPOCH of epoch {ack.Epoch} in stage {p.Stage}");
            return;
        }

        p.ReportedCurrentEpoch = ack.CurrentEpoch;
        p.ReportedLastZxid = ack.LastZxid;
        p.EpochAckCounts = !p.IsObserver && (!ack.AlreadyAccepted || _options.Faults.ReuseEpoch);
        p.Stage = LearnerStage.EpochAcked;
        if (_phase != ZabPhase.Discovery)
        {
            StartLearnerSync(leader, p); // joins an epoch already established
            return;
        }

        // Leader.waitForEpochAck: a learner with a more recent history means election picked the wrong leader.
        bool ahead = ack.CurrentEpoch > _currentEpoch || (ack.CurrentEpoch == _currentEpoch && ack.LastZxid > _log.LastZxid);
        if (!ack.AlreadyAccepted && ahead && !_options.Faults.ElectStaleLeader)
        {
            LeaveRole($"learner {p.Id} is ahead of the leader (epoch {ack.CurrentEpoch}, zxid {Zxid.ToHex(ack.LastZxid)} " +
                $"against epoch {_currentEpoch}, zxid {Zxid.ToHex(_log.LastZxid)})");
            return;
        }

        CheckEpochAckQuorum();
    }

    /// <summary>A quorum promised the new epoch: it is ours (Zab paper §IV-B begins). Persist it as current epoch and
    /// synchronise every learner that acknowledged.</summary>
    private void CheckEpochAckQuorum()
    {
        LeaderState leader = _leader!;
        if (_phase != ZabPhase.Discovery || !leader.EpochChosen
            || !leader.Learners.HasQuorum(selfCounts: true, static p => p.Stage >= LearnerStage.EpochAcked && p.EpochAckCounts))
        {
            return;
        }

        SetCurrentEpoch(leader.Epoch);
        RecordEpochLeader(leader.Epoch, _id);
        _phase = ZabPhase.Synchronization;
        leader.PhaseStartTick = _tick;
        leader.InitialLastZxid = _log.LastZxid;
        foreach (LearnerProgress p in leader.Learners.ToList())
        {
            if (p.Stage == LearnerStage.EpochAcked)
            {
                StartLearnerSync(leader, p);
            }
        }

        CheckEstablished();
    }

    /// <summary>
    /// LearnerHandler.syncFollower: DIFF when the learner's last zxid is in our log, TRUNC (then DIFF) when it has
    /// records we do not, SNAP when the records it needs were purged or are more than <see cref="ZabOptions.DiffEntriesMax"/>.
    /// Followers get our whole log after the sync point (their history becomes ours); observers only committed records.
    /// </summary>
    private void StartLearnerSync(LeaderState leader, LearnerProgress p)
    {
        long peerLast = p.ReportedLastZxid;
        long leaderLast = _log.LastZxid;
        long target = p.IsObserver ? Math.Min(_committed, leaderLast) : leaderLast;
        if (peerLast == leaderLast)
        {
            if (TryDiff(leader, p, SyncMode.Diff, peerLast, target))
            {
                return;
            }
        }
        else if (_log.TryGetZxidAtOrBefore(Math.Min(peerLast, leaderLast), out long shared))
        {
            // shared is the last record both logs hold (Zab: logs that share a zxid agree on everything before it).
            if (TryDiff(leader, p, shared == peerLast ? SyncMode.Diff : SyncMode.Trunc, shared, target))
            {
                return;
            }
        }

        p.Stage = LearnerStage.AwaitingSnapshot;
        _snapshotRequests.Add(p.Id);
        Note(ZabEventKind.LearnerSync, $"SNAP for learner {p.Id} at {Zxid.ToHex(peerLast)}: snapshot requested from the driver");
    }

    private bool TryDiff(LeaderState leader, LearnerProgress p, SyncMode mode, long from, long target)
    {
        var entries = new List<LogEntry>();
        if (target > from && (!_log.TryRead(from, target, _options.DiffEntriesMax + 1, entries) || entries.Count > _options.DiffEntriesMax))
        {
            return false;
        }

        SendNewLeader(leader, p, mode, from, null, entries);
        return true;
    }

    private void SendNewLeader(LeaderState leader, LearnerProgress p, SyncMode mode, long from, SnapshotData? snapshot, List<LogEntry> entries)
    {
        long sent = entries.Count > 0 ? entries[^1].Zxid : from;
        Send(new NewLeader(_id, p.Id, p.LinkId, p.NextSeqOut++, leader.Epoch, mode, from, snapshot, entries, Math.Min(_committed, sent)));
        p.SentZxid = sent;
        p.SyncZxid = sent;
        p.Stage = LearnerStage.NewLeaderSent;
        Note(ZabEventKind.LearnerSync,
            $"{mode} for learner {p.Id}: from {Zxid.ToHex(from)} to {Zxid.ToHex(sent)}, {entries.Count} records{(snapshot is null ? "" : ", " + snapshot)}");
    }

    private void OnProvideSnapshot(ProvideSnapshot provided)
    {
        LeaderState? leader = _leader;
        LearnerProgress? p = leader?.Learners.Get(provided.Learner);
        if (leader is null || p is null || p.Stage != LearnerStage.AwaitingSnapshot)
        {
            Note(ZabEventKind.Ignored, $"snapshot for learner {provided.Learner} no longer needed");
            return;
        }

        long zxid = provided.Snapshot.Zxid;
        if (zxid > _applied)
        {
            throw new InvalidOperationException(
                $"snapshot for learner {p.Id} at {Zxid.ToHex(zxid)} is beyond the applied zxid {Zxid.ToHex(_applied)}: snapshots must be of applied, committed state");
        }

        long target = p.IsObserver ? Math.Min(_committed, _log.LastZxid) : _log.LastZxid;
        var entries = new List<LogEntry>();
        if (target > zxid && !_log.TryRead(zxid, target, int.MaxValue, entries))
        {
            // The driver purged past the snapshot while it was being made (a slow, fuzzy snapshot): ask again.
            _snapshotRequests.Add(p.Id);
            Note(ZabEventKind.LearnerSync, $"snapshot for learner {p.Id} at {Zxid.ToHex(zxid)} is older than the log's base: requested again");
            return;
        }

        SendNewLeader(leader, p, SyncMode.Snap, zxid, provided.Snapshot, entries);
    }

    private void OnAckNewLeader(LeaderState leader, LearnerProgress p, AckNewLeader ack)
    {
        if (p.Stage != LearnerStage.NewLeaderSent || ack.Epoch != leader.Epoch)
        {
            DropLearner(p, $"ACK of NEWLEADER for epoch {ack.Epoch} in stage {p.Stage}");
            return;
        }

        p.Stage = LearnerStage.Synced;
        if (!p.IsObserver)
        {
            p.AckedZxid = Math.Max(p.AckedZxid, p.SyncZxid);
        }

        if (_phase == ZabPhase.Synchronization)
        {
            CheckEstablished();
        }
        else if (_phase == ZabPhase.Broadcast)
        {
            if (p.IsObserver)
            {
                SendInforms(p);
            }

            SendUpToDate(p);
            AdvanceLeaderCommit();
        }
    }

    /// <summary>
    /// A quorum (this leader once its own epoch and log are durable, and followers that acknowledged NEWLEADER) has the
    /// new history: it is committed, the leader serves and learners get UPTODATE (Zab paper §IV-B, COMMIT-LD;
    /// Leader.waitForNewLeaderAck then startZkServer).
    /// </summary>
    private void CheckEstablished()
    {
        LeaderState leader = _leader!;
        bool selfDurable = _durableHardState.CurrentEpoch == leader.Epoch && _log.DurableLastZxid >= leader.InitialLastZxid;
        if (_phase != ZabPhase.Synchronization || !leader.Learners.HasQuorum(selfDurable, static p => p.IsSynced))
        {
            return;
        }

        _phase = ZabPhase.Broadcast;
        SetCommitted(leader.InitialLastZxid);
        UpdateElectionVote(leader.Epoch);
        Note(ZabEventKind.LeaderEstablished,
            $"leader {_id} established epoch {leader.Epoch} with history up to {Zxid.ToHex(leader.InitialLastZxid)}");
        foreach (LearnerProgress p in leader.Learners.ToList())
        {
            if (p.IsObserver && p.ReceivesBroadcast)
            {
                SendInforms(p);
            }

            if (p.Stage == LearnerStage.Synced)
            {
                SendUpToDate(p);
            }
        }
    }

    private void SendUpToDate(LearnerProgress p)
    {
        Send(new UpToDate(_id, p.Id, p.LinkId, p.NextSeqOut++, Math.Min(_committed, p.SentZxid)));
        p.Stage = LearnerStage.UpToDate;
    }

    /// <summary>Forgets a learner and tells it, as closing its socket would.</summary>
    private void DropLearner(LearnerProgress p, string reason)
    {
        _leader?.Learners.Remove(p.Id);
        Send(new LinkReset(_id, p.Id, p.LinkId));
        Note(ZabEventKind.LinkDropped, $"leader {_id} dropped learner {p.Id}: {reason}");
    }
}
