namespace Zooflow.Jute;

// Wire records, named and ordered as in ZooKeeper's zookeeper.jute. Field order here IS the wire order.
// Serialization lives in the partial counterparts (Records.Codec.cs); these declarations are the contract
// that the DataTree and the Server program against.

// ---- session set-up and framing headers ------------------------------------------------------------

/// <summary>First frame of a session: <c>int protocolVersion, long lastZxidSeen, int timeOut, long sessionId,
/// buffer passwd[, boolean readOnly]</c>. The trailing readOnly flag is absent in pre-3.4 clients.</summary>
public sealed partial record ConnectRequest(int ProtocolVersion, long LastZxidSeen, int TimeOutMs, long SessionId, byte[] Password, bool ReadOnly);

/// <summary>Reply to <see cref="ConnectRequest"/>: <c>int protocolVersion, int timeOut, long sessionId, buffer passwd, boolean readOnly</c>.</summary>
public sealed partial record ConnectResponse(int ProtocolVersion, int TimeOutMs, long SessionId, byte[] Password, bool ReadOnly);

/// <summary>Header of every request after the handshake: <c>int xid, int type</c>.</summary>
public readonly partial record struct RequestHeader(int Xid, OpCode Type);

/// <summary>Header of every reply: <c>int xid, long zxid, int err</c>.</summary>
public readonly partial record struct ReplyHeader(int Xid, long Zxid, ErrorCode Err);

/// <summary>Header before each operation of a multi request/response: <c>int type, boolean done, int err</c>.</summary>
public readonly partial record struct MultiHeader(OpCode Type, bool Done, ErrorCode Err);

/// <summary><c>int type, ustring scheme, buffer auth</c>.</summary>
public sealed partial record AuthPacket(int Type, string Scheme, byte[] Auth);

/// <summary>Watches to re-register after reconnect (opcode 101).</summary>
public sealed partial record SetWatches(long RelativeZxid, IReadOnlyList<string> DataWatches, IReadOnlyList<string> ExistWatches, IReadOnlyList<string> ChildWatches);

/// <summary>Watches to re-register after reconnect, including persistent ones (opcode 105).</summary>
public sealed partial record SetWatches2(long RelativeZxid, IReadOnlyList<string> DataWatches, IReadOnlyList<string> ExistWatches, IReadOnlyList<string> ChildWatches,
    IReadOnlyList<string> PersistentWatches, IReadOnlyList<string> PersistentRecursiveWatches);

/// <summary>A watch notification body, sent with xid -1: <c>int type, int state, ustring path</c>.</summary>
public sealed partial record WatcherEvent(EventType Type, KeeperState State, string Path);

// ---- requests ----------------------------------------------------------------------------------------

/// <summary>create / create2 / createContainer: <c>ustring path, buffer data, vector&lt;ACL&gt; acl, int flags</c>.</summary>
public sealed partial record CreateRequest(string Path, byte[] Data, IReadOnlyList<Acl> Acl, CreateMode Flags);

/// <summary>createTTL: <c>ustring path, buffer data, vector&lt;ACL&gt; acl, int flags, long ttl</c>.</summary>
public sealed partial record CreateTtlRequest(string Path, byte[] Data, IReadOnlyList<Acl> Acl, CreateMode Flags, long Ttl);

/// <summary><c>ustring path, int version</c>.</summary>
public sealed partial record DeleteRequest(string Path, int Version);

/// <summary><c>ustring path, boolean watch</c>.</summary>
public sealed partial record ExistsRequest(string Path, bool Watch);

/// <summary><c>ustring path, boolean watch</c>.</summary>
public sealed partial record GetDataRequest(string Path, bool Watch);

/// <summary><c>ustring path, buffer data, int version</c>.</summary>
public sealed partial record SetDataRequest(string Path, byte[] Data, int Version);

/// <summary><c>ustring path</c>.</summary>
public sealed partial record GetAclRequest(string Path);

/// <summary><c>ustring path, vector&lt;ACL&gt; acl, int version</c>.</summary>
public sealed partial record SetAclRequest(string Path, IReadOnlyList<Acl> Acl, int Version);

/// <summary>getChildren and getChildren2: <c>ustring path, boolean watch</c>.</summary>
public sealed partial record GetChildrenRequest(string Path, bool Watch);

/// <summary><c>ustring path</c>.</summary>
public sealed partial record GetAllChildrenNumberRequest(string Path);

/// <summary><c>ustring prefixPath</c>.</summary>
public sealed partial record GetEphemeralsRequest(string PrefixPath);

/// <summary><c>ustring path</c>.</summary>
public sealed partial record SyncRequest(string Path);

/// <summary>check (inside multi): <c>ustring path, int version</c>.</summary>
public sealed partial record CheckVersionRequest(string Path, int Version);

/// <summary><c>ustring path, int mode</c>.</summary>
public sealed partial record AddWatchRequest(string Path, AddWatchMode Mode);

/// <summary>checkWatches and removeWatches: <c>ustring path, int type</c>.</summary>
public sealed partial record RemoveWatchesRequest(string Path, WatcherType Type);

/// <summary>One operation of a multi / multiRead request, already decoded by its opcode.</summary>
/// <param name="Type">The opcode from the operation's <see cref="MultiHeader"/>.</param>
/// <param name="Request">One of the request records above (create/create2/createContainer/createTTL, delete, setData, check,
/// getChildren, getData).</param>
public sealed record MultiOp(OpCode Type, object Request);

