using Zooflow.Jute;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// Watch requests: setWatches / setWatches2 (re-registration after reconnect, with catch-up events), addWatch,
// removeWatches, checkWatches.
internal sealed partial class StateMachine
{
    private void SetWatches(Session session, RequestWork request, SetWatches body)
    {
        // Catch-up events go out before the reply, like every other watch event.
        Deliver(_watches.SetWatches(session.Id, body.RelativeZxid, _tree, body.DataWatches, body.ExistWatches, body.ChildWatches));
        Reply(request, ErrorCode.Ok, null, "SETW");
    }

    private void SetWatches2(Session session, RequestWork request, SetWatches2 body)
    {
        Deliver(_watches.SetWatches(session.Id, body.RelativeZxid, _tree, body.DataWatches, body.ExistWatches, body.ChildWatches,
            body.PersistentWatches, body.PersistentRecursiveWatches));
        Reply(request, ErrorCode.Ok, null, "STW2");
    }

    private void AddWatch(Session session, RequestWork request, AddWatchRequest body)
    {
        _watches.AddWatch(session.Id, body.Path, body.Mode);
        // ZooKeeper answers addWatch with an ErrorResponse(0) body.
        Reply(request, ErrorCode.Ok, new ErrorResponse(ErrorCode.Ok), "ADDW");
    }

    private void RemoveWatches(Session session, RequestWork request, RemoveWatchesRequest body) =>
        Reply(request, _watches.RemoveWatches(session.Id, body.Path, body.Type), null, "REMW");

    private void CheckWatches(Session session, RequestWork request, RemoveWatchesRequest body) =>
        Reply(request, _watches.CheckWatches(session.Id, body.Path, body.Type), null, "CHKW");
}
