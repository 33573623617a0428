namespace Zooflow.Consensus;

/// <summary>
/// The static ensemble: which servers vote (zoo.cfg <c>server.N=...:participant</c>) and which only observe
/// (<c>:observer</c>). Immutable. Observers never vote in elections, never count toward a quorum and never acknowledge
/// proposals; they receive committed records only (ZooKeeper's Observer, <c>zookeeperObservers</c>).
/// </summary>
/// <remarks>Dynamic reconfiguration (<c>reconfig</c>) is not supported: every member is started with the same list.</remarks>
public sealed class Membership
{
    private readonly long[] _members;
    private readonly bool[] _isVoter;

    /// <summary>Creates a membership. Throws <see cref="ArgumentException"/> naming every problem at once.</summary>
    /// <param name="voters">Participant server ids (at least one).</param>
    /// <param name="observers">Observer server ids (may be empty).</param>
    public Membership(IEnumerable<long> voters, IEnumerable<long>? observers = null)
    {
        long[] v = [.. voters];
        long[] o = observers is null ? [] : [.. observers];
        var errors = new List<string>();
        if (v.Length == 0)
        {
            errors.Add("at least one voting server is required");
        }

        var seen = new HashSet<long>();
        foreach (long id in v.Concat(o))
        {
            if (id < 0)
            {
                errors.Add($"server id {id} is negative (ids are 0 or more, as in zoo.cfg server.N)");
            }

            if (!seen.Add(id))
            {
                errors.Add($"server id {id} is listed twice");
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid membership: " + string.Join("; ", errors), nameof(voters));
        }

        _members = [.. v.Concat(o).Order()];
        _isVoter = new bool[_members.Length];
        var voterSet = new HashSet<long>(v);
        for (int i = 0; i < _members.Length; i++)
        {
            _isVoter[i] = voterSet.Contains(_members[i]);
        }

        Voters = [.. v.Order()];
        Observers = [.. o.Order()];
    }

    /// <summary>Every member, ascending by id. Iteration over members is always in this order (deterministic output).</summary>
    public IReadOnlyList<long> Members => _members;

    /// <summary>Voting members, ascending.</summary>
    public IReadOnlyList<long> Voters { get; }

    /// <summary>Observers, ascending.</summary>
    public IReadOnlyList<long> Observers { get; }

    /// <summary>The position of <paramref name="id"/> in <see cref="Members"/>, or -1.</summary>
    public int IndexOf(long id) => Array.BinarySearch(_members, id) is int i and >= 0 ? i : -1;

    /// <summary>True when <paramref name="id"/> is a member.</summary>
    public bool Contains(long id) => IndexOf(id) >= 0;

    /// <summary>True when <paramref name="id"/> is a voting member.</summary>
    public bool IsVoter(long id) => IndexOf(id) is int i and >= 0 && _isVoter[i];

    /// <summary>True when <paramref name="id"/> is an observer.</summary>
    public bool IsObserver(long id) => IndexOf(id) is int i and >= 0 && !_isVoter[i];
}