/// <summary>multi (opcode 14) and multiRead (opcode 22): a list of operations ended by a header with done = true.</summary>
public sealed partial record MultiRequest(IReadOnlyList<MultiOp> Ops);

// ---- responses ---------------------------------------------------------------------------------------

/// <summary><c>ustring path</c>.</summary>
public sealed partial record CreateResponse(string Path);

/// <summary>create2 / createContainer / createTTL: <c>ustring path, Stat stat</c>.</summary>
public sealed partial record Create2Response(string Path, Stat Stat);

/// <summary>exists, setData, setACL: <c>Stat stat</c>.</summary>
public sealed partial record StatResponse(Stat Stat);

/// <summary><c>buffer data, Stat stat</c>.</summary>
public sealed partial record GetDataResponse(byte[] Data, Stat Stat);

/// <summary><c>vector&lt;ACL&gt; acl, Stat stat</c>.</summary>
public sealed partial record GetAclResponse(IReadOnlyList<Acl> Acl, Stat Stat);

/// <summary><c>vector&lt;ustring&gt; children</c>.</summary>
public sealed partial record GetChildrenResponse(IReadOnlyList<string> Children);

/// <summary><c>vector&lt;ustring&gt; children, Stat stat</c>.</summary>
public sealed partial record GetChildren2Response(IReadOnlyList<string> Children, Stat Stat);

/// <summary><c>int totalNumber</c>.</summary>
public sealed partial record GetAllChildrenNumberResponse(int TotalNumber);

/// <summary><c>vector&lt;ustring&gt; ephemerals</c>.</summary>
public sealed partial record GetEphemeralsResponse(IReadOnlyList<string> Ephemerals);

/// <summary><c>ustring path</c>.</summary>
public sealed partial record SyncResponse(string Path);

/// <summary>An error inside a multi response: <c>int err</c>.</summary>
public sealed partial record ErrorResponse(ErrorCode Err);

/// <summary>One identity of whoAmI: <c>ustring authScheme, ustring user</c>.</summary>
public sealed partial record ClientInfo(string AuthScheme, string User);

/// <summary><c>vector&lt;ClientInfo&gt; clientInfo</c>.</summary>
public sealed partial record WhoAmIResponse(IReadOnlyList<ClientInfo> ClientInfo);

/// <summary>One result of a multi / multiRead response.</summary>
/// <param name="Type">The opcode of the result's header: the operation's opcode, or <see cref="OpCode.Error"/>.</param>
/// <param name="Err">The error code in the header (ZooKeeper writes the operation's error here and in the body).</param>
/// <param name="Response">The body: a response record above, an <see cref="ErrorResponse"/>, or null for delete/check results.</param>
public sealed record MultiResult(OpCode Type, ErrorCode Err, object? Response);

/// <summary>multi / multiRead response: results ended by a header with done = true.</summary>
public sealed partial record MultiResponse(IReadOnlyList<MultiResult> Results);

// ---- transactions (what the log stores and replicas apply) --------------------------------------------

/// <summary>Header of every transaction: <c>long clientId, int cxid, long zxid, long time, int type</c>.</summary>
public readonly partial record struct TxnHeader(long ClientId, int Cxid, long Zxid, long Time, OpCode Type);

/// <summary><c>ustring path, buffer data, vector&lt;ACL&gt; acl, boolean ephemeral, int parentCVersion</c>.</summary>
public sealed partial record CreateTxn(string Path, byte[] Data, IReadOnlyList<Acl> Acl, bool Ephemeral, int ParentCVersion);

/// <summary><c>ustring path, buffer data, vector&lt;ACL&gt; acl, int parentCVersion</c>.</summary>
public sealed partial record CreateContainerTxn(string Path, byte[] Data, IReadOnlyList<Acl> Acl, int ParentCVersion);

/// <summary><c>ustring path, buffer data, vector&lt;ACL&gt; acl, int parentCVersion, long ttl</c>.</summary>
public sealed partial record CreateTtlTxn(string Path, byte[] Data, IReadOnlyList<Acl> Acl, int ParentCVersion, long Ttl);

/// <summary><c>ustring path</c>.</summary>
public sealed partial record DeleteTxn(string Path);

/// <summary><c>ustring path, buffer data, int version</c> (version is the new version).</summary>
public sealed partial record SetDataTxn(string Path, byte[] Data, int Version);

/// <summary><c>ustring path, int version</c>.</summary>
public sealed partial record CheckVersionTxn(string Path, int Version);

/// <summary><c>ustring path, vector&lt;ACL&gt; acl, int version</c> (version is the new aversion).</summary>
public sealed partial record SetAclTxn(string Path, IReadOnlyList<Acl> Acl, int Version);

/// <summary><c>int timeOut</c>.</summary>
public sealed partial record CreateSessionTxn(int TimeOutMs);

/// <summary><c>vector&lt;ustring&gt; paths2Delete</c>: the session's ephemerals at the time it closed.</summary>
public sealed partial record CloseSessionTxn(IReadOnlyList<string> Paths2Delete);

/// <summary><c>int err</c>: a failed operation inside a multi, or a failed request that still takes a zxid.</summary>
public sealed partial record ErrorTxn(ErrorCode Err);

/// <summary>One sub-transaction of a multi: its type and body record (one of the txn records above).</summary>
public sealed record SubTxn(OpCode Type, object Txn);

/// <summary><c>vector&lt;Txn&gt; txns</c> where each Txn is <c>int type, buffer data</c>.</summary>
public sealed partial record MultiTxn(IReadOnlyList<SubTxn> Txns);
