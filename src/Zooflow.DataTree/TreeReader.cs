using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// Serves read requests from the committed tree exactly as ZooKeeper 3.8's <c>FinalRequestProcessor</c> does, registering
/// the requested watches: exists, getData, getChildren, getChildren2, getAllChildrenNumber, getACL, getEphemerals, multiRead.
/// </summary>
/// <remarks>
/// Stateless; it touches the tree and the watch registry, so it runs on the thread that owns them. Rules (3.8):
/// exists needs READ when the node exists and registers its watch even when the node is missing (reply NoNode);
/// getData/getChildren/getAllChildrenNumber need READ, and a missing node (NoNode) or a refused read (NoAuth) registers no
/// watch; getACL needs READ or ADMIN, and without ADMIN digest ids are masked as <c>user:x</c>; getEphemerals needs no
/// permission; multiRead answers each getData/getChildren separately (errors per operation).
/// </remarks>
public static class TreeReader
{
    /// <summary>
    /// Answers one read request. Returns the error code for the reply header; <paramref name="response"/> is the response
    /// record (<see cref="StatResponse"/>, <see cref="GetDataResponse"/>, <see cref="GetChildrenResponse"/>,
    /// <see cref="GetChildren2Response"/>, <see cref="GetAllChildrenNumberResponse"/>, <see cref="GetAclResponse"/>,
    /// <see cref="GetEphemeralsResponse"/>, <see cref="MultiResponse"/>) or null on error.
    /// </summary>
    /// <exception cref="ArgumentException">The opcode is not a read handled here, or the body type does not fit it.</exception>
    public static ErrorCode Read(ZnodeTree tree, WatchManager watches, long sessionId, IReadOnlyList<Id> authIds, OpCode type, object request,
        out object? response, bool skipAcl = false)
    {
        response = null;
        switch (type)
        {
            case OpCode.Exists:
            {
                var r = request as ExistsRequest ?? throw Bad(type, request);
                if (r.Path.Contains('\0', StringComparison.Ordinal))
                {
                    return ErrorCode.BadArguments;
                }

                // ZooKeeper 3.8's FinalRequestProcessor answers exists without an ACL check: a Stat is not READ-protected.
                if (tree.TryGetData(r.Path, out _, out Stat stat, out _))
                {
                    AddWatch(watches, sessionId, r.Path, r.Watch, WatchKind.Data);
                    response = new StatResponse(stat);
                    return ErrorCode.Ok;
                }

                AddWatch(watches, sessionId, r.Path, r.Watch, WatchKind.Data);
                return ErrorCode.NoNode;
            }

            case OpCode.GetData:
            {
                var r = request as GetDataRequest ?? throw Bad(type, request);
                ErrorCode err = GetData(tree, watches, sessionId, authIds, r, skipAcl, out GetDataResponse? rsp);
                response = rsp;
                return err;
            }

            case OpCode.GetChildren:
            case OpCode.GetChildren2:
            {
                var r = request as GetChildrenRequest ?? throw Bad(type, request);
                ErrorCode err = GetChildren(tree, watches, sessionId, authIds, r, skipAcl, out IReadOnlyList<string> children, out Stat stat);
                if (err == ErrorCode.Ok)
                {
                    response = type == OpCode.GetChildren ? new GetChildrenResponse(children) : new GetChildren2Response(children, stat);
                }

                return err;
            }

            case OpCode.GetAllChildrenNumber:
            {
                var r = request as GetAllChildrenNumberRequest ?? throw Bad(type, request);
                if (!tree.TryGetAcl(r.Path, out IReadOnlyList<Acl> acl))
                {
                    return ErrorCode.NoNode;
                }

                if (!Allowed(acl, Perms.Read, authIds, skipAcl))
                {
                    return ErrorCode.NoAuth;
                }

                response = new GetAllChildrenNumberResponse(tree.GetAllChildrenNumber(r.Path));
                return ErrorCode.Ok;
            }

            case OpCode.GetAcl:
            {
                var r = request as GetAclRequest ?? throw Bad(type, request);
                if (!tree.TryGetData(r.Path, out _, out Stat stat, out IReadOnlyList<Acl> acl))
                {
                    return ErrorCode.NoNode;
                }

                if (!Allowed(acl, Perms.Read | Perms.Admin, authIds, skipAcl))
                {
                    return ErrorCode.NoAuth;
                }

                if (Allowed(acl, Perms.Admin, authIds, skipAcl))
                {
                    response = new GetAclResponse(acl, stat);
                }
                else
                {
                    var masked = new List<Acl>(acl.Count);
                    foreach (Acl a in acl)
                    {
                        masked.Add(a.Id.Scheme == DigestAuthenticationProvider.Scheme
                            ? new Acl(a.Perms, new Id(a.Id.Scheme, DigestAuthenticationProvider.UserOf(a.Id.Ident) + ":x"))
                            : a);
                    }

                    response = new GetAclResponse(masked, stat);
                }

                return ErrorCode.Ok;
            }

            case OpCode.GetEphemerals:
            {
                var r = request as GetEphemeralsRequest ?? throw Bad(type, request);
                response = new GetEphemeralsResponse(tree.GetEphemerals(sessionId, r.PrefixPath));
                return ErrorCode.Ok;
            }

            case OpCode.MultiRead:
            {
                var r = request as MultiRequest ?? throw Bad(type, request);
                foreach (MultiOp op in r.Ops)
                {
                    if (op.Type is not (OpCode.GetData or OpCode.GetChildren))
                    {
                        return ErrorCode.MarshallingError; // "Invalid type of readOp"
                    }
                }

                var results = new List<MultiResult>(r.Ops.Count);
                foreach (MultiOp op in r.Ops)
                {
                    if (op.Type == OpCode.GetData)
                    {
                        ErrorCode err = GetData(tree, watches, sessionId, authIds, op.Request as GetDataRequest ?? throw Bad(op.Type, op.Request), skipAcl,
                            out GetDataResponse? rsp);
                        results.Add(err == ErrorCode.Ok ? new MultiResult(OpCode.GetData, ErrorCode.Ok, rsp) : Error(err));
                    }
                    else
                    {
                        ErrorCode err = GetChildren(tree, watches, sessionId, authIds, op.Request as GetChildrenRequest ?? throw Bad(op.Type, op.Request),
                            skipAcl, out IReadOnlyList<string> children, out _);
                        results.Add(err == ErrorCode.Ok ? new MultiResult(OpCode.GetChildren, ErrorCode.Ok, new GetChildrenResponse(children)) : Error(err));
                    }
                }

                response = new MultiResponse(results);
                return ErrorCode.Ok;
            }

            default:
                throw new ArgumentException($"{type} is not a read request.", nameof(type));
        }
    }

