using System.Globalization;

namespace Zooflow.Server.Configuration;

/// <summary>
/// One <c>server.N</c> line of zoo.cfg: <c>server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]</c>
/// (ZooKeeper's <c>QuorumPeer.QuorumServer</c>).
/// </summary>
/// <param name="Id">N, the server id (the member's <c>myid</c>).</param>
/// <param name="Host">Host name or address the other members reach it at (IPv6 written in brackets in zoo.cfg).</param>
/// <param name="QuorumPort">Port of leader-learner traffic (proposals, acks, commits, sync, forwarded requests).</param>
/// <param name="ElectionPort">Port of leader election notifications.</param>
/// <param name="IsObserver">True for <c>:observer</c>: receives committed records, never votes.</param>
/// <param name="ClientHost">The client address after <c>;</c>, if given.</param>
/// <param name="ClientPort">The client port after <c>;</c>, if given.</param>
public sealed record QuorumServer(long Id, string Host, int QuorumPort, int ElectionPort, bool IsObserver, string? ClientHost = null, int? ClientPort = null)
{
    /// <summary>The line as ZooKeeper prints it in <c>conf</c> (<c>host:quorumPort:electionPort:type;clientHost:clientPort</c>).</summary>
    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{FormatHost(Host)}:{QuorumPort}:{ElectionPort}:{(IsObserver ? "observer" : "participant")}");
        return ClientPort is { } port ? text + string.Create(CultureInfo.InvariantCulture, $";{FormatHost(ClientHost ?? "0.0.0.0")}:{port}") : text;
    }

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host;
}

/// <summary>
/// The replicated-ensemble part of a zoo.cfg (present only when the server runs as a member of an ensemble): the static
/// membership, this server's id and role, and the timing limits of the quorum protocol. Validated by
/// <see cref="ZooCfgParser"/>; immutable.
/// </summary>
public sealed record QuorumOptions
{
    /// <summary>ZooKeeper's default <c>initLimit</c> is not set; the sample zoo.cfg uses 10, the value taken when absent.</summary>
    public const int DefaultInitLimit = 10;

    /// <summary>The sample zoo.cfg's <c>syncLimit</c>, taken when absent.</summary>
    public const int DefaultSyncLimit = 5;

    /// <summary>Every member, ascending by id.</summary>
    public required IReadOnlyList<QuorumServer> Servers { get; init; }

    /// <summary>This server's id (the <c>myid</c> file in dataDir).</summary>
    public required long MyId { get; init; }

    /// <summary>Ticks (of <c>tickTime</c>) a learner has to connect and synchronise with its leader (<c>initLimit</c>).</summary>
    public int InitLimit { get; init; } = DefaultInitLimit;

    /// <summary>Ticks of silence after which a learner abandons its leader and a leader forgets a learner (<c>syncLimit</c>).</summary>
    public int SyncLimit { get; init; } = DefaultSyncLimit;

    /// <summary>Bind the quorum and election ports on every address instead of this server's own host
    /// (<c>quorumListenOnAllIPs</c>).</summary>
    public bool QuorumListenOnAllIPs { get; init; }

    /// <summary>This server's own entry.</summary>
    public QuorumServer Self => FindServer(MyId) ?? throw new InvalidOperationException($"myid {MyId} is not in the server list");

    /// <summary>True when this server is an observer.</summary>
    public bool IsObserver => Self.IsObserver;

    /// <summary>Ids of the voting members, ascending.</summary>
    public IReadOnlyList<long> VoterIds => [.. Servers.Where(s => !s.IsObserver).Select(s => s.Id)];

    /// <summary>Ids of the observers, ascending.</summary>
    public IReadOnlyList<long> ObserverIds => [.. Servers.Where(s => s.IsObserver).Select(s => s.Id)];

    /// <summary>The entry of server <paramref name="id"/>, or null.</summary>
    public QuorumServer? FindServer(long id)
    {
        foreach (var server in Servers)
        {
            if (server.Id == id)
            {
                return server;
            }
        }

        return null;
    }
}
