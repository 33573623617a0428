using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// multi (a transaction: results come from the tree's apply) and multiRead (reads, each with its own result).
internal sealed partial class StateMachine
{
    private void ReplyMulti(RequestWork request, ApplyResult result) =>
        // A failed multi still replies Ok in the header; each result carries its own error (FinalRequestProcessor).
        Reply(request, ErrorCode.Ok, new MultiResponse(result.MultiResults ?? []), "MULT");

    private void MultiRead(Session session, RequestWork request, MultiRequest body)
    {
        var results = new List<MultiResult>(body.Ops.Count);
        foreach (var op in body.Ops)
        {
            switch (op.Request)
            {
                case GetChildrenRequest getChildren when op.Type == OpCode.GetChildren:
                {
                    var err = TryGetChildren(session, request, getChildren, out var children, out _);
                    results.Add(err == ErrorCode.Ok
                        ? new MultiResult(OpCode.GetChildren, ErrorCode.Ok, new GetChildrenResponse(children))
                        : new MultiResult(OpCode.Error, err, new ErrorResponse(err)));
                    break;
                }

                case GetDataRequest getData when op.Type == OpCode.GetData:
                {
                    var err = TryGetData(session, request, getData, out var response);
                    results.Add(err == ErrorCode.Ok
                        ? new MultiResult(OpCode.GetData, ErrorCode.Ok, response)
                        : new MultiResult(OpCode.Error, err, new ErrorResponse(err)));
                    break;
                }

                default:
                    // ZooKeeper fails the whole request ("Invalid type of readOp") with MarshallingError.
                    Reply(request, ErrorCode.MarshallingError, null, "MLTR");
                    return;
            }
        }

        Reply(request, ErrorCode.Ok, new MultiResponse(results), "MLTR");
    }
}
