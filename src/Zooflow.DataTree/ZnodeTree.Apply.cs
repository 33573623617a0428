using Zooflow.Jute;

namespace Zooflow.DataTree;

// Applying transactions (ZooKeeper's DataTree.processTxn, createNode, deleteNode, setData, setACL, killSession).
public sealed partial class ZnodeTree
{
    /// <summary>
    /// Applies one transaction. Deterministic; never throws for a transaction that does not fit the tree: like ZooKeeper
    /// during replay, it reports NoNode/NodeExists in <see cref="ApplyResult.Err"/> and leaves the tree consistent (a create
    /// of an existing node still raises the parent's cversion/pzxid when the txn's parentCVersion is newer).
    /// </summary>
    /// <param name="header">The transaction header; its type selects the body type.</param>
    /// <param name="txn">The body: CreateTxn (create/create2), CreateContainerTxn, CreateTtlTxn, DeleteTxn (delete/deleteContainer),
    /// SetDataTxn, SetAclTxn, CheckVersionTxn, CreateSessionTxn, CloseSessionTxn (or null: delete all the session's
    /// ephemerals), ErrorTxn, MultiTxn.</param>
    /// <exception cref="ArgumentException">The header type and body do not fit (a programmer error).</exception>
    public ApplyResult Apply(in TxnHeader header, object? txn)
    {
        var triggers = new List<WatchTrigger>();
        ApplyResult result;
        if (header.Type == OpCode.Multi)
        {
            result = ApplyMulti(header, txn as MultiTxn ?? throw BadBody(header.Type, txn), triggers);
        }
        else
        {
            (ErrorCode err, string? path, Stat? stat) = ApplyOne(header.Type, header, txn, triggers);
            result = new ApplyResult(header, err, path, stat, null, triggers);
        }

        if (header.Zxid > LastProcessedZxid)
        {
            LastProcessedZxid = header.Zxid;
        }

        return result;
    }

    private ApplyResult ApplyMulti(in TxnHeader header, MultiTxn multi, List<WatchTrigger> triggers)
    {
        // DataTree.processTxn, case multi: if any sub-txn is an error, nothing is applied: ops before the failing one report
        // Ok, the failing one its code, later ones RuntimeInconsistency (all as error results).
        bool failed = false;
        foreach (SubTxn sub in multi.Txns)
        {
            if (sub.Type == OpCode.Error)
            {
                failed = true;
                break;
            }
        }

        var results = new List<MultiResult>(multi.Txns.Count);
        ErrorCode first = ErrorCode.Ok;
        bool postFailed = false;
        foreach (SubTxn sub in multi.Txns)
        {
            OpCode type = sub.Type;
            object body = sub.Txn;
            if (type == OpCode.Error)
            {
                postFailed = true;
            }
            else if (failed)
            {
                type = OpCode.Error;
                body = new ErrorTxn(postFailed ? ErrorCode.RuntimeInconsistency : ErrorCode.Ok);
            }

            (ErrorCode err, string? path, Stat? stat) = ApplyOne(type, header, body, triggers);
            results.Add(ToMultiResult(type, err, path, stat));
            if (err != ErrorCode.Ok && first == ErrorCode.Ok)
            {
                first = err;
            }
        }

        return new ApplyResult(header, first, null, null, results, triggers);
    }

