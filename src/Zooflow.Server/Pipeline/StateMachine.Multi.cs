using Zooflow.DataTree;
using Zooflow.Jute;

namespace Zooflow.Server.Pipeline;

// multi: a transaction; its per-operation results come from the tree's apply (multiRead is a read: TreeReader).
internal sealed partial class StateMachine
{
    private void ReplyMulti(RequestWork request, ApplyResult result) =>
        // A failed multi still replies Ok in the header; each result carries its own error (FinalRequestProcessor).
        Reply(request, ErrorCode.Ok, new MultiResponse(result.MultiResults ?? []), "MULT");
}
