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
                ReadFromTree(session, request, "EXIS");
                break;
            case OpCode.GetData:
                ReadFromTree(session, request, "GETD");
                break;
            case OpCode.GetAcl:
                ReadFromTree(session, request, "GETA");
                break;
            case OpCode.GetChildren or OpCode.GetChildren2:
                ReadFromTree(session, request, "GETC");
                break;
            case OpCode.GetAllChildrenNumber:
                ReadFromTree(session, request, "GETACN");
                break;
            case OpCode.GetEphemerals:
                ReadFromTree(session, request, "GETE");
                break;
            case OpCode.MultiRead:
                ReadFromTree(session, request, "MLTR");
                break;
            case OpCode.Sync:
                // Standalone: the tree is the latest committed state once this session's earlier writes are applied.
                Reply(request, ErrorCode.Ok, new SyncResponse(((SyncRequest)request.Body!).Path), "SYNC");
                break;
            case OpCode.WhoAmI:
                WhoAmI(request);
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

    /// <summary>exists, getData, getACL, getChildren(2), getAllChildrenNumber, getEphemerals, multiRead: the DataTree's
    /// <see cref="TreeReader"/> applies ZooKeeper 3.8's ACL and watch-registration rules.</summary>
    private void ReadFromTree(Session session, RequestWork request, string op)
    {
        var err = TreeReader.Read(_tree, _watches, session.Id, request.Connection.AuthIds, request.Header.Type, request.Body!, out var response);
        Reply(request, err, err == ErrorCode.Ok ? response as IJuteWritable : null, op);
    }

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
