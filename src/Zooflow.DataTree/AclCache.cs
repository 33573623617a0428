using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// One shared instance per distinct ACL list in the tree, reference-counted by the nodes that use it (ZooKeeper's
/// <c>ReferenceCountedACLCache</c>, without the long ids: nodes hold the shared list itself). Without it every znode would
/// keep the list its create request decoded: a list, an array, an <see cref="Acl"/>, an <see cref="Id"/> and two strings,
/// about 200 bytes for <c>world:anyone</c>.
/// </summary>
/// <remarks>Lists are equal when they hold equal entries in the same order. <see cref="Acl.OpenAclUnsafe"/> and
/// <see cref="Acl.ReadAclUnsafe"/> are always present and never dropped. Not thread-safe: owned by the tree.</remarks>
internal sealed class AclCache
{
    private sealed class Entry(IReadOnlyList<Acl> acl, bool pinned)
    {
        public IReadOnlyList<Acl> Acl { get; } = acl;
        public bool Pinned { get; } = pinned;
        public long References;
    }

    private sealed class ListComparer : IEqualityComparer<IReadOnlyList<Acl>>
    {
        public static readonly ListComparer Instance = new();

        public bool Equals(IReadOnlyList<Acl>? x, IReadOnlyList<Acl>? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null || x.Count != y.Count)
            {
                return false;
            }

            for (int i = 0; i < x.Count; i++)
            {
                if (!Equals(x[i], y[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(IReadOnlyList<Acl> obj)
        {
            var h = new HashCode();
            foreach (Acl a in obj)
            {
                h.Add(a);
            }

            return h.ToHashCode();
        }
    }

    private readonly Dictionary<IReadOnlyList<Acl>, Entry> _entries = new(ListComparer.Instance);

    public AclCache()
    {
        _entries[Acl.OpenAclUnsafe] = new Entry(Acl.OpenAclUnsafe, pinned: true);
        _entries[Acl.ReadAclUnsafe] = new Entry(Acl.ReadAclUnsafe, pinned: true);
    }

    /// <summary>Distinct ACL lists held (the two pinned ones included).</summary>
    public int Count => _entries.Count;

    /// <summary>The shared instance equal to <paramref name="acl"/>, counting one more user.</summary>
    public IReadOnlyList<Acl> Intern(IReadOnlyList<Acl> acl)
    {
        if (!_entries.TryGetValue(acl, out Entry? entry))
        {
            // Keep a private copy: the caller's list may be a mutable List from a decoded request.
            IReadOnlyList<Acl> copy = [.. acl];
            entry = new Entry(copy, pinned: false);
            _entries[copy] = entry;
        }

        entry.References++;
        return entry.Acl;
    }

    /// <summary>One user of <paramref name="acl"/> (a list returned by <see cref="Intern"/>) is gone.</summary>
    public void Release(IReadOnlyList<Acl> acl)
    {
        if (_entries.TryGetValue(acl, out Entry? entry) && !entry.Pinned && --entry.References <= 0)
        {
            _entries.Remove(acl);
        }
    }
}
