using System.Globalization;
using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>The outcome of <see cref="RequestPreparer.Prepare"/>: the transaction to log and apply.</summary>
/// <param name="Header">The header; its type is the request's opcode, or <see cref="OpCode.Error"/> when the request failed.</param>
/// <param name="Txn">The body: a txn record, <see cref="ErrorTxn"/> for a failed request, <see cref="MultiTxn"/> for a multi
/// (with ErrorTxn sub-transactions when it failed).</param>
/// <param name="Err">Ok, or why the request failed (for a multi: the failing operation's code).</param>
public readonly record struct PrepareResult(TxnHeader Header, object Txn, ErrorCode Err)
{
    /// <summary>True when the request (or an operation of the multi) failed.</summary>
    public bool Failed => Err != ErrorCode.Ok;
}

/// <summary>
/// The prep stage (ZooKeeper's <c>PrepRequestProcessor</c>): validates a client write against a private speculative view —
/// the committed <see cref="ZnodeTree"/> plus the changes of transactions prepared but not yet applied — and turns it into a
/// transaction record.
/// </summary>
/// <remarks>
/// <para>Single-threaded, owned by the prep loop; it reads the tree, so either the same thread applies transactions or the
/// caller serialises tree access. No I/O, no clock: the zxid and the time come in as arguments.</para>
/// <para>Every call consumes the zxid it is given, failures included: like ZooKeeper 3.8, a failed write becomes a
/// transaction of type <see cref="OpCode.Error"/> with an <see cref="ErrorTxn"/>, which is logged and applied like any other
/// (the client sees its zxid in the reply header). After the tree applied a transaction, call <see cref="Applied"/>.</para>
/// <para>Checks run in ZooKeeper's order; notably a permission check comes before the version check and before NoNode of the
/// target of a delete (delete needs DELETE on the parent, create CREATE on the parent, setData WRITE, setACL ADMIN, check READ);
/// a session with a <c>super</c> identity passes every check.</para>
/// </remarks>
public sealed class RequestPreparer
{
    private sealed class ChangeRecord
    {
        public long Zxid;
        public string Path = "";
        public bool Exists;
        public int Version;
        public int Cversion;
        public int Aversion;
        public ZnodeKind Kind;
        public long Owner;
        public int ChildCount;
        public IReadOnlyList<Acl> Acl = [];

        public ChangeRecord Duplicate(long zxid) => new()
        {
            Zxid = zxid, Path = Path, Exists = Exists, Version = Version, Cversion = Cversion, Aversion = Aversion,
            Kind = Kind, Owner = Owner, ChildCount = ChildCount, Acl = Acl,
        };
    }

    private readonly ZnodeTree _tree;
    private readonly DataTreeOptions _options;
    private readonly LinkedList<ChangeRecord> _outstanding = new();
    private readonly Dictionary<string, ChangeRecord> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<long, (long Zxid, bool Closing)> _sessions = [];

    // Multi rollback: previous map entries of the paths a multi touched, and where its records start.
    private Dictionary<string, ChangeRecord?>? _batchSaved;
    private LinkedListNode<ChangeRecord>? _batchLastBefore;

    /// <summary>Creates the prep stage over <paramref name="tree"/>.</summary>
    public RequestPreparer(ZnodeTree tree, DataTreeOptions? options = null)
    {
        _tree = tree;
        _options = options ?? DataTreeOptions.Default;
    }

    /// <summary>Number of speculative change records not yet dropped by <see cref="Applied"/>.</summary>
    public int OutstandingChanges => _outstanding.Count;

