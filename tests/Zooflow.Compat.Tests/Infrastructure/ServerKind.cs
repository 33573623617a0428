namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Which server a compatibility test talks to.</summary>
public enum ServerKind
{
    /// <summary>Apache ZooKeeper 3.8 from Debian's jars: the reference every expectation is proven on.</summary>
    ZooKeeper,

    /// <summary>Zooflow's server, run as a process from the built CLI.</summary>
    Zooflow,
}
