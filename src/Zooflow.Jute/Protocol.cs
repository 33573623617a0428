namespace Zooflow.Jute;

/// <summary>Request types as ZooKeeper numbers them on the wire (<c>ZooDefs.OpCode</c>).</summary>
public enum OpCode
{
    Notification = 0,
    Create = 1,
    Delete = 2,
    Exists = 3,
    GetData = 4,
    SetData = 5,
    GetAcl = 6,
    SetAcl = 7,
    GetChildren = 8,
    Sync = 9,
    Ping = 11,
    GetChildren2 = 12,
    Check = 13,
    Multi = 14,
    Create2 = 15,
    Reconfig = 16,
    CheckWatches = 17,
    RemoveWatches = 18,
    CreateContainer = 19,
    DeleteContainer = 20,
    CreateTtl = 21,
    MultiRead = 22,
    Auth = 100,
    SetWatches = 101,
    Sasl = 102,
    GetEphemerals = 103,
    GetAllChildrenNumber = 104,
    SetWatches2 = 105,
    AddWatch = 106,
    WhoAmI = 107,
    CreateSession = -10,
    CloseSession = -11,
    Error = -1,
}

/// <summary>Result codes exactly as <c>KeeperException.Code</c> defines them.</summary>
public enum ErrorCode
{
    Ok = 0,
    SystemError = -1,
    RuntimeInconsistency = -2,
    DataInconsistency = -3,
    ConnectionLoss = -4,
    MarshallingError = -5,
    Unimplemented = -6,
    OperationTimeout = -7,
    BadArguments = -8,
    UnknownSession = -12,
    NewConfigNoQuorum = -13,
    ReconfigInProgress = -14,
    ApiError = -100,
    NoNode = -101,
    NoAuth = -102,
    BadVersion = -103,
    NoChildrenForEphemerals = -108,
    NodeExists = -110,
    NotEmpty = -111,
    SessionExpired = -112,
    InvalidCallback = -113,
    InvalidAcl = -114,
    AuthFailed = -115,
    SessionMoved = -118,
    NotReadOnly = -119,
    EphemeralOnLocalSession = -120,
    NoWatcher = -121,
    RequestTimeout = -122,
    ReconfigDisabled = -123,
    SessionClosedRequireSaslAuth = -124,
    QuotaExceeded = -125,
    Throttled = -127,
}

/// <summary>ACL permission bits (<c>ZooDefs.Perms</c>).</summary>
[Flags]
public enum Perms
{
    None = 0,
    Read = 1,
    Write = 2,
    Create = 4,
    Delete = 8,
    Admin = 16,
    All = Read | Write | Create | Delete | Admin,
}

/// <summary>The <c>flags</c> field of a create request (<c>CreateMode.toFlag</c>).</summary>
public enum CreateMode
{
    Persistent = 0,
    Ephemeral = 1,
    PersistentSequential = 2,
    EphemeralSequential = 3,
    Container = 4,
    PersistentWithTtl = 5,
    PersistentSequentialWithTtl = 6,
}

/// <summary>Watch event types (<c>Watcher.Event.EventType</c>).</summary>
public enum EventType
{
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
    DataWatchRemoved = 5,
    ChildWatchRemoved = 6,
    PersistentWatchRemoved = 7,
}

/// <summary>Connection states carried in watch events (<c>Watcher.Event.KeeperState</c>).</summary>
public enum KeeperState
{
    Disconnected = 0,
    SyncConnected = 3,
    AuthFailed = 4,
    ConnectedReadOnly = 5,
    SaslAuthenticated = 6,
    Closed = 7,
    Expired = -112,
}

/// <summary>Mode of an <c>addWatch</c> request (<c>AddWatchMode</c>).</summary>
public enum AddWatchMode
{
    Persistent = 0,
    PersistentRecursive = 1,
}

/// <summary>The <c>type</c> of checkWatches/removeWatches (<c>Watcher.WatcherType</c>).</summary>
public enum WatcherType
{
    Children = 1,
    Data = 2,
    Any = 3,
    Persistent = 4,
    PersistentRecursive = 5,
}

/// <summary>Reserved xids that mark frames which are not replies to a numbered request.</summary>
public static class Xids
{
    /// <summary>A watch notification pushed by the server.</summary>
    public const int Notification = -1;
    /// <summary>A ping and its reply.</summary>
    public const int Ping = -2;
    /// <summary>An auth packet and its reply.</summary>
    public const int Auth = -4;
    /// <summary>A set-watches request sent after reconnect, and its reply.</summary>
    public const int SetWatches = -8;
}

/// <summary>An identity in an ACL: a scheme (world, auth, digest, ip, super) and an id within it.</summary>
public sealed record Id(string Scheme, string Ident)
{
    /// <summary><c>world:anyone</c>.</summary>
    public static readonly Id AnyoneIdUnsafe = new("world", "anyone");
    /// <summary><c>auth:</c> — stands for every identity the creating session authenticated with.</summary>
    public static readonly Id AuthIds = new("auth", "");
}

/// <summary>One access-control entry: permission bits granted to an identity.</summary>
public sealed record Acl(Perms Perms, Id Id)
{
    /// <summary><c>world:anyone:cdrwa</c>, ZooKeeper's OPEN_ACL_UNSAFE.</summary>
    public static readonly IReadOnlyList<Acl> OpenAclUnsafe = [new Acl(Perms.All, Id.AnyoneIdUnsafe)];
    /// <summary><c>world:anyone:r</c>, ZooKeeper's READ_ACL_UNSAFE.</summary>
    public static readonly IReadOnlyList<Acl> ReadAclUnsafe = [new Acl(Perms.Read, Id.AnyoneIdUnsafe)];
    /// <summary><c>auth::cdrwa</c>, ZooKeeper's CREATOR_ALL_ACL.</summary>
    public static readonly IReadOnlyList<Acl> CreatorAllAcl = [new Acl(Perms.All, Id.AuthIds)];
}

/// <summary>The metadata of a znode exactly as the wire <c>Stat</c> record carries it.</summary>
public readonly record struct Stat(
    long Czxid,
    long Mzxid,
    long Ctime,
    long Mtime,
    int Version,
    int Cversion,
    int Aversion,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    long Pzxid);