    // FinalRequestProcessor's mapping of sub-results to OpResults and MultiResponse's serialization: createTTL and
    // createContainer results travel as create2.
    private static MultiResult ToMultiResult(OpCode type, ErrorCode err, string? path, Stat? stat)
    {
        if (err != ErrorCode.Ok || type == OpCode.Error)
        {
            return new MultiResult(OpCode.Error, err, new ErrorResponse(err));
        }

        return type switch
        {
            OpCode.Create => new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse(path!)),
            OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer =>
                new MultiResult(OpCode.Create2, ErrorCode.Ok, new Create2Response(path!, stat.GetValueOrDefault())),
            OpCode.Delete or OpCode.DeleteContainer => new MultiResult(OpCode.Delete, ErrorCode.Ok, null),
            OpCode.SetData => new MultiResult(OpCode.SetData, ErrorCode.Ok, new StatResponse(stat.GetValueOrDefault())),
            OpCode.Check => new MultiResult(OpCode.Check, ErrorCode.Ok, null),
            _ => new MultiResult(OpCode.Error, ErrorCode.Ok, new ErrorResponse(ErrorCode.Ok)),
        };
    }

    private (ErrorCode Err, string? Path, Stat? Stat) ApplyOne(OpCode type, in TxnHeader header, object? txn, List<WatchTrigger> triggers)
    {
        switch (type)
        {
            case OpCode.Create:
            case OpCode.Create2:
            {
                var t = txn as CreateTxn ?? throw BadBody(type, txn);
                ZnodeKind kind = t.Ephemeral ? ZnodeKind.Ephemeral : ZnodeKind.Persistent;
                return Create(type, t.Path, t.Data, t.Acl, kind, t.Ephemeral ? header.ClientId : 0, 0, t.ParentCVersion, header, triggers);
            }

            case OpCode.CreateContainer:
            {
                var t = txn as CreateContainerTxn ?? throw BadBody(type, txn);
                return Create(type, t.Path, t.Data, t.Acl, ZnodeKind.Container, 0, 0, t.ParentCVersion, header, triggers);
            }

            case OpCode.CreateTtl:
            {
                var t = txn as CreateTtlTxn ?? throw BadBody(type, txn);
                return Create(type, t.Path, t.Data, t.Acl, ZnodeKind.Ttl, 0, t.Ttl, t.ParentCVersion, header, triggers);
            }

            case OpCode.Delete:
            case OpCode.DeleteContainer:
            {
                var t = txn as DeleteTxn ?? throw BadBody(type, txn);
                return (DeleteNode(t.Path, header.Zxid, triggers), t.Path, null);
            }

            case OpCode.SetData:
            {
                var t = txn as SetDataTxn ?? throw BadBody(type, txn);
                if (!TryFind(t.Path, out Znode? n))
                {
                    return (ErrorCode.NoNode, t.Path, null);
                }

                byte[] data = t.Data ?? JuteNull.Buffer;
                _dataSize += data.Length - n.Data.Length;
                n.Data = data;
                n.Mtime = header.Time;
                n.Mzxid = header.Zxid;
                n.Version = t.Version;
                triggers.Add(new WatchTrigger(t.Path, EventType.NodeDataChanged, n.Acl));
                return (ErrorCode.Ok, t.Path, n.ToStat());
            }

            case OpCode.SetAcl:
            {
                var t = txn as SetAclTxn ?? throw BadBody(type, txn);
                if (!TryFind(t.Path, out Znode? n))
                {
                    return (ErrorCode.NoNode, t.Path, null);
                }

                n.Aversion = t.Version;
                IReadOnlyList<Acl> previous = n.Acl;
                n.Acl = _acls.Intern(t.Acl);
                _acls.Release(previous);
                return (ErrorCode.Ok, t.Path, n.ToStat());
            }

            case OpCode.Check:
            {
                var t = txn as CheckVersionTxn ?? throw BadBody(type, txn);
                return (ErrorCode.Ok, t.Path, null);
            }

            case OpCode.CreateSession:
            {
                var t = txn as CreateSessionTxn ?? throw BadBody(type, txn);
                _sessions[header.ClientId] = t.TimeOutMs;
                return (ErrorCode.Ok, null, null);
            }

            case OpCode.CloseSession:
                CloseSession(header.ClientId, header.Zxid, (txn as CloseSessionTxn)?.Paths2Delete, triggers);
                return (ErrorCode.Ok, null, null);

            case OpCode.Error:
            {
                var t = txn as ErrorTxn ?? throw BadBody(type, txn);
                return (t.Err, null, null);
            }

            default:
                throw new ArgumentException($"Transaction type {type} cannot be applied to the tree.", nameof(txn));
        }
    }

    private (ErrorCode, string?, Stat?) Create(OpCode type, string path, byte[]? data, IReadOnlyList<Acl> acl, ZnodeKind kind, long owner, long ttlMs,
        int parentCVersion, in TxnHeader header, List<WatchTrigger> triggers)
    {
        int slash = path.LastIndexOf('/');
        Znode? parent = slash < 0 || path == "/" ? null : Find(slash == 0 ? "/" : path.AsSpan(0, slash));
        if (parent is null)
        {
            return (ErrorCode.NoNode, path, null);
        }

        if (parent.Child(path.AsSpan(slash + 1)) is not null)
        {
            // DataTree.processTxn: replaying a create after a fuzzy snapshot may meet the node already there; the parent's
            // cversion/pzxid still move forward so they end where the original run left them.
            if (parentCVersion > parent.Cversion)
            {
                parent.Cversion = parentCVersion;
                parent.Pzxid = header.Zxid;
            }

            return (ErrorCode.NodeExists, path, null);
        }

        if (parentCVersion == -1)
        {
            parentCVersion = parent.Cversion + 1;
        }

        // Only move forward: a replayed create must not roll back a cversion/pzxid a later txn already set.
        if (parentCVersion > parent.Cversion)
        {
            parent.Cversion = parentCVersion;
            parent.Pzxid = header.Zxid;
        }

        var node = new Znode
        {
            Data = data ?? JuteNull.Buffer,
            Acl = _acls.Intern(acl),
            Czxid = header.Zxid,
            Mzxid = header.Zxid,
            Pzxid = header.Zxid,
            Ctime = header.Time,
            Mtime = header.Time,
            Kind = kind,
            OwnerOrTtl = kind == ZnodeKind.Ttl ? ttlMs : owner,
        };
        parent.AddChild(path[(slash + 1)..], node);
        _nodeCount++;
        _dataSize += path.Length + node.Data.Length;
        Index(path, node);
        triggers.Add(new WatchTrigger(path, EventType.NodeCreated, node.Acl));
        triggers.Add(new WatchTrigger(slash == 0 ? "/" : path[..slash], EventType.NodeChildrenChanged, parent.Acl));
        return (ErrorCode.Ok, path, type == OpCode.Create ? null : node.ToStat());
    }

    private ErrorCode DeleteNode(string path, long zxid, List<WatchTrigger> triggers)
    {
        int slash = path.LastIndexOf('/');
        Znode? parent = slash < 0 || path == "/" ? null : Find(slash == 0 ? "/" : path.AsSpan(0, slash));
        if (parent is null)
        {
            return ErrorCode.NoNode;
        }

        // DataTree.deleteNode updates the parent's pzxid even when the child is already gone (fuzzy snapshot replay),
        // and only forward.
        if (zxid > parent.Pzxid)
        {
            parent.Pzxid = zxid;
        }

        if (parent.Children is null || !parent.Children.GetAlternateLookup<ReadOnlySpan<char>>().Remove(path.AsSpan(slash + 1), out _, out Znode? node))
        {
            return ErrorCode.NoNode;
        }

        Detach(path, node);
        if (node.ChildCount > 0)
        {
            // Only during replay over a fuzzy snapshot: the snapshot already holds children created after this delete's
            // original run. ZooKeeper leaves them orphaned until later txns overwrite them; dropping them keeps every node's
            // parent present, and the log's later creates bring back the ones that exist at its end.
            RemoveDescendants(path, node);
        }

        triggers.Add(new WatchTrigger(path, EventType.NodeDeleted, node.Acl));
        triggers.Add(new WatchTrigger(slash == 0 ? "/" : path[..slash], EventType.NodeChildrenChanged, parent.Acl));
        return ErrorCode.Ok;
    }

    // Bookkeeping for a node that left its parent's children.
    private void Detach(string path, Znode node)
    {
        node.Detached = true;
        _nodeCount--;
        _dataSize -= path.Length + node.Data.Length;
        _acls.Release(node.Acl);
        Unindex(path, node);
    }

    private void RemoveDescendants(string path, Znode node)
    {
        foreach ((string name, Znode c) in node.Children!)
        {
            string cp = path + "/" + name;
            Detach(cp, c);
            if (c.ChildCount > 0)
            {
                RemoveDescendants(cp, c);
            }
        }

        node.Children = null;
    }

    private void CloseSession(long sessionId, long zxid, IReadOnlyList<string>? paths, List<WatchTrigger> triggers)
    {
        // DataTree.killSession: delete the paths the txn lists (ignoring NoNode), then any ephemerals of the session the txn
        // did not list (a warning case in ZooKeeper).
        _sessions.Remove(sessionId);
        if (paths is not null)
        {
            // Listed paths are deleted whoever owns them now, as ZooKeeper does: prep listed exactly the session's
            // ephemerals, and during replay over a fuzzy snapshot the node at that path may be a later incarnation
            // that the log recreates afterwards.
            foreach (string p in paths)
            {
                DeleteNode(p, zxid, triggers);
            }
        }

        if (_ephemerals.TryGetValue(sessionId, out SortedSet<string>? rest))
        {
            foreach (string p in rest.ToArray())
            {
                DeleteNode(p, zxid, triggers);
            }
        }
    }

    private static ArgumentException BadBody(OpCode type, object? txn) =>
        new($"Transaction type {type} does not take a body of type {txn?.GetType().Name ?? "null"}.", nameof(txn));
}