    /// <summary>
    /// Prepares one write request: create, create2, createContainer, createTTL (<see cref="CreateRequest"/> /
    /// <see cref="CreateTtlRequest"/>), delete (<see cref="DeleteRequest"/>), deleteContainer (path string or DeleteRequest),
    /// setData, setACL, check, multi (<see cref="MultiRequest"/>), createSession (timeout as int or
    /// <see cref="CreateSessionTxn"/>), closeSession (no body).
    /// </summary>
    /// <param name="sessionId">The session issuing the request (the header's clientId).</param>
    /// <param name="cxid">The request's xid.</param>
    /// <param name="type">The opcode.</param>
    /// <param name="request">The decoded request record.</param>
    /// <param name="authIds">The session's identities (ip, digest, super ...).</param>
    /// <param name="zxid">The zxid this transaction gets.</param>
    /// <param name="timeMs">Wall-clock time of the transaction in milliseconds since the epoch (becomes ctime/mtime).</param>
    /// <exception cref="ArgumentException">The opcode is not a write, or the body type does not fit it.</exception>
    public PrepareResult Prepare(long sessionId, int cxid, OpCode type, object? request, IReadOnlyList<Id> authIds, long zxid, long timeMs)
    {
        var header = new TxnHeader(sessionId, cxid, zxid, timeMs, type);
        switch (type)
        {
            case OpCode.Multi:
                return PrepareMulti(header, request as MultiRequest ?? throw BadRequest(type, request), authIds);
            case OpCode.CreateSession:
            {
                int timeout = request switch
                {
                    int t => t,
                    CreateSessionTxn t => t.TimeOutMs,
                    _ => throw BadRequest(type, request),
                };
                _sessions[sessionId] = (zxid, false);
                return new PrepareResult(header, new CreateSessionTxn(timeout), ErrorCode.Ok);
            }

            case OpCode.CloseSession:
                return new PrepareResult(header, PrepareClose(sessionId, zxid), ErrorCode.Ok);
            default:
            {
                ErrorCode err = PrepareOp(type, request, header, authIds, out object? txn);
                return err == ErrorCode.Ok
                    ? new PrepareResult(header, txn!, ErrorCode.Ok)
                    : new PrepareResult(header with { Type = OpCode.Error }, new ErrorTxn(err), err);
            }
        }
    }

    /// <summary>Prepares a CreateSession transaction; the session counts as live for later requests.</summary>
    public PrepareResult PrepareCreateSession(long sessionId, int timeoutMs, long zxid, long timeMs) =>
        Prepare(sessionId, 0, OpCode.CreateSession, timeoutMs, [], zxid, timeMs);

    /// <summary>
    /// Prepares a CloseSession transaction listing the session's ephemerals, including ones created by transactions still in
    /// flight and excluding ones deleted in flight; later requests of the session fail with SessionExpired.
    /// </summary>
    public PrepareResult PrepareCloseSession(long sessionId, int cxid, long zxid, long timeMs) =>
        Prepare(sessionId, cxid, OpCode.CloseSession, null, [], zxid, timeMs);

    /// <summary>
    /// Drops speculative records of transactions with zxid ≤ <paramref name="zxid"/>: the tree has applied them
    /// (ZooKeeper's FinalRequestProcessor cleanup of <c>outstandingChanges</c>).
    /// </summary>
    public void Applied(long zxid)
    {
        while (_outstanding.First is { } first && first.Value.Zxid <= zxid)
        {
            _outstanding.RemoveFirst();
            if (_byPath.TryGetValue(first.Value.Path, out ChangeRecord? r) && ReferenceEquals(r, first.Value))
            {
                _byPath.Remove(first.Value.Path);
            }
        }

        List<long>? done = null;
        foreach ((long session, (long z, bool _)) in _sessions)
        {
            if (z <= zxid)
            {
                (done ??= []).Add(session);
            }
        }

        if (done is not null)
        {
            foreach (long s in done)
            {
                _sessions.Remove(s);
            }
        }
    }

    /// <summary>Forgets every speculative change (e.g. after a leader change, when in-flight proposals are abandoned).</summary>
    public void Reset()
    {
        _outstanding.Clear();
        _byPath.Clear();
        _sessions.Clear();
    }

    /// <summary>True when the session may issue writes: known to the tree or created in flight, and not closing.</summary>
    public bool IsSessionLive(long sessionId)
    {
        if (_sessions.TryGetValue(sessionId, out (long Zxid, bool Closing) s))
        {
            return !s.Closing;
        }

        return _tree.Sessions.ContainsKey(sessionId);
    }

