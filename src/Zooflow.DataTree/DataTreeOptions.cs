namespace Zooflow.DataTree;

/// <summary>Settings of the prep stage (validated by the server's configuration layer).</summary>
public sealed record DataTreeOptions
{
    /// <summary>Defaults: TTL nodes off, ACLs checked, no data limit, sessions checked.</summary>
    public static DataTreeOptions Default { get; } = new();

    /// <summary><c>extendedTypesEnabled</c> (zoo.cfg): allows TTL nodes; without it createTTL is Unimplemented.</summary>
    public bool ExtendedTypesEnabled { get; init; }

    /// <summary><c>skipACL</c>: no permission checks at all (ZooKeeper's <c>zookeeper.skipACL</c>).</summary>
    public bool SkipAcl { get; init; }

    /// <summary>Largest znode data accepted by create/setData (BadArguments beyond it); null for no limit. ZooKeeper itself only
    /// bounds data through <c>jute.maxbuffer</c> at the connection layer.</summary>
    public int? DataLengthMax { get; init; }

    /// <summary>When true (default), a write from a session that is unknown or closing fails with SessionExpired, as
    /// ZooKeeper's <c>sessionTracker.checkSession</c> does in prep. Sessions become known through a prepared CreateSession
    /// or the tree's <see cref="ZnodeTree.Sessions"/>.</summary>
    public bool CheckSessions { get; init; } = true;
}
