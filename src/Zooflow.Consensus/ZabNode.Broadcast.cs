using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tracking;

namespace Zooflow.Consensus;

// Leader side of phase 3: proposals, the commit rule, observers' INFORMs, pings and liveness, and sync.
// ZooKeeper: Leader.propose, processAck/tryToCommit, sendObserverPacket, the ping loop in Leader.lead, processSync.
public sealed partial class ZabNode
{
    private int PendingProposals
    {
        get
        {
            if (_leader is null || _phase != ZabPhase.Broadcast)
            {
                return 0;
            }

            long committedCounter = Zxid.EpochOf(_committed) == _leader.Epoch ? Zxid.CounterOf(_committed) : 0;
            return (int)(_leader.NextCounter - 1 - committedCounter);
        }
    }

    private ProposeResult ProposeEntry(ReadOnlyMemory<byte> data)
    {
        LeaderState? leader = _leader;
        if (leader is null || _phase != ZabPhase.Broadcast)
        {
            return new ProposeResult(ProposeStatus.NotLeader, 0);
        }

        if (PendingProposals >= _options.PendingProposalsMax)
        {
            return new ProposeResult(ProposeStatus.Busy, 0);
        }

        if (leader.NextCounter > Zxid.CounterMax)
        {
            // Leader.propose: the counter would roll over into the epoch bits; a new election gives a new epoch.
            LeaveRole($"zxid counter of epoch {leader.Epoch} exhausted");
            return new ProposeResult(ProposeStatus.NotLeader, 0);
        }

        long zxid = Zxid.Make(leader.Epoch, leader.NextCounter++);
        var entry = new LogEntry(zxid, data);
        _log.Append(entry);
        // Every follower that was sent NEWLEADER gets it, synced or not (Zab TLA+ spec, issue 1).
        foreach (LearnerProgress p in leader.Learners.All)
        {
            if (!p.IsObserver && p.ReceivesBroadcast)
            {
                Send(new Proposal(_id, p.Id, p.LinkId, p.NextSeqOut++, entry));
                p.SentZxid = zxid;
            }
        }

        return new ProposeResult(ProposeStatus.Accepted, zxid);
    }

    private void OnAck(LearnerProgress p, Ack ack)
    {
        if (p.IsObserver || !p.IsSynced)
        {
            DropLearner(p, $"ACK of {Zxid.ToHex(ack.Zxid)} in stage {p.Stage}");
            return;
        }

        if (ack.Zxid > p.SentZxid)
        {
            throw new ZabInvariantException(
                $"leader {_id}: learner {p.Id} acknowledged {Zxid.ToHex(ack.Zxid)}, beyond the last record sent to it {Zxid.ToHex(p.SentZxid)}");
        }

        p.AckedZxid = Math.Max(p.AckedZxid, ack.Zxid);
        AdvanceLeaderCommit();
    }

    /// <summary>
    /// The commit rule (Zab paper §IV-C): a proposal commits once a quorum of voters, the leader included, has logged it
    /// durably. Logs are written in order and ACKs are cumulative, so the commit point is the highest zxid a quorum has
    /// reached. COMMITs go to every follower that receives proposals, INFORMs to observers, both in zxid order.
    /// </summary>
    private void AdvanceLeaderCommit()
    {
        LeaderState? leader = _leader;
        if (leader is null || _phase != ZabPhase.Broadcast)
        {
            return;
        }

        long quorumAcked = leader.Learners.QuorumAckedZxid(_log.DurableLastZxid);
        long commit = Math.Min(quorumAcked, _log.LastZxid);
        if (commit <= _committed)
        {
            TryCompleteSyncs();
            return;
        }

        SetCommitted(commit);
        foreach (LearnerProgress p in leader.Learners.All)
        {
            if (!p.ReceivesBroadcast)
            {
                continue;
            }

            if (p.IsObserver)
            {
                SendInforms(p);
            }
            else
            {
                Send(new Commit(_id, p.Id, p.LinkId, p.NextSeqOut++, Math.Min(commit, p.SentZxid)));
            }
        }

        TryCompleteSyncs();
    }

    /// <summary>Sends an observer every committed record it has not been sent.</summary>
    private void SendInforms(LearnerProgress p)
    {
        if (_committed <= p.SentZxid)
        {
            return;
        }

        var entries = new List<LogEntry>();
        if (!_log.TryRead(p.SentZxid, _committed, int.MaxValue, entries))
        {
            DropLearner(p, $"records after {Zxid.ToHex(p.SentZxid)} were purged; it will resynchronise with a snapshot");
            return;
        }

        foreach (LogEntry e in entries)
        {
            Send(new Inform(_id, p.Id, p.LinkId, p.NextSeqOut++, e));
        }

        p.SentZxid = _committed;
    }

