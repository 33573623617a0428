using System.Buffers;
using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// One node as a <see cref="FuzzyTreeWalk"/> copied it: the stored fields of the znode, by value, plus its place in the
/// tree as the parent's path and the node's own name (so the walk allocates no path string per node).
/// </summary>
/// <remarks>The root has <see cref="ParentPath"/> null and <see cref="Name"/> "". <see cref="Data"/> and <see cref="Acl"/>
/// are shared with the tree, which never modifies them in place (a setData or setACL replaces them).</remarks>
public struct NodeRecord
{
    /// <summary>Absolute path of the parent; null for the root.</summary>
    public string? ParentPath;
    /// <summary>The node's name (the last path element).</summary>
    public string Name;
    /// <summary>The data. Shared: do not modify.</summary>
    public byte[] Data;
    /// <summary>The ACL. Shared: do not modify.</summary>
    public IReadOnlyList<Acl> Acl;
    /// <summary>Stat fields as stored.</summary>
    public long Czxid, Mzxid, Pzxid, Ctime, Mtime;
    /// <summary>Stat fields as stored; <see cref="StoredCversion"/> is the number of child creates (ZooKeeper's StatPersisted).</summary>
    public int Version, StoredCversion, Aversion;
    /// <summary>The stored ephemeralOwner with the container/TTL markers (<see cref="EphemeralOwner"/>).</summary>
    public long RawEphemeralOwner;

    /// <summary>The absolute path (allocates).</summary>
    public readonly string Path => ParentPath is null ? "/" : ParentPath == "/" ? "/" + Name : ParentPath + "/" + Name;
}

/// <summary>
/// A pre-order walk over a <see cref="ZnodeTree"/> that can be resumed between writes to the tree: the fuzzy snapshot's
/// reader. Each <see cref="Collect"/> copies up to a buffer's worth of nodes; between calls the owner of the tree may apply
/// any transactions. A node present for the whole walk is visited exactly once, parents before children; a node created
/// after its parent was visited may be missed and one deleted before its turn is skipped, which the replay of the
/// transactions after the snapshot's zxid repairs (ZooKeeper's fuzzy snapshot).
/// </summary>
/// <remarks>
/// Cost on the tree's thread: per node one struct copy; per node with children one copy of its (name, node) pairs, taken
/// when the walk reaches it, into an array rented from <see cref="ArrayPool{T}.Shared"/> (a directory of a million
/// children would otherwise leave a 16 MB array on the large object heap per snapshot). No path string is built for a
/// leaf. Siblings come in the tree's storage order, not sorted. <see cref="Collect"/> must be called on the thread that
/// owns the tree. A finished walk has returned every array; an abandoned one leaves its arrays to the garbage collector.
/// </remarks>
public sealed class FuzzyTreeWalk
{
    private sealed class Frame(Znode node, string path, KeyValuePair<string, Znode>[] children, int count)
    {
        public Znode Node { get; } = node;
        public string Path { get; } = path;
        public KeyValuePair<string, Znode>[] Children { get; } = children;
        public int Count { get; } = count;
        public int Next;
    }

    private readonly ZnodeTree _tree;
    private readonly Stack<Frame> _frames = new();
    private bool _started;

    /// <summary>Starts a walk of <paramref name="tree"/> at the root.</summary>
    public FuzzyTreeWalk(ZnodeTree tree)
    {
        _tree = tree;
    }

    /// <summary>True once every node has been handed out.</summary>
    public bool IsDone => _started && _frames.Count == 0;

    /// <summary>Copies the next nodes into <paramref name="buffer"/>; returns how many (0 once <see cref="IsDone"/>).</summary>
    public int Collect(Span<NodeRecord> buffer)
    {
        int n = 0;
        if (!_started && buffer.Length > 0)
        {
            _started = true;
            Znode root = _tree.Root;
            Copy(ref buffer[n++], null, "", root);
            PushFrame(root, "/");
        }

        while (n < buffer.Length && _frames.TryPeek(out Frame? frame))
        {
            if (frame.Node.Detached || frame.Next >= frame.Count)
            {
                Release(_frames.Pop());
                continue;
            }

            (string name, Znode child) = frame.Children[frame.Next++];
            if (child.Detached)
            {
                continue;
            }

            Copy(ref buffer[n++], frame.Path, name, child);
            if (child.ChildCount > 0)
            {
                PushFrame(child, frame.Path == "/" ? "/" + name : frame.Path + "/" + name);
            }
        }

        return n;
    }

    private void PushFrame(Znode node, string path)
    {
        if (node.Children is not { Count: > 0 } children)
        {
            return;
        }

        var copy = ArrayPool<KeyValuePair<string, Znode>>.Shared.Rent(children.Count);
        ((ICollection<KeyValuePair<string, Znode>>)children).CopyTo(copy, 0);
        _frames.Push(new Frame(node, path, copy, children.Count));
    }

    private static void Release(Frame frame) =>
        ArrayPool<KeyValuePair<string, Znode>>.Shared.Return(frame.Children, clearArray: true);

    private static void Copy(ref NodeRecord r, string? parentPath, string name, Znode n)
    {
        r.ParentPath = parentPath;
        r.Name = name;
        r.Data = n.Data;
        r.Acl = n.Acl;
        r.Czxid = n.Czxid;
        r.Mzxid = n.Mzxid;
        r.Pzxid = n.Pzxid;
        r.Ctime = n.Ctime;
        r.Mtime = n.Mtime;
        r.Version = n.Version;
        r.StoredCversion = n.Cversion;
        r.Aversion = n.Aversion;
        r.RawEphemeralOwner = n.RawEphemeralOwner;
    }
}