    private PrepareResult PrepareMulti(TxnHeader header, MultiRequest multi, IReadOnlyList<Id> authIds)
    {
        foreach (MultiOp op in multi.Ops)
        {
            if (op.Type is not (OpCode.Create or OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl or OpCode.Delete
                or OpCode.SetData or OpCode.Check))
            {
                // ZooKeeper fails to deserialize such a multi: the request becomes an ErrorTxn(MarshallingError).
                return new PrepareResult(header with { Type = OpCode.Error }, new ErrorTxn(ErrorCode.MarshallingError), ErrorCode.MarshallingError);
            }
        }

        var txns = new List<SubTxn>(multi.Ops.Count);
        ErrorCode failure = ErrorCode.Ok;
        _batchSaved = new Dictionary<string, ChangeRecord?>(StringComparer.Ordinal);
        _batchLastBefore = _outstanding.Last;
        try
        {
            foreach (MultiOp op in multi.Ops)
            {
                if (failure != ErrorCode.Ok)
                {
                    txns.Add(new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.RuntimeInconsistency)));
                    continue;
                }

                ErrorCode err = PrepareOp(op.Type, op.Request, header, authIds, out object? txn);
                if (err == ErrorCode.Ok)
                {
                    txns.Add(new SubTxn(op.Type, txn!));
                }
                else
                {
                    failure = err;
                    txns.Add(new SubTxn(OpCode.Error, new ErrorTxn(err)));
                    RollbackBatch();
                }
            }
        }
        finally
        {
            _batchSaved = null;
            _batchLastBefore = null;
        }

        return new PrepareResult(header, new MultiTxn(txns), failure);
    }

    private void RollbackBatch()
    {
        while (_outstanding.Last is { } last && !ReferenceEquals(last, _batchLastBefore))
        {
            _outstanding.RemoveLast();
        }

        foreach ((string path, ChangeRecord? previous) in _batchSaved!)
        {
            if (previous is null)
            {
                _byPath.Remove(path);
            }
            else
            {
                _byPath[path] = previous;
            }
        }

        _batchSaved.Clear();
    }

    private ErrorCode PrepareOp(OpCode type, object? request, in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        switch (type)
        {
            case OpCode.Create:
            case OpCode.Create2:
            case OpCode.CreateContainer:
            case OpCode.CreateTtl:
                return request switch
                {
                    CreateTtlRequest r => PrepareCreate(type, r.Path, r.Data, r.Acl, r.Flags, r.Ttl, header, authIds, out txn),
                    CreateRequest r => PrepareCreate(type, r.Path, r.Data, r.Acl, r.Flags, -1, header, authIds, out txn),
                    _ => throw BadRequest(type, request),
                };
            case OpCode.Delete:
                return PrepareDelete(request as DeleteRequest ?? throw BadRequest(type, request), header, authIds, out txn);
            case OpCode.DeleteContainer:
                return PrepareDeleteContainer(request switch
                {
                    string p => p,
                    DeleteRequest d => d.Path,
                    _ => throw BadRequest(type, request),
                }, header, out txn);
            case OpCode.SetData:
                return PrepareSetData(request as SetDataRequest ?? throw BadRequest(type, request), header, authIds, out txn);
            case OpCode.SetAcl:
                return PrepareSetAcl(request as SetAclRequest ?? throw BadRequest(type, request), header, authIds, out txn);
            case OpCode.Check:
                return PrepareCheck(request as CheckVersionRequest ?? throw BadRequest(type, request), header, authIds, out txn);
            default:
                throw new ArgumentException($"{type} is not a write request the prep stage handles.", nameof(type));
        }
    }

    private ErrorCode PrepareCreate(OpCode type, string path, byte[]? data, IReadOnlyList<Acl>? acl, CreateMode flags, long ttl,
        in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        if (!Enum.IsDefined(flags))
        {
            return ErrorCode.BadArguments; // CreateMode.fromFlag
        }

        bool isTtl = flags is CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl;
        bool isSequential = flags is CreateMode.PersistentSequential or CreateMode.EphemeralSequential or CreateMode.PersistentSequentialWithTtl;
        bool isEphemeral = flags is CreateMode.Ephemeral or CreateMode.EphemeralSequential;

        // validateCreateRequest
        if (isTtl && !_options.ExtendedTypesEnabled)
        {
            return ErrorCode.Unimplemented;
        }

        if (isTtl ? ttl > EphemeralOwner.TtlMaxMs || ttl <= 0 : ttl >= 0)
        {
            return ErrorCode.BadArguments; // EphemeralType.validateTTL
        }

        if (type == OpCode.CreateTtl && !isTtl)
        {
            return ErrorCode.BadArguments;
        }

        if (!CheckSession(header.ClientId))
        {
            return ErrorCode.SessionExpired;
        }

        // validatePathForCreate: only the shape needed to find the parent; the final name is validated below.
        if (path is null)
        {
            return ErrorCode.BadArguments;
        }

        int slash = path.LastIndexOf('/');
        if (slash < 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            return ErrorCode.BadArguments;
        }

        ReadOnlySpan<char> parentPath = slash == 0 ? "/" : path.AsSpan(0, slash);
        ErrorCode aclErr = AclChecker.FixupAcl(acl, authIds, out IReadOnlyList<Acl> fixedAcl);
        if (aclErr != ErrorCode.Ok)
        {
            return aclErr;
        }

        ChangeRecord? parent = GetRecord(parentPath);
        if (parent is null)
        {
            return ErrorCode.NoNode;
        }

        if (!CheckAcl(parent.Acl, Perms.Create, authIds))
        {
            return ErrorCode.NoAuth;
        }

        data ??= JuteNull.Buffer; // null data stays null on the wire (length -1), as ZooKeeper keeps it
        if (_options.DataLengthMax is int max && data.Length > max)
        {
            return ErrorCode.BadArguments;
        }

        if (isSequential)
        {
            path += FormatSequence(parent.Cversion);
        }

        if (!PathValidator.IsValid(path))
        {
            return ErrorCode.BadArguments;
        }

        if (path == "/" || GetRecord(path) is not null)
        {
            return ErrorCode.NodeExists;
        }

        if (parent.Kind == ZnodeKind.Ephemeral)
        {
            return ErrorCode.NoChildrenForEphemerals;
        }

        int newCversion = parent.Cversion + 1;
        ZnodeKind kind;
        switch (type)
        {
            case OpCode.CreateContainer:
                txn = new CreateContainerTxn(path, data, fixedAcl, newCversion);
                kind = ZnodeKind.Container;
                break;
            case OpCode.CreateTtl:
                txn = new CreateTtlTxn(path, data, fixedAcl, newCversion, ttl);
                kind = ZnodeKind.Ttl;
                break;
            default:
                txn = new CreateTxn(path, data, fixedAcl, isEphemeral, newCversion);
                kind = isEphemeral ? ZnodeKind.Ephemeral : ZnodeKind.Persistent;
                break;
        }

        ChangeRecord p = parent.Duplicate(header.Zxid);
        p.ChildCount++;
        p.Cversion = newCversion;
        AddChangeRecord(p);
        AddChangeRecord(new ChangeRecord
        {
            Zxid = header.Zxid, Path = path, Exists = true, Kind = kind, Owner = kind == ZnodeKind.Ephemeral ? header.ClientId : 0,
            Acl = fixedAcl,
        });
        return ErrorCode.Ok;
    }

    // Java's String.format("%010d", cversion): ten digits, zero padded; a negative value keeps its sign within the width.
    private static string FormatSequence(int cversion) =>
        cversion < 0
            ? "-" + (-(long)cversion).ToString("D9", CultureInfo.InvariantCulture)
            : cversion.ToString("D10", CultureInfo.InvariantCulture);

    private ErrorCode PrepareDelete(DeleteRequest r, in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        if (!CheckSession(header.ClientId))
        {
            return ErrorCode.SessionExpired;
        }

        if (!TryGetParentPathAndValidate(r.Path, out string parentPath))
        {
            return ErrorCode.BadArguments;
        }

        ChangeRecord? parent = GetRecord(parentPath);
        if (parent is null)
        {
            return ErrorCode.NoNode;
        }

        if (!CheckAcl(parent.Acl, Perms.Delete, authIds))
        {
            return ErrorCode.NoAuth;
        }

        ChangeRecord? node = GetRecord(r.Path);
        if (node is null)
        {
            return ErrorCode.NoNode;
        }

        if (r.Version != -1 && r.Version != node.Version)
        {
            return ErrorCode.BadVersion;
        }

        if (node.ChildCount > 0)
        {
            return ErrorCode.NotEmpty;
        }

        txn = new DeleteTxn(r.Path);
        RecordDelete(parent, r.Path, header.Zxid);
        return ErrorCode.Ok;
    }

    private ErrorCode PrepareDeleteContainer(string path, in TxnHeader header, out object? txn)
    {
        // PrepRequestProcessor, case deleteContainer: sent by the server's container/TTL reaper; no ACL or session check.
        txn = null;
        if (!TryGetParentPathAndValidate(path, out string parentPath))
        {
            return ErrorCode.BadArguments;
        }

        ChangeRecord? node = GetRecord(path);
        if (node is null)
        {
            return ErrorCode.NoNode;
        }

        if (node.ChildCount > 0)
        {
            return ErrorCode.NotEmpty;
        }

        // ZooKeeper refuses only ephemerals here; refusing plain persistent nodes too keeps a reaper race from deleting a node
        // that replaced a container.
        if (node.Kind is ZnodeKind.Ephemeral or ZnodeKind.Persistent)
        {
            return ErrorCode.BadVersion;
        }

        ChangeRecord? parent = GetRecord(parentPath);
        if (parent is null)
        {
            return ErrorCode.NoNode;
        }

        txn = new DeleteTxn(path);
        RecordDelete(parent, path, header.Zxid);
        return ErrorCode.Ok;
    }

    private void RecordDelete(ChangeRecord parent, string path, long zxid)
    {
        ChangeRecord p = parent.Duplicate(zxid);
        p.ChildCount--;
        AddChangeRecord(p);
        AddChangeRecord(new ChangeRecord { Zxid = zxid, Path = path, Exists = false });
    }

    private ErrorCode PrepareSetData(SetDataRequest r, in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        if (!CheckSession(header.ClientId))
        {
            return ErrorCode.SessionExpired;
        }

        if (!PathValidator.IsValid(r.Path))
        {
            return ErrorCode.BadArguments;
        }

        ChangeRecord? node = GetRecord(r.Path);
        if (node is null)
        {
            return ErrorCode.NoNode;
        }

        if (!CheckAcl(node.Acl, Perms.Write, authIds))
        {
            return ErrorCode.NoAuth;
        }

        byte[] data = r.Data ?? JuteNull.Buffer;
        if (_options.DataLengthMax is int max && data.Length > max)
        {
            return ErrorCode.BadArguments;
        }

        if (r.Version != -1 && r.Version != node.Version)
        {
            return ErrorCode.BadVersion;
        }

        int newVersion = node.Version + 1;
        txn = new SetDataTxn(r.Path, data, newVersion);
        ChangeRecord n = node.Duplicate(header.Zxid);
        n.Version = newVersion;
        AddChangeRecord(n);
        return ErrorCode.Ok;
    }

    private ErrorCode PrepareSetAcl(SetAclRequest r, in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        if (!CheckSession(header.ClientId))
        {
            return ErrorCode.SessionExpired;
        }

        if (!PathValidator.IsValid(r.Path))
        {
            return ErrorCode.BadArguments;
        }

        ErrorCode aclErr = AclChecker.FixupAcl(r.Acl, authIds, out IReadOnlyList<Acl> fixedAcl);
        if (aclErr != ErrorCode.Ok)
        {
            return aclErr;
        }

        ChangeRecord? node = GetRecord(r.Path);
        if (node is null)
        {
            return ErrorCode.NoNode;
        }

        if (!CheckAcl(node.Acl, Perms.Admin, authIds))
        {
            return ErrorCode.NoAuth;
        }

        if (r.Version != -1 && r.Version != node.Aversion)
        {
            return ErrorCode.BadVersion;
        }

        int newAversion = node.Aversion + 1;
        txn = new SetAclTxn(r.Path, fixedAcl, newAversion);
        ChangeRecord n = node.Duplicate(header.Zxid);
        n.Aversion = newAversion;
        n.Acl = fixedAcl;
        AddChangeRecord(n);
        return ErrorCode.Ok;
    }

    private ErrorCode PrepareCheck(CheckVersionRequest r, in TxnHeader header, IReadOnlyList<Id> authIds, out object? txn)
    {
        txn = null;
        if (!CheckSession(header.ClientId))
        {
            return ErrorCode.SessionExpired;
        }

        if (!PathValidator.IsValid(r.Path))
        {
            return ErrorCode.BadArguments;
        }

        ChangeRecord? node = GetRecord(r.Path);
        if (node is null)
        {
            return ErrorCode.NoNode;
        }

        if (!CheckAcl(node.Acl, Perms.Read, authIds))
        {
            return ErrorCode.NoAuth;
        }

        if (r.Version != -1 && r.Version != node.Version)
        {
            return ErrorCode.BadVersion;
        }

        txn = new CheckVersionTxn(r.Path, node.Version + 1);
        return ErrorCode.Ok;
    }

    private CloseSessionTxn PrepareClose(long sessionId, long zxid)
    {
        var paths = new SortedSet<string>(_tree.EphemeralsOf(sessionId), StringComparer.Ordinal);
        foreach (ChangeRecord c in _outstanding)
        {
            if (!c.Exists)
            {
                paths.Remove(c.Path);
            }
            else if (c.Kind == ZnodeKind.Ephemeral && c.Owner == sessionId)
            {
                paths.Add(c.Path);
            }
        }

        foreach (string path in paths)
        {
            ChangeRecord? parent = GetRecord(PathValidator.ParentOf(path));
            if (parent is not null)
            {
                RecordDelete(parent, path, zxid);
            }
            else
            {
                AddChangeRecord(new ChangeRecord { Zxid = zxid, Path = path, Exists = false });
            }
        }

        _sessions[sessionId] = (zxid, true);
        return new CloseSessionTxn([.. paths]);
    }

    private bool CheckSession(long sessionId) => !_options.CheckSessions || IsSessionLive(sessionId);

    private bool CheckAcl(IReadOnlyList<Acl> acl, Perms perm, IReadOnlyList<Id> authIds) =>
        _options.SkipAcl || AclChecker.Check(acl, perm, authIds);

    // PrepRequestProcessor.getParentPathAndValidate: delete refuses paths without '/', with NUL, and the system nodes.
    private static bool TryGetParentPathAndValidate(string? path, out string parentPath)
    {
        parentPath = "";
        if (path is null)
        {
            return false;
        }

        int slash = path.LastIndexOf('/');
        if (slash < 0 || path.Contains('\0', StringComparison.Ordinal) || path is "/" or ZnodeTree.ZookeeperPath or ZnodeTree.QuotaPath or ZnodeTree.ConfigPath)
        {
            return false;
        }

        parentPath = slash == 0 ? "/" : path[..slash];
        return true;
    }

    private ChangeRecord? GetRecord(string path) => GetRecord(path, path);

    // The path as a span (a parent's path inside its child's, without a substring) and, when the caller has it, as a string.
    private ChangeRecord? GetRecord(ReadOnlySpan<char> path, string? pathString = null)
    {
        if (_byPath.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(path, out ChangeRecord? r))
        {
            return r.Exists ? r : null;
        }

        Znode? n = _tree.Find(path);
        if (n is null)
        {
            return null;
        }

        return new ChangeRecord
        {
            Zxid = -1, Path = pathString ?? path.ToString(), Exists = true, Version = n.Version, Cversion = n.Cversion, Aversion = n.Aversion,
            Kind = n.Kind, Owner = n.Owner, ChildCount = n.ChildCount, Acl = n.Acl,
        };
    }

    private void AddChangeRecord(ChangeRecord c)
    {
        if (_batchSaved is not null && !_batchSaved.ContainsKey(c.Path))
        {
            _batchSaved[c.Path] = _byPath.TryGetValue(c.Path, out ChangeRecord? previous) ? previous : null;
        }

        _outstanding.AddLast(c);
        _byPath[c.Path] = c;
    }

    private static ArgumentException BadRequest(OpCode type, object? request) =>
        new($"Opcode {type} does not take a request of type {request?.GetType().Name ?? "null"}.", nameof(request));
}
