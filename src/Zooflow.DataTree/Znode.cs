using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>What kind of znode this is; decides its lifetime.</summary>
public enum ZnodeKind
{
    /// <summary>Lives until deleted.</summary>
    Persistent = 0,
    /// <summary>Owned by a session; deleted when it closes or expires; cannot have children.</summary>
    Ephemeral = 1,
    /// <summary>Deleted by the server once it had children and has none left (or was never used, after a grace period).</summary>
    Container = 2,
    /// <summary>Deleted by the server when unmodified and childless for longer than its TTL.</summary>
    Ttl = 3,
}

/// <summary>
/// Encoding of the stored <c>ephemeralOwner</c> field (<c>EphemeralType</c>): containers store <see cref="long.MinValue"/>,
/// TTL nodes <c>0xFF00_0000_0000_0000 | ttl</c>. Clients see 0 for both.
/// </summary>
public static class EphemeralOwner
{
    /// <summary>ZooKeeper's <c>CONTAINER_EPHEMERAL_OWNER</c>.</summary>
    public const long Container = long.MinValue;

    /// <summary>Largest TTL in milliseconds (40 bits: the low bits below the reserved 16 and the 0xFF marker byte).</summary>
    public const long TtlMaxMs = 0x0000_00FF_FFFF_FFFFL;

    private const long ExtendedMask = unchecked((long)0xFF00_0000_0000_0000UL);

    /// <summary>The stored owner for a TTL node.</summary>
    public static long ForTtl(long ttlMs) => ExtendedMask | ttlMs;

    /// <summary>Decodes a stored owner back into kind, session and TTL (for snapshot loading).</summary>
    public static (ZnodeKind Kind, long SessionId, long TtlMs) Decode(long raw, bool extendedTypesEnabled)
    {
        if (raw == 0)
        {
            return (ZnodeKind.Persistent, 0, 0);
        }

        if (raw == Container)
        {
            return (ZnodeKind.Container, 0, 0);
        }

        if (extendedTypesEnabled && (raw & ExtendedMask) == ExtendedMask)
        {
            return (ZnodeKind.Ttl, 0, raw & TtlMaxMs);
        }

        return (ZnodeKind.Ephemeral, raw, 0);
    }
}

/// <summary>A read-only copy of one znode as clients see it.</summary>
/// <param name="Path">Absolute path.</param>
/// <param name="Data">The data. Shared with the tree: callers must not modify it.</param>
/// <param name="Stat">The client-visible Stat (ephemeralOwner is 0 for containers and TTL nodes).</param>
/// <param name="Acl">The ACL.</param>
/// <param name="Children">Child names, ordinal-sorted (ZooKeeper returns hash order; any order is valid for clients).</param>
/// <param name="Kind">The node kind.</param>
/// <param name="TtlMs">The TTL for <see cref="ZnodeKind.Ttl"/> nodes, else 0.</param>
public sealed record ZnodeView(string Path, byte[] Data, Stat Stat, IReadOnlyList<Acl> Acl, IReadOnlyList<string> Children, ZnodeKind Kind, long TtlMs)
{
    /// <summary>The stored cversion (number of child creates), as snapshots record it; <see cref="Stat"/> holds the
    /// client view (number of child changes).</summary>
    public int StoredCversion { get; init; }

    /// <summary>The stored ephemeralOwner (with the container/TTL markers), as snapshots record it.</summary>
    public long RawEphemeralOwner => Kind switch
    {
        ZnodeKind.Ephemeral => Stat.EphemeralOwner,
        ZnodeKind.Container => EphemeralOwner.Container,
        ZnodeKind.Ttl => EphemeralOwner.ForTtl(TtlMs),
        _ => 0,
    };
}

/// <summary>The mutable node inside <see cref="ZnodeTree"/>; never handed out.</summary>
/// <remarks>
/// Kept small because a tree holds millions of them (see docs/architecture.md, "Memory per znode"): the node does not
/// store its path (the parent's <see cref="Children"/> maps the child's name to it, and the tree finds a node by walking
/// names from the root), its children map is allocated with the first child, its ACL is the tree's shared instance for
/// equal ACL lists (<see cref="AclCache"/>), and the ephemeral owner and the TTL share one field.
/// Layout: 3 references, 6 longs, 3 ints, 2 bytes + the object header = 104 bytes on x64.
/// </remarks>
internal sealed class Znode
{
    public byte[] Data = [];
    public IReadOnlyList<Acl> Acl = Jute.Acl.OpenAclUnsafe;

    /// <summary>Child name → child; null while the node never had a child.</summary>
    public Dictionary<string, Znode>? Children;

    public long Czxid;
    public long Mzxid;
    public long Pzxid;
    public long Ctime;
    public long Mtime;

    /// <summary>The owning session of an ephemeral node, the TTL in milliseconds of a TTL node, else 0.</summary>
    public long OwnerOrTtl;
    public int Version;
    public int Cversion;
    public int Aversion;
    private byte _kind;

    /// <summary>Set when the node leaves the tree, so a fuzzy snapshot walk that still holds it skips it.</summary>
    public bool Detached;

    public ZnodeKind Kind
    {
        get => (ZnodeKind)_kind;
        set => _kind = (byte)value;
    }

    /// <summary>The owning session for an ephemeral node, else 0.</summary>
    public long Owner => Kind == ZnodeKind.Ephemeral ? OwnerOrTtl : 0;

    /// <summary>The TTL for a TTL node, else 0.</summary>
    public long TtlMs => Kind == ZnodeKind.Ttl ? OwnerOrTtl : 0;

    public int ChildCount => Children?.Count ?? 0;

    /// <summary>The stored ephemeralOwner with the container/TTL markers, as snapshots record it.</summary>
    public long RawEphemeralOwner => Kind switch
    {
        ZnodeKind.Ephemeral => OwnerOrTtl,
        ZnodeKind.Container => EphemeralOwner.Container,
        ZnodeKind.Ttl => EphemeralOwner.ForTtl(OwnerOrTtl),
        _ => 0,
    };

    /// <summary>Adds a child, allocating the map with the first one.</summary>
    public void AddChild(string name, Znode child) => (Children ??= new Dictionary<string, Znode>(StringComparer.Ordinal)).Add(name, child);

    /// <summary>The child called <paramref name="name"/>, without allocating a string for the name.</summary>
    public Znode? Child(ReadOnlySpan<char> name) =>
        Children is not null && Children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out Znode? c) ? c : null;

    /// <summary>Child names, ordinal-sorted (a copy).</summary>
    public string[] SortedChildNames()
    {
        if (Children is null || Children.Count == 0)
        {
            return [];
        }

        var names = new string[Children.Count];
        Children.Keys.CopyTo(names, 0);
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    /// <remarks>
    /// <see cref="Cversion"/> is stored as ZooKeeper stores it: the number of child creates (it also numbers sequential
    /// children). Clients see the number of child changes, creates and deletes alike: every create but those of the
    /// children still present has had its delete, so the client value is <c>2 × creates − numChildren</c>
    /// (ZooKeeper's <c>DataNode.copyStat</c>).
    /// </remarks>
    public Stat ToStat()
    {
        int children = ChildCount;
        return new(Czxid, Mzxid, Ctime, Mtime, Version, Cversion * 2 - children, Aversion,
            Kind == ZnodeKind.Ephemeral ? OwnerOrTtl : 0, Data.Length, children, Pzxid);
    }
}
