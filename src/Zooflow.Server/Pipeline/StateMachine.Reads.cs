using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// Reads, answered from the committed tree (ZooKeeper's FinalRequestProcessor read cases, including its ACL checks):
// exists, getData, getACL, getChildren, getChildren2, getAllChildrenNumber, getEphemerals, sync, whoAmI, ping,
// plus dispatch to the watch and multiRead handlers.
internal sealed partial class StateMachine
{
    private void ExecuteRead(Session session, RequestWork request)
    {
        switch (request.Header.Type)
        {
            case OpCode.Ping:
                Ping(request);
                break;
            case OpCode.Exists:
                Exists(session, request, (ExistsRequest)request.Body!);
                break;
            case OpCode.GetData:
                GetData(session, request, (GetDataRequest)request.Body!);
                break;
            case OpCode.GetAcl:
                GetAcl(request, (GetAclRequest)request.Body!);
                break;
            case OpCode.GetChildren:
                GetChildren(session, request, (GetChildrenRequest)request.Body!);
                break;
            case OpCode.GetChildren2:
                GetChildren2(session, request, (GetChildrenRequest)request.Body!);
                break;
            case OpCode.GetAllChildrenNumber:
                GetAllChildrenNumber(request, (GetAllChildrenNumberRequest)request.Body!);
                break;
            case OpCode.GetEphemerals:
                GetEphemerals(session, request, (GetEphemeralsRequest)request.Body!);
                break;
            case OpCode.Sync:
                // Standalone: the tree is the latest committed state once this session's earlier writes are applied.
                Reply(request, ErrorCode.Ok, new SyncResponse(((SyncRequest)request.Body!).Path), "SYNC");
                break;
            case OpCode.WhoAmI:
                WhoAmI(request);
                break;
            case OpCode.MultiRead:
                MultiRead(session, request, (MultiRequest)request.Body!);
                break;
            case OpCode.SetWatches:
                SetWatches(session, request, (SetWatches)request.Body!);
                break;
            case OpCode.SetWatches2:
                SetWatches2(session, request, (SetWatches2)request.Body!);
                break;
            case OpCode.AddWatch:
                AddWatch(session, request, (AddWatchRequest)request.Body!);
                break;
            case OpCode.RemoveWatches:
                RemoveWatches(session, request, (RemoveWatchesRequest)request.Body!);
                break;
            case OpCode.CheckWatches:
                CheckWatches(session, request, (RemoveWatchesRequest)request.Body!);
                break;
            default:
                // Known to the codec but not served (e.g. deleteContainer from a client, reconfig, sasl).
                Reply(request, request.Header.Type == OpCode.Reconfig ? ErrorCode.ReconfigDisabled : ErrorCode.Unimplemented, null, "NA");
                break;
        }
    }

    private void Ping(RequestWork request)
    {
        var connection = request.Connection;
        connection.SendReply(new ReplyHeader(Xids.Ping, _tree.LastProcessedZxid, ErrorCode.Ok), null);
        connection.LastOperation = "PING";
        MarkDirty(connection);
    }

    private bool Allowed(RequestWork request, IReadOnlyList<Acl> acl, Perms perms) =>
        AclChecker.Check(acl, perms, request.Connection.AuthIds);

    private void Exists(Session session, RequestWork request, ExistsRequest body)
    {
        if (body.Path.Contains('\0', StringComparison.Ordinal))
        {
            Reply(request, ErrorCode.BadArguments, null, "EXIS");
            return;
        }

        if (_tree.TryGetData(body.Path, out _, out var stat, out var acl))
        {
            if (!Allowed(request, acl, Perms.Read))
            {
                Reply(request, ErrorCode.NoAuth, null, "EXIS");
                return;
            }

            if (body.Watch)
            {
                _watches.AddWatch(session.Id, body.Path, WatchKind.Data);
            }

            Reply(request, ErrorCode.Ok, new StatResponse(stat), "EXIS");
            return;
        }

        // exists on a missing node still leaves a watch for its creation (DataTree.statNode).
        if (body.Watch)
        {
            _watches.AddWatch(session.Id, body.Path, WatchKind.Data);
        }

        Reply(request, ErrorCode.NoNode, null, "EXIS");
    }

