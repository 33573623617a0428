namespace Zooflow.Consensus.Quorum;

/// <summary>
/// Majority quorums over a fixed set of voters (ZooKeeper's <c>QuorumMaj</c>): any set holding more than half of the
/// voters. Two quorums always intersect, which is what every safety argument of Zab rests on (Zab paper §III: "any two
/// quorums have a non-empty intersection"). Pure: no state beyond the voter list.
/// </summary>
/// <remarks>Hierarchical (weighted, grouped) quorums are not supported.</remarks>
public sealed class MajorityQuorum
{
    private readonly long[] _voters;

    /// <summary>Creates the quorum system for <paramref name="voters"/>.</summary>
    /// <param name="voters">Voting server ids, distinct.</param>
    /// <param name="sizeReduction">Test-only fault: makes quorums this many members smaller than a majority (never below 1),
    /// so a simulator can prove that it catches commits without a real quorum. Zero in production.</param>
    public MajorityQuorum(IReadOnlyCollection<long> voters, int sizeReduction = 0)
    {
        if (voters.Count == 0)
        {
            throw new ArgumentException("a quorum system needs at least one voter", nameof(voters));
        }

        _voters = [.. voters.Order()];
        Size = Math.Max(1, (_voters.Length / 2) + 1 - sizeReduction);
    }

    /// <summary>Voting server ids, ascending.</summary>
    public IReadOnlyList<long> Voters => _voters;

    /// <summary>The smallest number of voters that forms a quorum: ⌊n/2⌋ + 1.</summary>
    public int Size { get; }

    /// <summary>True when <paramref name="id"/> votes.</summary>
    public bool IsVoter(long id) => Array.BinarySearch(_voters, id) >= 0;

    /// <summary>True when the voters among <paramref name="ids"/> form a quorum. Non-voters and duplicates do not count.</summary>
    public bool IsQuorum(IEnumerable<long> ids)
    {
        int count = 0;
        Span<bool> seen = _voters.Length <= 256 ? stackalloc bool[_voters.Length] : new bool[_voters.Length];
        foreach (long id in ids)
        {
            int i = Array.BinarySearch(_voters, id);
            if (i >= 0 && !seen[i])
            {
                seen[i] = true;
                count++;
            }
        }

        return count >= Size;
    }

    /// <summary>True when the voters for which <paramref name="agrees"/> holds form a quorum.</summary>
    public bool IsQuorum<TState>(TState state, Func<TState, long, bool> agrees)
    {
        int count = 0;
        foreach (long id in _voters)
        {
            if (agrees(state, id))
            {
                count++;
            }
        }

        return count >= Size;
    }

    /// <summary>
    /// The largest value that a quorum of voters has reached: with <paramref name="valueOf"/> giving each voter's value
    /// (for example the last zxid it logged durably), returns the largest <c>v</c> such that at least <see cref="Size"/>
    /// voters have a value ≥ <c>v</c>. This is the commit rule of Zab's broadcast phase (a proposal commits once a
    /// quorum has acknowledged it) and the confirmation rule for sync rounds.
    /// </summary>
    public long QuorumValue<TState>(TState state, Func<TState, long, long> valueOf)
    {
        Span<long> values = _voters.Length <= 256 ? stackalloc long[_voters.Length] : new long[_voters.Length];
        for (int i = 0; i < _voters.Length; i++)
        {
            values[i] = valueOf(state, _voters[i]);
        }

        values.Sort();
        // Ascending: the Size-th largest value is reached (≥) by exactly the Size voters from that position up.
        return values[_voters.Length - Size];
    }
}
