namespace Zooflow.TestKit.Servers;

/// <summary>Which server a client test talks to.</summary>
public enum ServerKind
{
    /// <summary>Apache ZooKeeper 3.8 from Debian's jars, started by the test run.</summary>
    ZooKeeper,

    /// <summary>Zooflow's server, run from the built CLI (<c>ZOOFLOW_CLI</c> overrides its path).</summary>
    Zooflow,
}