    /// <summary>getData; returns the error for multiRead's use.</summary>
    private ErrorCode TryGetData(Session session, RequestWork request, GetDataRequest body, out GetDataResponse? response)
    {
        response = null;
        if (!_tree.TryGetData(body.Path, out var data, out var stat, out var acl))
        {
            return ErrorCode.NoNode;
        }

        if (!Allowed(request, acl, Perms.Read))
        {
            return ErrorCode.NoAuth;
        }

        if (body.Watch)
        {
            _watches.AddWatch(session.Id, body.Path, WatchKind.Data);
        }

        response = new GetDataResponse(data, stat);
        return ErrorCode.Ok;
    }

    private void GetData(Session session, RequestWork request, GetDataRequest body)
    {
        var err = TryGetData(session, request, body, out var response);
        Reply(request, err, response, "GETD");
    }

    private void GetAcl(RequestWork request, GetAclRequest body)
    {
        if (!_tree.TryGetData(body.Path, out _, out var stat, out var acl))
        {
            Reply(request, ErrorCode.NoNode, null, "GETA");
            return;
        }

        if (!Allowed(request, acl, Perms.Read | Perms.Admin))
        {
            Reply(request, ErrorCode.NoAuth, null, "GETA");
            return;
        }

        if (!Allowed(request, acl, Perms.Admin))
        {
            // Without ADMIN, digest ids are shown with their password hash replaced by "x" (ZooKeeper 3.8).
            var redacted = new List<Acl>(acl.Count);
            foreach (var entry in acl)
            {
                redacted.Add(entry.Id.Scheme == DigestAuthenticationProvider.Scheme
                    ? entry with { Id = new Id(entry.Id.Scheme, DigestAuthenticationProvider.UserOf(entry.Id.Ident) + ":x") }
                    : entry);
            }

            acl = redacted;
        }

        Reply(request, ErrorCode.Ok, new GetAclResponse(acl, stat), "GETA");
    }

    /// <summary>getChildren; returns the error for multiRead's use.</summary>
    private ErrorCode TryGetChildren(Session session, RequestWork request, GetChildrenRequest body, out IReadOnlyList<string> children, out Stat stat)
    {
        if (!_tree.TryGetChildren(body.Path, out children, out stat))
        {
            return ErrorCode.NoNode;
        }

        if (!_tree.TryGetAcl(body.Path, out var acl) || !Allowed(request, acl, Perms.Read))
        {
            return ErrorCode.NoAuth;
        }

        if (body.Watch)
        {
            _watches.AddWatch(session.Id, body.Path, WatchKind.Child);
        }

        return ErrorCode.Ok;
    }

    private void GetChildren(Session session, RequestWork request, GetChildrenRequest body)
    {
        var err = TryGetChildren(session, request, body, out var children, out _);
        Reply(request, err, err == ErrorCode.Ok ? new GetChildrenResponse(children) : null, "GETC");
    }

    private void GetChildren2(Session session, RequestWork request, GetChildrenRequest body)
    {
        var err = TryGetChildren(session, request, body, out var children, out var stat);
        Reply(request, err, err == ErrorCode.Ok ? new GetChildren2Response(children, stat) : null, "GETC");
    }

    private void GetAllChildrenNumber(RequestWork request, GetAllChildrenNumberRequest body)
    {
        if (!_tree.TryGetAcl(body.Path, out var acl))
        {
            Reply(request, ErrorCode.NoNode, null, "GETACN");
            return;
        }

        if (!Allowed(request, acl, Perms.Read))
        {
            Reply(request, ErrorCode.NoAuth, null, "GETACN");
            return;
        }

        Reply(request, ErrorCode.Ok, new GetAllChildrenNumberResponse(_tree.GetAllChildrenNumber(body.Path)), "GETACN");
    }

    private void GetEphemerals(Session session, RequestWork request, GetEphemeralsRequest body) =>
        Reply(request, ErrorCode.Ok, new GetEphemeralsResponse(_tree.GetEphemerals(session.Id, body.PrefixPath)), "GETE");

    private void WhoAmI(RequestWork request)
    {
        // AuthUtil.getClientInfos: one entry per identity, with the user name its provider reports.
        var infos = new List<ClientInfo>(request.Connection.AuthIds.Count);
        foreach (var id in request.Connection.AuthIds)
        {
            infos.Add(new ClientInfo(id.Scheme, id.Scheme == DigestAuthenticationProvider.Scheme ? DigestAuthenticationProvider.UserOf(id.Ident) : id.Ident));
        }

        Reply(request, ErrorCode.Ok, new WhoAmIResponse(infos), "HOMI");
    }
}
