using System.Diagnostics;
using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// The committed znode state: nodes, ephemerals per session, containers, TTL nodes and the sessions table. Changed only by
/// <see cref="Apply(in TxnHeader, object?)"/>, which is deterministic: the same transactions in the same order give the same
/// tree on every replica and on replay.
/// </summary>
/// <remarks>
/// Not thread-safe by design: one server loop thread owns the tree (reads included). No I/O, no clock — times and zxids
/// arrive inside transactions. A fresh tree holds what ZooKeeper 3.8 shows: "/", "/zookeeper", "/zookeeper/quota" and
/// "/zookeeper/config" (ACL world:anyone:r, aversion -1, as <c>DataTree.addConfigNode</c> leaves it), all with zero zxids
/// and times and OPEN_ACL_UNSAFE otherwise.
/// </remarks>
public sealed partial class ZnodeTree
{
    /// <summary>"/zookeeper".</summary>
    public const string ZookeeperPath = "/zookeeper";
    /// <summary>"/zookeeper/quota".</summary>
    public const string QuotaPath = "/zookeeper/quota";
    /// <summary>"/zookeeper/config".</summary>
    public const string ConfigPath = "/zookeeper/config";

    private readonly Znode _root = new();
    private readonly AclCache _acls = new();
    private int _nodeCount;
    private readonly Dictionary<long, SortedSet<string>> _ephemerals = [];
    private readonly SortedSet<string> _containers = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _ttls = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, int> _sessions = [];
    private long _dataSize;

    /// <summary>Creates the tree a fresh ZooKeeper 3.8 server starts with.</summary>
    public ZnodeTree()
    {
        _root.Acl = _acls.Intern(Acl.OpenAclUnsafe);
        _nodeCount = 1;
        _dataSize += 1;
        Znode zookeeper = AddSystemNode(_root, ZookeeperPath, Acl.OpenAclUnsafe, 0);
        AddSystemNode(zookeeper, QuotaPath, Acl.OpenAclUnsafe, 0);
        AddSystemNode(zookeeper, ConfigPath, Acl.ReadAclUnsafe, -1);
    }

    private Znode AddSystemNode(Znode parent, string path, IReadOnlyList<Acl> acl, int aversion)
    {
        var node = new Znode { Acl = _acls.Intern(acl), Aversion = aversion };
        parent.AddChild(PathValidator.NameOf(path), node);
        _nodeCount++;
        _dataSize += path.Length;
        return node;
    }

    /// <summary>The zxid of the last transaction applied (the largest seen).</summary>
    public long LastProcessedZxid { get; private set; }

    /// <summary>Number of znodes including the root. (ZooKeeper's mntr <c>zk_znode_count</c> is this + 1: it counts the root twice.)</summary>
    public int NodeCount => _nodeCount;

    /// <summary>Distinct ACL lists the nodes share (each stored once, see <see cref="AclCache"/>).</summary>
    public int DistinctAclCount => _acls.Count;

    /// <summary>Number of ephemeral znodes over all sessions (mntr <c>zk_ephemerals_count</c>).</summary>
    public int EphemeralCount
    {
        get
        {
            int n = 0;
            foreach (SortedSet<string> set in _ephemerals.Values)
            {
                n += set.Count;
            }

            return n;
        }
    }

    /// <summary>Sum of path lengths and data lengths (mntr <c>zk_approximate_data_size</c>).</summary>
    public long ApproximateDataSize => _dataSize;

    /// <summary>Live sessions (created by a CreateSessionTxn, not yet closed) and their timeouts in milliseconds.</summary>
    public IReadOnlyDictionary<long, int> Sessions => _sessions;

    /// <summary>Sessions that own at least one ephemeral node.</summary>
    public IEnumerable<long> SessionsWithEphemerals => _ephemerals.Keys;

    /// <summary>Paths of container nodes.</summary>
    public IReadOnlyCollection<string> Containers => _containers;

    /// <summary>Paths of TTL nodes.</summary>
    public IReadOnlyCollection<string> Ttls => _ttls;

    internal Znode? GetInternal(string path) => Find(path);

    /// <summary>The root node (the anchor of every walk; never replaced).</summary>
    internal Znode Root => _root;

