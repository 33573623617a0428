using Zooflow.Consensus.Messages;

namespace Zooflow.Consensus;

// Phase 0: fast leader election (ZooKeeper's FastLeaderElection.lookForLeader and its WorkerReceiver), in ticks.
public sealed partial class ZabNode
{
    private readonly ElectionState _election = new();
    private Vote _decidedVote = Vote.None;
    private long _decidedRound;

    private sealed class ElectionState
    {
        /// <summary>FastLeaderElection's logicalclock: not persisted; a restarted server catches up from notifications.</summary>
        public long Round;

        public Vote Proposal = Vote.None;

        /// <summary>Votes of this round (ZooKeeper's recvset), the server's own included when it votes.</summary>
        public readonly Dictionary<long, ElectionVote> Received = [];

        /// <summary>Votes of servers that already decided (FOLLOWING/LEADING), any round (ZooKeeper's outofelection).</summary>
        public readonly Dictionary<long, ElectionVote> OutOfElection = [];

        public long ResendIntervalTicks;
        public long NextResendTick;
        public long FinalizeDeadlineTick = -1;
    }

    private readonly record struct ElectionVote(Vote Vote, long Round, PeerState State);

    private void StartElection(string reason)
    {
        _state = PeerState.Looking;
        _phase = ZabPhase.Election;
        ElectionState e = _election;
        e.Round++;
        e.Received.Clear();
        e.OutOfElection.Clear();
        SetProposal(InitialVote());
        e.ResendIntervalTicks = _options.ElectionResendTicksMin;
        e.NextResendTick = _tick + e.ResendIntervalTicks;
        Note(ZabEventKind.ElectionStarted, $"server {_id} looking in round {e.Round} with {e.Proposal}: {reason}");
        BroadcastNotifications();
        CheckLookingQuorum();
    }

    /// <summary>A voter proposes itself with its history; an observer proposes no one (FastLeaderElection.getInitId).</summary>
    private Vote InitialVote()
    {
        if (!_isVoter)
        {
            return Vote.None;
        }

        return _options.Faults.ElectStaleLeader ? new Vote(_id, 0, 0) : new Vote(_id, _log.LastZxid, _currentEpoch);
    }

    private bool Beats(Vote candidate, Vote current) =>
        _options.Faults.ElectStaleLeader ? candidate.Leader > current.Leader : candidate.IsBetterThan(current);

    private void SetProposal(Vote vote)
    {
        _election.Proposal = vote;
        _election.FinalizeDeadlineTick = -1;
        if (_isVoter)
        {
            _election.Received[_id] = new ElectionVote(vote, _election.Round, PeerState.Looking);
        }
    }

    /// <summary>Notifications go to every other voter (observers only get answers to their own).</summary>
    private void BroadcastNotifications()
    {
        foreach (long voter in _membership.Voters)
        {
            if (voter != _id)
            {
                Send(new Notification(_id, voter, _election.Proposal, _election.Round, PeerState.Looking));
            }
        }
    }

    private void OnNotification(Notification n)
    {
        if (_state != PeerState.Looking)
        {
            // WorkerReceiver: a decided server tells a LOOKING one what it decided, so it can join.
            if (n.State == PeerState.Looking)
            {
                Send(new Notification(_id, n.From, _decidedVote, _decidedRound, _state));
            }

            return;
        }

        ElectionState e = _election;
        if (!_membership.IsVoter(n.From))
        {
            // An observer looking for the leader: answer with our current vote right away; it never counts. Only
            // LOOKING observers get an answer, or a decided observer's answer would be answered back forever.
            if (n.State == PeerState.Looking)
            {
                Send(new Notification(_id, n.From, e.Proposal, e.Round, PeerState.Looking));
            }

            return;
        }

        if (!_membership.IsVoter(n.Vote.Leader))
        {
            Note(ZabEventKind.Ignored, $"notification from {n.From} votes for non-voter {n.Vote.Leader}");
            return;
        }

        switch (n.State)
        {
            case PeerState.Looking:
                OnLookingNotification(n);
                break;
            case PeerState.Following:
            case PeerState.Leading:
                OnDecidedNotification(n);
                break;
            default:
                break; // OBSERVING notifications carry no vote worth counting
        }
    }

    private void OnLookingNotification(Notification n)
    {
        ElectionState e = _election;
        if (n.Round > e.Round)
        {
            e.Round = n.Round;
            e.Received.Clear();
            Vote initial = InitialVote();
            SetProposal(Beats(n.Vote, initial) ? n.Vote : initial);
            BroadcastNotifications();
        }
        else if (n.Round < e.Round)
        {
            // Help a voter that is behind: tell it our round and vote (WorkerReceiver does this). An observer does not:
            // the voter would answer it back (it answers every observer), and so on forever.
            if (_isVoter)
            {
                Send(new Notification(_id, n.From, e.Proposal, e.Round, PeerState.Looking));
            }

            return;
        }
        else if (Beats(n.Vote, e.Proposal))
        {
            SetProposal(n.Vote);
            BroadcastNotifications();
        }

        e.Received[n.From] = new ElectionVote(n.Vote, n.Round, PeerState.Looking);
        CheckLookingQuorum();
    }

