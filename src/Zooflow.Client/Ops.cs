using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>One operation of a <c>multi</c> (transaction) or <c>multiRead</c>, as Java's <c>Op</c>.</summary>
/// <param name="Path">The client path.</param>
public abstract record Op(string Path)
{
    /// <summary>Create a node. TTL modes need <paramref name="ttl"/>.</summary>
    public static Op Create(string path, byte[]? data, IReadOnlyList<Acl>? acl = null, CreateMode mode = CreateMode.Persistent, TimeSpan? ttl = null) =>
        new CreateOp(path, data ?? [], acl ?? Acl.OpenAclUnsafe, mode, ttl);

    /// <summary>Delete a node if its version matches (-1 = any).</summary>
    public static Op Delete(string path, int version = -1) => new DeleteOp(path, version);

    /// <summary>Set data if the version matches (-1 = any).</summary>
    public static Op SetData(string path, byte[]? data, int version = -1) => new SetDataOp(path, data ?? [], version);

    /// <summary>Check that the node's version matches (-1 = exists).</summary>
    public static Op Check(string path, int version) => new CheckOp(path, version);

    /// <summary>Read a node's children (multiRead only).</summary>
    public static Op GetChildren(string path) => new GetChildrenOp(path);

    /// <summary>Read a node's data (multiRead only).</summary>
    public static Op GetData(string path) => new GetDataOp(path);
}

/// <summary>A create inside a multi.</summary>
public sealed record CreateOp(string Path, byte[] Data, IReadOnlyList<Acl> Acl, CreateMode Mode, TimeSpan? Ttl) : Op(Path);

/// <summary>A delete inside a multi.</summary>
public sealed record DeleteOp(string Path, int Version) : Op(Path);

/// <summary>A setData inside a multi.</summary>
public sealed record SetDataOp(string Path, byte[] Data, int Version) : Op(Path);

/// <summary>A version check inside a multi.</summary>
public sealed record CheckOp(string Path, int Version) : Op(Path);

/// <summary>A getChildren inside a multiRead.</summary>
public sealed record GetChildrenOp(string Path) : Op(Path);

/// <summary>A getData inside a multiRead.</summary>
public sealed record GetDataOp(string Path) : Op(Path);

/// <summary>The result of one operation of a multi / multiRead.</summary>
public abstract record OpResult;

/// <summary>A create succeeded: the created client path and its Stat.</summary>
public sealed record CreateResult(string Path, Stat? Stat) : OpResult;

/// <summary>A delete succeeded.</summary>
public sealed record DeleteResult : OpResult;

/// <summary>A setData succeeded: the new Stat.</summary>
public sealed record SetDataResult(Stat Stat) : OpResult;

/// <summary>A check succeeded.</summary>
public sealed record CheckResult : OpResult;

/// <summary>A getChildren (multiRead) succeeded.</summary>
public sealed record GetChildrenResult(IReadOnlyList<string> Children) : OpResult;

/// <summary>A getData (multiRead) succeeded.</summary>
public sealed record GetDataResult(byte[] Data, Stat Stat) : OpResult;

/// <summary>An operation failed (or, in a failed multi, was rolled back: <see cref="ErrorCode.RuntimeInconsistency"/> /
/// <see cref="ErrorCode.Ok"/> for the ones before the failure, as ZooKeeper reports them).</summary>
public sealed record ErrorResult(ErrorCode Code) : OpResult;
