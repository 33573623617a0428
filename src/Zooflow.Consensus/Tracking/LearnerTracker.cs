using Zooflow.Consensus.Quorum;

namespace Zooflow.Consensus.Tracking;

/// <summary>
/// The leader's table of learner links, one per member at most, kept in server-id order so everything derived from it
/// (message order, quorum checks) is deterministic. Answers the leader's quorum questions with the leader itself
/// counted through explicit arguments; observers never count. Pure: no I/O, no clock (ticks are passed in).
/// </summary>
public sealed class LearnerTracker
{
    private readonly Membership _membership;
    private readonly MajorityQuorum _quorum;
    private readonly long _selfId;
    private readonly LearnerProgress?[] _byIndex;

    /// <summary>Creates an empty table for the leader <paramref name="selfId"/>.</summary>
    public LearnerTracker(Membership membership, MajorityQuorum quorum, long selfId)
    {
        _membership = membership;
        _quorum = quorum;
        _selfId = selfId;
        _byIndex = new LearnerProgress?[membership.Members.Count];
    }

    /// <summary>The quorum system.</summary>
    public MajorityQuorum Quorum => _quorum;

    /// <summary>Links in server-id order.</summary>
    public IEnumerable<LearnerProgress> All
    {
        get
        {
            foreach (LearnerProgress? p in _byIndex)
            {
                if (p is not null)
                {
                    yield return p;
                }
            }
        }
    }

    /// <summary>A snapshot list of the links, in server-id order (safe to iterate while links are removed).</summary>
    public List<LearnerProgress> ToList() => [.. All];

    /// <summary>The link of <paramref name="id"/>, or null.</summary>
    public LearnerProgress? Get(long id) => _membership.IndexOf(id) is int i and >= 0 ? _byIndex[i] : null;

    /// <summary>Adds or replaces the link of <paramref name="progress"/>'s learner.</summary>
    public void Set(LearnerProgress progress)
    {
        int i = _membership.IndexOf(progress.Id);
        if (i < 0 || progress.Id == _selfId)
        {
            throw new ArgumentException($"server {progress.Id} cannot be a learner of leader {_selfId}", nameof(progress));
        }

        _byIndex[i] = progress;
    }

    /// <summary>Removes the link of <paramref name="id"/>.</summary>
    public void Remove(long id)
    {
        if (_membership.IndexOf(id) is int i and >= 0)
        {
            _byIndex[i] = null;
        }
    }

    /// <summary>True when the leader (if <paramref name="selfCounts"/>) and the voting learners matching
    /// <paramref name="predicate"/> form a quorum.</summary>
    public bool HasQuorum(bool selfCounts, Func<LearnerProgress, bool> predicate) =>
        _quorum.IsQuorum((this, selfCounts, predicate), static (s, id) =>
            id == s.Item1._selfId ? s.selfCounts : s.Item1.Get(id) is { IsObserver: false } p && s.predicate(p));

    /// <summary>
    /// The highest zxid a quorum of voters has durably logged: the leader counts <paramref name="selfDurableZxid"/>,
    /// each synced follower its acknowledged zxid, every other voter nothing. This is the broadcast commit point.
    /// </summary>
    public long QuorumAckedZxid(long selfDurableZxid) =>
        _quorum.QuorumValue((this, selfDurableZxid), static (s, id) =>
            id == s.Item1._selfId ? s.selfDurableZxid
            : s.Item1.Get(id) is { IsObserver: false, IsSynced: true } p ? p.AckedZxid
            : long.MinValue);

    /// <summary>The highest ping round a quorum of voters has answered (the leader answers every round it sends, as
    /// <paramref name="selfRound"/>); only synced followers count, since only they are bound to this epoch.</summary>
    public long QuorumPingRound(long selfRound) =>
        _quorum.QuorumValue((this, selfRound), static (s, id) =>
            id == s.Item1._selfId ? s.selfRound
            : s.Item1.Get(id) is { IsObserver: false, IsSynced: true } p ? p.PingRoundAcked
            : long.MinValue);

    /// <summary>Voting learners with a link.</summary>
    public int Followers => Count(static p => !p.IsObserver);

    /// <summary>Voting learners that acknowledged NEWLEADER.</summary>
    public int SyncedFollowers => Count(static p => !p.IsObserver && p.IsSynced);

    /// <summary>Observers with a link.</summary>
    public int Observers => Count(static p => p.IsObserver);

    /// <summary>Observers that acknowledged NEWLEADER.</summary>
    public int SyncedObservers => Count(static p => p.IsObserver && p.IsSynced);

    /// <summary>Links not heard from within their limit at <paramref name="tick"/>: <paramref name="syncLimitTicks"/> once
    /// synced, <paramref name="initLimitTicks"/> before (ZooKeeper's LearnerHandler socket timeouts).</summary>
    public List<LearnerProgress> Silent(long tick, int initLimitTicks, int syncLimitTicks)
    {
        var silent = new List<LearnerProgress>();
        foreach (LearnerProgress p in All)
        {
            int limit = p.IsSynced ? syncLimitTicks : initLimitTicks;
            if (tick - p.LastHeardTick > limit)
            {
                silent.Add(p);
            }
        }

        return silent;
    }

    private int Count(Func<LearnerProgress, bool> predicate)
    {
        int n = 0;
        foreach (LearnerProgress? p in _byIndex)
        {
            if (p is not null && predicate(p))
            {
                n++;
            }
        }

        return n;
    }
}
