using System.Net;

namespace Zooflow.Server.Configuration;

/// <summary>
/// Validated settings of one server, as read from a ZooKeeper <c>zoo.cfg</c> (<see cref="ZooCfgParser"/>) or taken from
/// <see cref="Default"/>. Immutable; libraries receive it already validated (STYLE.md 13).
/// </summary>
public sealed record ServerOptions
{
    /// <summary>ZooKeeper's <c>ZooKeeperServer.DEFAULT_TICK_TIME</c>.</summary>
    public const int DefaultTickTimeMs = 3000;

    /// <summary>ZooKeeper's default <c>jute.maxbuffer</c>: 0xfffff bytes (1 MiB - 1).</summary>
    public const int DefaultJuteMaxBufferBytes = 0xfffff;

    /// <summary>The embedded default: standalone on 127.0.0.1:2181, data under <c>./data</c>.</summary>
    public static ServerOptions Default { get; } = new();

    /// <summary>The length of a tick, the unit of session-expiry granularity (<c>tickTime</c>).</summary>
    public int TickTimeMs { get; init; } = DefaultTickTimeMs;

    /// <summary>Where snapshots (and, without <see cref="DataLogDir"/>, the transaction log) live (<c>dataDir</c>).</summary>
    public string DataDir { get; init; } = "./data";

    /// <summary>Directory of the transaction log when on a separate disk (<c>dataLogDir</c>); null means <see cref="DataDir"/>.</summary>
    public string? DataLogDir { get; init; }

    /// <summary>TCP port for clients (<c>clientPort</c>); 0 picks a free port (tests).</summary>
    public int ClientPort { get; init; } = 2181;

    /// <summary>Address to listen on (<c>clientPortAddress</c>). ZooKeeper binds every address when the key is absent
    /// from a zoo.cfg; the embedded default binds loopback only.</summary>
    public IPAddress ClientPortAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Concurrent connections allowed from one client IP (<c>maxClientCnxns</c>); 0 means unlimited.</summary>
    public int MaxClientCnxns { get; init; } = 60;

    /// <summary><c>minSessionTimeout</c> in ms; null means 2 × <see cref="TickTimeMs"/>.</summary>
    public int? MinSessionTimeoutMs { get; init; }

    /// <summary><c>maxSessionTimeout</c> in ms; null means 20 × <see cref="TickTimeMs"/>.</summary>
    public int? MaxSessionTimeoutMs { get; init; }

    /// <summary>The effective lower bound of negotiated session timeouts.</summary>
    public int EffectiveMinSessionTimeoutMs => MinSessionTimeoutMs ?? 2 * TickTimeMs;

    /// <summary>The effective upper bound of negotiated session timeouts.</summary>
    public int EffectiveMaxSessionTimeoutMs => MaxSessionTimeoutMs ?? 20 * TickTimeMs;

    /// <summary>Four-letter words that may run (<c>4lw.commands.whitelist</c>). ZooKeeper 3.8 always adds <c>srvr</c>
    /// (zkServer.sh depends on it), so the default list is just <c>srvr</c>; <c>*</c> enables every command.</summary>
    public IReadOnlySet<string> FourLetterWordWhitelist { get; init; } = new HashSet<string>(StringComparer.Ordinal) { "srvr" };

    /// <summary>Enables TTL nodes (<c>extendedTypesEnabled</c>, ZooKeeper's <c>zookeeper.extendedTypesEnabled</c>).</summary>
    public bool ExtendedTypesEnabled { get; init; }

    /// <summary>Largest accepted frame body (<c>jute.maxbuffer</c>).</summary>
    public int JuteMaxBufferBytes { get; init; } = DefaultJuteMaxBufferBytes;

    /// <summary>The super user's digest <c>super:base64(sha1(super:password))</c>
    /// (<c>DigestAuthenticationProvider.superDigest</c>); null disables the super user.</summary>
    public string? SuperDigest { get; init; }

    /// <summary>Transactions between snapshots (<c>snapCount</c>); used by the durable log (later issue).</summary>
    public int SnapCount { get; init; } = 100_000;

    /// <summary><c>autopurge.snapRetainCount</c>; used by the durable log (later issue).</summary>
    public int AutopurgeSnapRetainCount { get; init; } = 3;

    /// <summary><c>autopurge.purgeInterval</c> in hours, 0 = off; used by the durable log (later issue).</summary>
    public int AutopurgePurgeIntervalHours { get; init; }

    /// <summary>fsync the transaction log before acknowledging (<c>forceSync</c>, default yes). <c>no</c> is UNSAFE:
    /// acknowledged writes can be lost on power failure. Used by the durable log.</summary>
    public bool ForceSync { get; init; } = true;

    /// <summary>Interval of the container/TTL reaper (<c>znode.container.checkIntervalMs</c>, ZooKeeper's default 60 s).</summary>
    public int ContainerCheckIntervalMs { get; init; } = 60_000;

    /// <summary>Grace period after which a container that never had a child is deleted
    /// (<c>znode.container.maxNeverUsedIntervalMs</c>); 0, ZooKeeper's default, keeps such containers.</summary>
    public long ContainerMaxNeverUsedIntervalMs { get; init; }

    /// <summary>This server's id (<c>myid</c>); the top byte of every session id it creates. 0 standalone.</summary>
    public long ServerId { get; init; }

    /// <summary>Bytes a connection may have queued for sending before it is treated as a stuck client and closed.
    /// 16 MiB holds several maximum-size replies; beyond that a client is not reading and memory must not grow.</summary>
    public long MaxOutgoingBytesPerConnection { get; init; } = 16L * 1024 * 1024;

    /// <summary>Requests queued for the state machine from all connections before readers pause (ZooKeeper's
    /// <c>globalOutstandingLimit</c> default is 1000).</summary>
    public int MaxQueuedRequests { get; init; } = 1000;

    /// <summary>Transactions handed to the log and not yet acknowledged before the state machine stops taking requests.</summary>
    public int MaxInFlightTxns { get; init; } = 1000;

    /// <summary>The replicated ensemble this server is a member of (zoo.cfg <c>server.N</c> lines and <c>myid</c>); null
    /// for a standalone server (no <c>server.N</c>, or a single one with <c>standaloneEnabled=true</c>, as ZooKeeper).</summary>
    public QuorumOptions? Quorum { get; init; }

    /// <summary>Ensemble leader: most records a learner may be sent as a DIFF; a learner further behind gets a snapshot
    /// (<c>zooflow.learnerSyncDiffMax</c>, Zooflow's own key; ZooKeeper bounds its diff by snapshotSizeFactor instead).</summary>
    public int LearnerSyncDiffMax { get; init; } = 100_000;

    /// <summary>A human-readable description of the source of these options (file path or "embedded default").</summary>
    public string Source { get; init; } = "embedded default";

    /// <summary>Negotiates a client's requested session timeout into [min, max] as ZooKeeper does.</summary>
    public int NegotiateSessionTimeoutMs(int requestedMs) =>
        Math.Clamp(requestedMs, EffectiveMinSessionTimeoutMs, EffectiveMaxSessionTimeoutMs);

    /// <summary>True when the four-letter word <paramref name="command"/> may run.</summary>
    public bool IsFourLetterWordEnabled(string command) => command == "srvr" || FourLetterWordWhitelist.Contains(command);
}
