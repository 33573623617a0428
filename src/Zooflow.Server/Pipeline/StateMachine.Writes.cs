using Zooflow.Jute;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// Writes: create, create2, createContainer, createTTL, delete, setData, setACL, multi (prep → log → apply → reply).
internal sealed partial class StateMachine
{
    private void SubmitWrite(Session session, RequestWork request)
    {
        if (_driver is not null)
        {
            SubmitReplicated(session, Quorum.ForwardedWrite.Request(session.Id, request.Header.Xid, request.Header.Type, request.Body,
                request.Connection.AuthIds), new PendingRequest(request));
            return;
        }

        var prepared = _preparer.Prepare(session.Id, request.Header.Xid, request.Header.Type, request.Body,
            request.Connection.AuthIds, NextZxid(), _server.NowMs());
        var zxid = Submit(prepared);
        var err = request.Header.Type == OpCode.Multi ? ErrorCode.Ok : prepared.Err;
        session.Pending.Enqueue(new PendingRequest(request) { Zxid = zxid, PrepError = zxid == 0 ? ErrorCode.SystemError : err, Ready = zxid == 0 });
        if (zxid == 0)
        {
            Drain(session);
        }
    }

    private void ReplyWrite(RequestWork request, PendingRequest pending)
    {
        var result = pending.Result;
        var type = request.Header.Type;
        if (result is null || pending.PrepError != ErrorCode.Ok)
        {
            Reply(request, pending.PrepError == ErrorCode.Ok ? ErrorCode.SystemError : pending.PrepError, null, OpName(type));
            if (type == OpCode.CloseSession)
            {
                request.Connection.CloseAfterSend();
            }

            return;
        }

        switch (type)
        {
            case OpCode.Create:
                Reply(request, result.Err, new CreateResponse(result.Path ?? string.Empty), "CREA");
                break;
            case OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl:
                Reply(request, result.Err, new Create2Response(result.Path ?? string.Empty, result.Stat.GetValueOrDefault()), "CREA");
                break;
            case OpCode.Delete:
                Reply(request, result.Err, null, "DELE");
                break;
            case OpCode.SetData:
                Reply(request, result.Err, new StatResponse(result.Stat.GetValueOrDefault()), "SETD");
                break;
            case OpCode.SetAcl:
                Reply(request, result.Err, new StatResponse(result.Stat.GetValueOrDefault()), "SETA");
                break;
            case OpCode.Multi:
                ReplyMulti(request, result);
                break;
            case OpCode.CloseSession:
                ServerLog.SessionClosed(_server.Logger, result.ClientId);
                Reply(request, result.Err, null, "CLOS");
                request.Connection.CloseAfterSend();
                break;
            default:
                Reply(request, ErrorCode.SystemError, null, "NA");
                break;
        }
    }

    private static string OpName(OpCode type) => type switch
    {
        OpCode.Create or OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl => "CREA",
        OpCode.Delete => "DELE",
        OpCode.SetData => "SETD",
        OpCode.SetAcl => "SETA",
        OpCode.Multi => "MULT",
        OpCode.CloseSession => "CLOS",
        _ => "NA",
    };

    /// <summary>The container/TTL reaper (ZooKeeper's ContainerManager): deletes candidates through the pipeline as
    /// deleteContainer transactions of no session; prep re-checks each one.</summary>
    private void ReapContainersAndTtls()
    {
        if (_driver is not null)
        {
            ReapAsLeader();
            return;
        }

        foreach (var path in _tree.FindExpiredContainersAndTtls(_server.NowMs(), _server.Options.ContainerMaxNeverUsedIntervalMs))
        {
            if (_inFlight >= _server.Options.MaxInFlightTxns)
            {
                break;
            }

            ServerLog.ReaperDelete(_server.Logger, "container/TTL", path);
            var prepared = _preparer.Prepare(0, 0, OpCode.DeleteContainer, path, [], NextZxid(), _server.NowMs());
            Submit(prepared);
        }
    }
}