    private static ErrorCode GetData(ZnodeTree tree, WatchManager watches, long sessionId, IReadOnlyList<Id> authIds, GetDataRequest r, bool skipAcl,
        out GetDataResponse? response)
    {
        response = null;
        if (!tree.TryGetData(r.Path, out byte[] data, out Stat stat, out IReadOnlyList<Acl> acl))
        {
            return ErrorCode.NoNode;
        }

        if (!Allowed(acl, Perms.Read, authIds, skipAcl))
        {
            return ErrorCode.NoAuth;
        }

        AddWatch(watches, sessionId, r.Path, r.Watch, WatchKind.Data);
        response = new GetDataResponse(data, stat);
        return ErrorCode.Ok;
    }

    private static ErrorCode GetChildren(ZnodeTree tree, WatchManager watches, long sessionId, IReadOnlyList<Id> authIds, GetChildrenRequest r,
        bool skipAcl, out IReadOnlyList<string> children, out Stat stat)
    {
        if (!tree.TryGetAcl(r.Path, out IReadOnlyList<Acl> acl))
        {
            children = [];
            stat = default;
            return ErrorCode.NoNode;
        }

        if (!Allowed(acl, Perms.Read, authIds, skipAcl))
        {
            children = [];
            stat = default;
            return ErrorCode.NoAuth;
        }

        AddWatch(watches, sessionId, r.Path, r.Watch, WatchKind.Child);
        tree.TryGetChildren(r.Path, out children, out stat);
        return ErrorCode.Ok;
    }

    private static void AddWatch(WatchManager watches, long sessionId, string path, bool watch, WatchKind kind)
    {
        if (watch)
        {
            watches.AddWatch(sessionId, path, kind);
        }
    }

    private static bool Allowed(IReadOnlyList<Acl> acl, Perms perm, IReadOnlyList<Id> authIds, bool skipAcl) =>
        skipAcl || AclChecker.Check(acl, perm, authIds);

    private static MultiResult Error(ErrorCode err) => new(OpCode.Error, err, new ErrorResponse(err));

    private static ArgumentException Bad(OpCode type, object? request) =>
        new($"Opcode {type} does not take a request of type {request?.GetType().Name ?? "null"}.", nameof(request));
}
