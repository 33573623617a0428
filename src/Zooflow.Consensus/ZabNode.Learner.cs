using Zooflow.Consensus.Messages;

namespace Zooflow.Consensus;

// Learner side (followers and observers) of every phase: FOLLOWERINFO, LEADERINFO → ACKEPOCH, NEWLEADER → ACK,
// UPTODATE, PROPOSAL → ACK, COMMIT, INFORM, PING, SYNC. ZooKeeper: Learner.registerWithLeader, syncWithLeader,
// Follower.processPacket, Observer.processPacket.
public sealed partial class ZabNode
{
    private sealed class LearnerState(long leaderId, long nonce, long tick)
    {
        public long LeaderId { get; } = leaderId;

        /// <summary>Names this learner's FOLLOWERINFO; LEADERINFO echoes it.</summary>
        public long Nonce { get; } = nonce;

        /// <summary>The leader's id for the link, from LEADERINFO; 0 until then.</summary>
        public long LinkId { get; set; }

        public long NextSeqOut { get; set; }

        public long NextSeqIn { get; set; }

        public long LastHeardTick { get; set; } = tick;

        public long StartTick { get; } = tick;

        /// <summary>False once the leader closed the link (no reset needs to go back).</summary>
        public bool LinkOpen { get; set; } = true;

        /// <summary>The epoch from LEADERINFO.</summary>
        public long Epoch { get; set; } = -1;

        public bool GotNewLeader { get; set; }

        public List<long> PendingSyncs { get; } = [];

        public List<ReadOnlyMemory<byte>> SessionReports { get; } = [];
    }

    private void BecomeLearner(long leaderId)
    {
        _state = _isVoter ? PeerState.Following : PeerState.Observing;
        _phase = ZabPhase.Discovery;
        _learner = new LearnerState(leaderId, NewLinkId(), _tick);
        Send(new FollowerInfo(_id, leaderId, _learner.Nonce, NextLearnerSeq(), _acceptedEpoch, !_isVoter));
    }

    /// <summary>Until LEADERINFO arrives, FOLLOWERINFO is repeated (same nonce, sequence 0; the leader ignores copies):
    /// the leader may not have finished its own election yet, and the first copy may be lost.</summary>
    private void RepeatFollowerInfo(LearnerState l)
    {
        if (l.LinkId == 0 && (_tick - l.StartTick) % _options.ElectionResendTicksMin == 0)
        {
            Send(new FollowerInfo(_id, l.LeaderId, l.Nonce, 0, _acceptedEpoch, !_isVoter));
        }
    }

    private long NextLearnerSeq() => _learner!.NextSeqOut++;

    /// <summary>Messages a leader sends to its learners.</summary>
    private void OnLeaderMessage(LinkMessage m)
    {
        LearnerState? l = _learner;
        if (l is not null && l.LinkId == 0 && m is LeaderInfo { Seq: 0 } opening && opening.LearnerNonce == l.Nonce && m.From == l.LeaderId)
        {
            l.LinkId = opening.LinkId; // the leader answered this FOLLOWERINFO: the link is established
        }

        if (l is null || m.From != l.LeaderId || l.LinkId == 0 || m.LinkId != l.LinkId)
        {
            Note(ZabEventKind.Ignored, $"{m.GetType().Name} from {m.From} on link {m.LinkId}, not this server's leader link");
            return;
        }

        if (m.Seq < l.NextSeqIn)
        {
            return; // duplicate
        }

        if (m.Seq > l.NextSeqIn)
        {
            LeaveRole($"message {m.Seq} from leader {m.From} arrived when {l.NextSeqIn} was expected");
            return;
        }

        l.NextSeqIn++;
        l.LastHeardTick = _tick;
        switch (m)
        {
            case LeaderInfo info:
                OnLeaderInfo(l, info);
                break;
            case NewLeader newLeader:
                OnNewLeader(l, newLeader);
                break;
            case UpToDate upToDate:
                OnUpToDate(l, upToDate);
                break;
            case Proposal proposal:
                OnProposal(l, proposal);
                break;
            case Commit commit:
                OnCommit(l, commit);
                break;
            case Inform inform:
                OnInform(l, inform);
                break;
            case Ping ping:
                Send(new PingReply(_id, l.LeaderId, l.LinkId, NextLearnerSeq(), ping.Round, [.. l.SessionReports]));
                l.SessionReports.Clear();
                break;
            case SyncReply reply:
                if (l.PendingSyncs.Remove(reply.SyncId))
                {
                    // Every COMMIT sent before the reply has been processed: applying up to here completes the sync.
                    _syncsDone.Add((reply.SyncId, _committed));
                }

                break;
        }
    }