    /// <summary>A quorum agrees with our proposal: decide after <see cref="ZabOptions.FinalizeWaitTicks"/> unless a better
    /// vote arrives first (finalizeWait).</summary>
    private void CheckLookingQuorum()
    {
        ElectionState e = _election;
        if (!ProposalHasQuorum())
        {
            e.FinalizeDeadlineTick = -1;
        }
        else if (_options.FinalizeWaitTicks == 0)
        {
            Conclude(e.Proposal, e.Round);
        }
        else if (e.FinalizeDeadlineTick < 0)
        {
            e.FinalizeDeadlineTick = _tick + _options.FinalizeWaitTicks;
        }
    }

    private bool ProposalHasQuorum() =>
        _quorum.IsQuorum(_election, static (e, id) => e.Received.TryGetValue(id, out ElectionVote v) && v.Vote == e.Proposal);

    private void OnDecidedNotification(Notification n)
    {
        ElectionState e = _election;
        var vote = new ElectionVote(n.Vote, n.Round, n.State);
        if (n.Round == e.Round)
        {
            e.Received[n.From] = vote;
            if (_quorum.IsQuorum((e.Received, vote), static (s, id) => s.Received.TryGetValue(id, out ElectionVote v) && Agree(v, s.vote))
                && CheckLeader(e.Received, n.Vote.Leader, n.Round))
            {
                Conclude(n.Vote, n.Round);
                return;
            }
        }

        // Before joining an established ensemble, a quorum must say it follows the same leader (ZOOKEEPER-1732).
        e.OutOfElection[n.From] = vote;
        if (_quorum.IsQuorum((e.OutOfElection, vote), static (s, id) => s.OutOfElection.TryGetValue(id, out ElectionVote v) && Agree(v, s.vote))
            && CheckLeader(e.OutOfElection, n.Vote.Leader, n.Round))
        {
            e.Round = n.Round;
            Conclude(n.Vote, n.Round);
        }
    }

    /// <summary>ZooKeeper's Vote.equals: with a LOOKING side, the whole vote and round must match; between decided
    /// servers the leader and its epoch suffice.</summary>
    private static bool Agree(ElectionVote a, ElectionVote b) =>
        a.State == PeerState.Looking || b.State == PeerState.Looking
            ? a.Vote == b.Vote && a.Round == b.Round
            : a.Vote.Leader == b.Vote.Leader && a.Vote.PeerEpoch == b.Vote.PeerEpoch;

    /// <summary>FastLeaderElection.checkLeader: follow another server only if it says it leads; lead only if the vote is
    /// from our own round.</summary>
    private bool CheckLeader(Dictionary<long, ElectionVote> votes, long leader, long round) =>
        leader != _id
            ? votes.TryGetValue(leader, out ElectionVote v) && v.State == PeerState.Leading
            : _election.Round == round;

    private void TickElection()
    {
        ElectionState e = _election;
        if (e.FinalizeDeadlineTick >= 0 && _tick >= e.FinalizeDeadlineTick)
        {
            // No better vote arrived during finalizeWait: decide.
            e.FinalizeDeadlineTick = -1;
            if (ProposalHasQuorum())
            {
                Conclude(e.Proposal, e.Round);
                return;
            }
        }

        if (_tick >= e.NextResendTick)
        {
            BroadcastNotifications();
            e.ResendIntervalTicks = Math.Min(e.ResendIntervalTicks * 2, _options.ElectionResendTicksMax);
            e.NextResendTick = _tick + e.ResendIntervalTicks;
        }
    }

    /// <summary>
    /// Once synchronised, report the new epoch in the vote answered to LOOKING servers (ZOOKEEPER-1732,
    /// QuorumPeer.updateElectionVote): servers that joined through different elections then agree on (leader, epoch),
    /// and a restarted server can count a quorum of them. Without it the simulator finds servers locked out for good.
    /// </summary>
    private void UpdateElectionVote(long epoch) => _decidedVote = _decidedVote with { PeerEpoch = epoch };

    private void Conclude(Vote vote, long round)
    {
        _decidedVote = vote;
        _decidedRound = round;
        _election.FinalizeDeadlineTick = -1;
        if (vote.Leader == _id)
        {
            Note(ZabEventKind.ElectionConcluded, $"server {_id} leads after round {round}, vote {vote}");
            BecomeLeader();
        }
        else
        {
            Note(ZabEventKind.ElectionConcluded,
                $"server {_id} {(_isVoter ? "follows" : "observes")} {vote.Leader} after round {round}, vote {vote}");
            BecomeLearner(vote.Leader);
        }
    }
}
