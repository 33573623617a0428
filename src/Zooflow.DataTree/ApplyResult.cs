using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>
/// One watch trigger fired by applying a transaction, in the order ZooKeeper fires them: a create fires
/// <see cref="EventType.NodeCreated"/> on the node then <see cref="EventType.NodeChildrenChanged"/> on its parent; a delete
/// fires <see cref="EventType.NodeDeleted"/> on the node then <see cref="EventType.NodeChildrenChanged"/> on its parent; a
/// setData fires <see cref="EventType.NodeDataChanged"/>. Hand each to <see cref="WatchManager.Trigger(in WatchTrigger, Func{long, IReadOnlyList{Id}}?)"/>.
/// </summary>
/// <param name="Path">The path the event is about.</param>
/// <param name="Type">The event type.</param>
/// <param name="Acl">The ACL of the node the event is about at the time it fired: ZooKeeper 3.8 only delivers an event to a
/// session with READ permission on it (<c>NIOServerCnxn.process(WatchedEvent, List&lt;ACL&gt;)</c>).</param>
public readonly record struct WatchTrigger(string Path, EventType Type, IReadOnlyList<Acl> Acl);

/// <summary>
/// The outcome of <see cref="ZnodeTree.Apply(in TxnHeader, object?)"/>, ready for the reply (ZooKeeper's <c>ProcessTxnResult</c>).
/// </summary>
public sealed class ApplyResult
{
    internal ApplyResult(in TxnHeader header, ErrorCode err, string? path, Stat? stat, IReadOnlyList<MultiResult>? multiResults, IReadOnlyList<WatchTrigger> triggers)
    {
        ClientId = header.ClientId;
        Cxid = header.Cxid;
        Zxid = header.Zxid;
        Type = header.Type;
        Err = err;
        Path = path;
        Stat = stat;
        MultiResults = multiResults;
        Triggers = triggers;
    }

    /// <summary>The session that issued the transaction (the header's clientId).</summary>
    public long ClientId { get; }

    /// <summary>The request's xid.</summary>
    public int Cxid { get; }

    /// <summary>The transaction's zxid; the reply header carries it.</summary>
    public long Zxid { get; }

    /// <summary>The header's type (<see cref="OpCode.Error"/> for a failed request).</summary>
    public OpCode Type { get; }

    /// <summary>
    /// The error: for <see cref="OpCode.Error"/> the ErrorTxn's code; for a multi the first failing operation's code (note that
    /// ZooKeeper still sends a multi's reply header with err 0 and puts the errors into the per-operation results).
    /// </summary>
    public ErrorCode Err { get; }

    /// <summary>The path of a create (the final, possibly sequential, name), delete, setData, setACL or check.</summary>
    public string? Path { get; }

    /// <summary>The new node's Stat for create2/createContainer/createTTL, the new Stat for setData/setACL; otherwise null.</summary>
    public Stat? Stat { get; }

    /// <summary>For a multi: one result per operation, as the MultiResponse carries them; otherwise null.</summary>
    public IReadOnlyList<MultiResult>? MultiResults { get; }

    /// <summary>The watch triggers fired, in order.</summary>
    public IReadOnlyList<WatchTrigger> Triggers { get; }
}