    /// <summary>NEWEPOCH: promise the epoch if it is new (persist, then ACKEPOCH); a reconnect to the same epoch acks
    /// with "already accepted"; an older epoch is refused (Learner.registerWithLeader).</summary>
    private void OnLeaderInfo(LearnerState l, LeaderInfo info)
    {
        if (_phase != ZabPhase.Discovery)
        {
            LeaveRole($"LEADERINFO in {_phase}");
            return;
        }

        bool alreadyAccepted;
        if (info.Epoch > _acceptedEpoch)
        {
            SetAcceptedEpoch(info.Epoch);
            alreadyAccepted = false;
        }
        else if (info.Epoch == _acceptedEpoch)
        {
            alreadyAccepted = true;
        }
        else
        {
            LeaveRole($"leader {info.From} proposed epoch {info.Epoch}, below the accepted epoch {_acceptedEpoch}");
            return;
        }

        l.Epoch = info.Epoch;
        _phase = ZabPhase.Synchronization;
        Send(new AckEpoch(_id, l.LeaderId, l.LinkId, NextLearnerSeq(), info.Epoch, _currentEpoch, _log.LastZxid, alreadyAccepted));
    }

    /// <summary>NEWLEADER with DIFF / TRUNC / SNAP: take the leader's history, make the epoch current, acknowledge.</summary>
    private void OnNewLeader(LearnerState l, NewLeader m)
    {
        if (_phase != ZabPhase.Synchronization || l.GotNewLeader || m.Epoch != l.Epoch)
        {
            LeaveRole($"unexpected NEWLEADER for epoch {m.Epoch}");
            return;
        }

        RecordEpochLeader(m.Epoch, m.From);
        switch (m.Mode)
        {
            case SyncMode.Snap:
                SnapshotData snapshot = m.Snapshot
                    ?? throw new ZabInvariantException($"server {_id}: SNAP from leader {m.From} without a snapshot");
                _log.InstallSnapshot(snapshot);
                SetCommitted(snapshot.Zxid); // the snapshot holds committed state only
                break;
            case SyncMode.Trunc:
                if (m.TruncateZxid < _committed)
                {
                    throw new ZabInvariantException(
                        $"server {_id}: TRUNC to {Zxid.ToHex(m.TruncateZxid)} would remove committed records (committed {Zxid.ToHex(_committed)})");
                }

                _log.TruncateAfter(m.TruncateZxid);
                break;
            default:
                if (m.TruncateZxid != _log.LastZxid)
                {
                    throw new ZabInvariantException(
                        $"server {_id}: DIFF from {Zxid.ToHex(m.TruncateZxid)} but its log ends at {Zxid.ToHex(_log.LastZxid)}");
                }

                break;
        }

        foreach (LogEntry e in m.Entries)
        {
            if (Zxid.EpochOf(e.Zxid) > m.Epoch)
            {
                throw new ZabInvariantException($"server {_id}: NEWLEADER of epoch {m.Epoch} carries {Zxid.ToHex(e.Zxid)} of a later epoch");
            }

            _log.Append(e);
        }

        SetCurrentEpoch(m.Epoch);
        SetCommitted(m.CommittedZxid);
        l.GotNewLeader = true;
        Send(new AckNewLeader(_id, l.LeaderId, l.LinkId, NextLearnerSeq(), m.Epoch));
    }

    private void OnUpToDate(LearnerState l, UpToDate m)
    {
        if (!l.GotNewLeader || _phase != ZabPhase.Synchronization)
        {
            LeaveRole("UPTODATE before NEWLEADER");
            return;
        }

        SetCommitted(m.CommittedZxid);
        _phase = ZabPhase.Broadcast;
        UpdateElectionVote(l.Epoch);
        Note(ZabEventKind.UpToDate, $"server {_id} is up to date with leader {l.LeaderId} in epoch {l.Epoch} at {Zxid.ToHex(_committed)}");
    }

    private void OnProposal(LearnerState l, Proposal m)
    {
        if (!_isVoter || !l.GotNewLeader)
        {
            LeaveRole("PROPOSAL before NEWLEADER, or to an observer");
            return;
        }

        if (Zxid.EpochOf(m.Entry.Zxid) != l.Epoch)
        {
            throw new ZabInvariantException($"server {_id}: proposal {Zxid.ToHex(m.Entry.Zxid)} from leader of epoch {l.Epoch}");
        }

        _log.Append(m.Entry);
        // Sent only after the Ready that carries the entry is durable: ACK means "logged".
        Send(new Ack(_id, l.LeaderId, l.LinkId, NextLearnerSeq(), m.Entry.Zxid));
    }

    private void OnCommit(LearnerState l, Commit m)
    {
        if (!l.GotNewLeader)
        {
            LeaveRole("COMMIT before NEWLEADER");
            return;
        }

        SetCommitted(m.Zxid);
    }

    private void OnInform(LearnerState l, Inform m)
    {
        if (_isVoter || !l.GotNewLeader)
        {
            LeaveRole("INFORM before NEWLEADER, or to a follower");
            return;
        }

        _log.Append(m.Entry);
        SetCommitted(m.Entry.Zxid);
    }

    private void TickLearner()
    {
        LearnerState l = _learner!;
        RepeatFollowerInfo(l);
        int limit = _phase == ZabPhase.Broadcast ? _options.SyncLimitTicks : _options.InitLimitTicks;
        if (_tick - l.LastHeardTick > limit)
        {
            LeaveRole($"nothing from leader {l.LeaderId} for more than {limit} ticks");
        }
        else if (_phase != ZabPhase.Broadcast && _tick - l.StartTick > _options.InitLimitTicks)
        {
            LeaveRole($"not synchronised with leader {l.LeaderId} within initLimit ({_options.InitLimitTicks} ticks)");
        }
    }
}