    private void TickLeader()
    {
        LeaderState leader = _leader!;
        foreach (LearnerProgress p in leader.Learners.Silent(_tick, _options.InitLimitTicks, _options.SyncLimitTicks))
        {
            DropLearner(p, $"silent for more than {(p.IsSynced ? _options.SyncLimitTicks : _options.InitLimitTicks)} ticks");
        }

        if (_phase != ZabPhase.Broadcast)
        {
            // initLimit bounds each of discovery and synchronisation (Leader.lead waits initLimit ticks for each quorum).
            if (_tick - leader.PhaseStartTick > _options.InitLimitTicks)
            {
                LeaveRole($"no quorum within initLimit ({_options.InitLimitTicks} ticks) in {_phase}");
                return;
            }
        }
        else if (!leader.Learners.HasQuorum(selfCounts: true, static p => p.IsSynced))
        {
            // Leader.lead's ping loop: "Not sufficient followers synced" — a partitioned leader stops serving.
            LeaveRole("lost the quorum of synced followers");
            return;
        }

        if (_tick - leader.LastPingTick >= _options.PingIntervalTicks)
        {
            StartPingRound(leader);
        }
    }

    private void StartPingRound(LeaderState leader)
    {
        leader.PingRound++;
        leader.LastPingTick = _tick;
        foreach (LearnerProgress p in leader.Learners.All)
        {
            if (p.Stage >= LearnerStage.EpochSent)
            {
                Send(new Ping(_id, p.Id, p.LinkId, p.NextSeqOut++, leader.PingRound));
            }
        }
    }

    private void OnPingReply(LearnerProgress p, PingReply reply)
    {
        p.PingRoundAcked = Math.Max(p.PingRoundAcked, reply.Round);
        foreach (ReadOnlyMemory<byte> report in reply.SessionReports)
        {
            _sessionReports.Add(new SessionReport(p.Id, report));
        }

        TryCompleteSyncs();
    }

    /// <summary>
    /// Registers a sync. It completes when (1) every record this leader proposed before it arrived is committed — so
    /// the reply, sent on the link after those COMMITs, reaches the learner after them — and (2) a quorum answered a
    /// ping round started after it arrived, proving no newer epoch had been established by then (a follower of a newer
    /// epoch no longer answers this leader). Rounds are shared: at most one extra round is in flight for syncs.
    /// </summary>
    private void RegisterSync(long origin, long linkId, long syncId)
    {
        LeaderState leader = _leader!;
        long round;
        if (!leader.SyncRoundInFlight)
        {
            StartPingRound(leader);
            leader.SyncRoundInFlight = true;
            leader.SyncRound = leader.PingRound;
            round = leader.PingRound;
        }
        else
        {
            leader.SyncRoundWanted = true;
            round = leader.PingRound + 1;
        }

        leader.PendingSyncs.Enqueue(new PendingSync(origin, linkId, syncId, _log.LastZxid, round));
        TryCompleteSyncs();
    }

    private void TryCompleteSyncs()
    {
        LeaderState? leader = _leader;
        if (leader is null || _phase != ZabPhase.Broadcast)
        {
            return;
        }

        long confirmed = leader.Learners.QuorumPingRound(leader.PingRound);
        if (leader.SyncRoundInFlight && confirmed >= leader.SyncRound)
        {
            leader.SyncRoundInFlight = false;
            if (leader.SyncRoundWanted)
            {
                leader.SyncRoundWanted = false;
                StartPingRound(leader);
                leader.SyncRoundInFlight = true;
                leader.SyncRound = leader.PingRound;
                confirmed = leader.Learners.QuorumPingRound(leader.PingRound);
            }
        }

        while (leader.PendingSyncs.Count > 0)
        {
            PendingSync s = leader.PendingSyncs.Peek();
            if (s.Zxid > _committed || s.Round > confirmed)
            {
                break;
            }

            leader.PendingSyncs.Dequeue();
            if (s.Origin == _id)
            {
                _syncsDone.Add((s.SyncId, s.Zxid));
            }
            else if (leader.Learners.Get(s.Origin) is { } p && p.LinkId == s.LinkId)
            {
                Send(new SyncReply(_id, p.Id, p.LinkId, p.NextSeqOut++, s.SyncId));
            }
        }
    }
}