    /// <summary>
    /// The node at <paramref name="path"/>, found by walking its names from the root (no allocation). Null for a missing node
    /// and for anything that is not an absolute path without empty names.
    /// </summary>
    internal Znode? Find(ReadOnlySpan<char> path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return null;
        }

        Znode node = _root;
        if (path.Length == 1)
        {
            return node;
        }

        ReadOnlySpan<char> rest = path[1..];
        while (true)
        {
            int slash = rest.IndexOf('/');
            Znode? child = node.Child(slash < 0 ? rest : rest[..slash]);
            if (child is null || slash < 0)
            {
                return child;
            }

            node = child;
            rest = rest[(slash + 1)..];
        }
    }

    private bool TryFind(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Znode? node)
    {
        node = Find(path);
        return node is not null;
    }

    /// <summary>True when a node exists at <paramref name="path"/>.</summary>
    public bool Exists(string path) => Find(path) is not null;

    /// <summary>A full copy of the node at <paramref name="path"/> (allocates the children list).</summary>
    public bool TryGetNode(string path, out ZnodeView node)
    {
        if (!TryFind(path, out Znode? n))
        {
            node = null!;
            return false;
        }

        node = new ZnodeView(path, n.Data, n.ToStat(), n.Acl, n.SortedChildNames(), n.Kind, n.TtlMs) { StoredCversion = n.Cversion };
        return true;
    }

    /// <summary>The Stat of the node at <paramref name="path"/>.</summary>
    public bool TryGetStat(string path, out Stat stat)
    {
        if (TryFind(path, out Znode? n))
        {
            stat = n.ToStat();
            return true;
        }

        stat = default;
        return false;
    }

    /// <summary>Data (shared: do not modify), Stat and ACL of the node at <paramref name="path"/>, without copying children.</summary>
    public bool TryGetData(string path, out byte[] data, out Stat stat, out IReadOnlyList<Acl> acl)
    {
        if (TryFind(path, out Znode? n))
        {
            data = n.Data;
            stat = n.ToStat();
            acl = n.Acl;
            return true;
        }

        data = [];
        stat = default;
        acl = [];
        return false;
    }

    /// <summary>The ACL of the node at <paramref name="path"/> (for permission checks on reads).</summary>
    public bool TryGetAcl(string path, out IReadOnlyList<Acl> acl)
    {
        if (TryFind(path, out Znode? n))
        {
            acl = n.Acl;
            return true;
        }

        acl = [];
        return false;
    }

    /// <summary>Child names of <paramref name="path"/>, ordinal-sorted, with the node's Stat.</summary>
    public bool TryGetChildren(string path, out IReadOnlyList<string> children, out Stat stat)
    {
        if (TryFind(path, out Znode? n))
        {
            children = n.SortedChildNames();
            stat = n.ToStat();
            return true;
        }

        children = [];
        stat = default;
        return false;
    }

    /// <summary>
    /// Number of all descendants of <paramref name="path"/> (<c>DataTree.getAllChildrenNumber</c>: for "/" every node but the
    /// root, including the /zookeeper nodes). 0 for a path that does not exist.
    /// </summary>
    public int GetAllChildrenNumber(string path)
    {
        if (path == "/")
        {
            return _nodeCount - 1;
        }

        if (!TryFind(path, out Znode? n))
        {
            return 0;
        }

        int count = 0;
        var stack = new Stack<Znode>();
        stack.Push(n);
        while (stack.Count > 0)
        {
            Znode node = stack.Pop();
            count += node.ChildCount;
            foreach (Znode c in node.Children?.Values ?? Enumerable.Empty<Znode>())
            {
                if (c.ChildCount > 0)
                {
                    stack.Push(c);
                }
            }
        }

        return count;
    }

    /// <summary>
    /// The ephemerals of <paramref name="sessionId"/> whose path starts with <paramref name="prefixPath"/> (plain string
    /// prefix, as ZooKeeper's getEphemerals does; null, blank or "/" means all), ordinal-sorted.
    /// </summary>
    public IReadOnlyList<string> GetEphemerals(long sessionId, string? prefixPath)
    {
        if (!_ephemerals.TryGetValue(sessionId, out SortedSet<string>? set))
        {
            return [];
        }

        string? trimmed = prefixPath?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed == "/")
        {
            return [.. set];
        }

        var result = new List<string>();
        foreach (string p in set)
        {
            if (p.StartsWith(prefixPath!, StringComparison.Ordinal))
            {
                result.Add(p);
            }
        }

        return result;
    }

    /// <summary>All ephemeral paths of <paramref name="sessionId"/>, ordinal-sorted.</summary>
    public IReadOnlyCollection<string> EphemeralsOf(long sessionId) =>
        _ephemerals.TryGetValue(sessionId, out SortedSet<string>? set) ? set : [];

    /// <summary>
    /// Containers and TTL nodes the server should delete now (<c>ContainerManager.getCandidates</c>): an empty container whose
    /// cversion is &gt; 0 (it had children once); an empty container never used (cversion 0) whose mtime is older than
    /// <paramref name="containerMaxNeverUsedIntervalMs"/> when that is not 0; an empty TTL node whose mtime is older than its TTL.
    /// Ordinal-sorted. The server deletes each through a <see cref="OpCode.DeleteContainer"/> request, which re-checks.
    /// </summary>
    public IReadOnlyList<string> FindExpiredContainersAndTtls(long nowMs, long containerMaxNeverUsedIntervalMs = 0)
    {
        var result = new List<string>();
        foreach (string path in _containers)
        {
            if (!TryFind(path, out Znode? n) || n.ChildCount != 0)
            {
                continue;
            }

            if (n.Cversion > 0 || (containerMaxNeverUsedIntervalMs != 0 && nowMs - n.Mtime > containerMaxNeverUsedIntervalMs))
            {
                result.Add(path);
            }
        }

        foreach (string path in _ttls)
        {
            if (TryFind(path, out Znode? n) && n.ChildCount == 0 && n.TtlMs != 0 && nowMs - n.Mtime > n.TtlMs)
            {
                result.Add(path);
            }
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>Every node in pre-order (parents before children, siblings ordinal-sorted): for snapshots, digests and dumps.</summary>
    public IEnumerable<ZnodeView> EnumerateNodes()
    {
        var stack = new Stack<(string Path, Znode Node)>();
        stack.Push(("/", _root));
        while (stack.Count > 0)
        {
            (string path, Znode n) = stack.Pop();
            string[] children = n.SortedChildNames();
            yield return new ZnodeView(path, n.Data, n.ToStat(), n.Acl, children, n.Kind, n.TtlMs) { StoredCversion = n.Cversion };
            string prefix = path == "/" ? "/" : path + "/";
            for (int i = children.Length - 1; i >= 0; i--)
            {
                stack.Push((prefix + children[i], n.Children![children[i]]));
            }
        }
    }

    /// <summary>
    /// A 64-bit FNV-1a digest of every node's path, data, stat, kind and ACL, in pre-order. Equal trees give equal digests;
    /// replicas that applied the same transactions compare it.
    /// </summary>
    public ulong ComputeDigest()
    {
        ulong h = 14695981039346656037UL;
        foreach (ZnodeView v in EnumerateNodes())
        {
            h = Mix(h, v.Path);
            foreach (byte b in v.Data)
            {
                h = (h ^ b) * 1099511628211UL;
            }

            Stat s = v.Stat;
            h = MixLong(h, s.Czxid); h = MixLong(h, s.Mzxid); h = MixLong(h, s.Pzxid); h = MixLong(h, s.Ctime); h = MixLong(h, s.Mtime);
            h = MixLong(h, s.Version); h = MixLong(h, s.Cversion); h = MixLong(h, s.Aversion); h = MixLong(h, v.RawEphemeralOwner);
            foreach (Acl a in v.Acl)
            {
                h = MixLong(h, (long)a.Perms);
                h = Mix(h, a.Id.Scheme);
                h = Mix(h, a.Id.Ident);
            }
        }

        return h;

        static ulong MixLong(ulong h, long v)
        {
            for (int i = 0; i < 8; i++)
            {
                h = (h ^ (byte)(v >> (8 * i))) * 1099511628211UL;
            }

            return h;
        }
    }

    private static ulong Mix(ulong h, string s)
    {
        foreach (char c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (h ^ 0xFF) * 1099511628211UL;
    }

    /// <summary>
    /// Loads one node from a snapshot (parents first, as <see cref="EnumerateNodes"/> yields them). Replaces an existing node
    /// at the same path (the fixed system nodes) but keeps its children. Restores the ephemeral, container and TTL indexes.
    /// <paramref name="stat"/> carries the STORED cversion (child creates, as ZooKeeper's StatPersisted), not the client view.
    /// </summary>
    public void LoadNode(string path, byte[] data, IReadOnlyList<Acl> acl, in Stat stat, ZnodeKind kind, long ownerSessionId, long ttlMs)
    {
        var n = new Znode
        {
            Data = data,
            Acl = _acls.Intern(acl),
            Czxid = stat.Czxid,
            Mzxid = stat.Mzxid,
            Pzxid = stat.Pzxid,
            Ctime = stat.Ctime,
            Mtime = stat.Mtime,
            Version = stat.Version,
            Cversion = stat.Cversion,
            Aversion = stat.Aversion,
            Kind = kind,
            OwnerOrTtl = kind switch
            {
                ZnodeKind.Ephemeral => ownerSessionId,
                ZnodeKind.Ttl => ttlMs,
                _ => 0,
            },
        };
        if (TryFind(path, out Znode? old))
        {
            // A node loaded over an existing one (the fixed system nodes) takes its place, children included.
            _dataSize -= path.Length + old.Data.Length;
            _acls.Release(old.Acl);
            Unindex(path, old);
            _nodeCount--;
            if (old == _root)
            {
                CopyInto(n, _root);
                n = _root;
            }
            else
            {
                n.Children = old.Children;
                Znode parentOfOld = Find(PathValidator.ParentOf(path))!;
                parentOfOld.Children![PathValidator.NameOf(path)] = n;
                old.Detached = true;
            }
        }
        else
        {
            int slash = path.LastIndexOf('/');
            Znode? parent = slash < 0 ? null : Find(slash == 0 ? "/" : path.AsSpan(0, slash));
            if (parent is null)
            {
                throw new InvalidOperationException($"Snapshot node '{path}' arrived before its parent.");
            }

            parent.AddChild(path[(slash + 1)..], n);
        }

        _nodeCount++;
        _dataSize += path.Length + data.Length;
        Index(path, n);
    }

    /// <summary>Restores a session (snapshot loading).</summary>
    public void LoadSession(long sessionId, int timeoutMs) => _sessions[sessionId] = timeoutMs;

    /// <summary>Sets <see cref="LastProcessedZxid"/> after a snapshot load.</summary>
    public void SetLastProcessedZxid(long zxid) => LastProcessedZxid = zxid;

    // The root is the walk's anchor, so a loaded root is copied into it instead of replacing it.
    private static void CopyInto(Znode from, Znode to)
    {
        to.Data = from.Data;
        to.Acl = from.Acl;
        to.Czxid = from.Czxid;
        to.Mzxid = from.Mzxid;
        to.Pzxid = from.Pzxid;
        to.Ctime = from.Ctime;
        to.Mtime = from.Mtime;
        to.Version = from.Version;
        to.Cversion = from.Cversion;
        to.Aversion = from.Aversion;
        to.Kind = from.Kind;
        to.OwnerOrTtl = from.OwnerOrTtl;
    }

    private void Index(string path, Znode n)
    {
        switch (n.Kind)
        {
            case ZnodeKind.Container:
                _containers.Add(path);
                break;
            case ZnodeKind.Ttl:
                _ttls.Add(path);
                break;
            case ZnodeKind.Ephemeral:
                if (!_ephemerals.TryGetValue(n.Owner, out SortedSet<string>? set))
                {
                    set = new SortedSet<string>(StringComparer.Ordinal);
                    _ephemerals[n.Owner] = set;
                }

                set.Add(path);
                break;
        }
    }

    private void Unindex(string path, Znode n)
    {
        switch (n.Kind)
        {
            case ZnodeKind.Container:
                _containers.Remove(path);
                break;
            case ZnodeKind.Ttl:
                _ttls.Remove(path);
                break;
            case ZnodeKind.Ephemeral:
                if (_ephemerals.TryGetValue(n.Owner, out SortedSet<string>? set))
                {
                    set.Remove(path);
                    if (set.Count == 0)
                    {
                        _ephemerals.Remove(n.Owner);
                    }
                }

                break;
        }
    }

    [Conditional("DEBUG")]
    private static void AssertNotRoot(string path) => Debug.Assert(path != "/", "the root is never created or deleted");
}
