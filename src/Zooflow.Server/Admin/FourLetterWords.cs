using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Zooflow.Server.Network;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server.Admin;

/// <summary>
/// ZooKeeper's four-letter words: a connection whose first four bytes spell a known command (instead of a frame length)
/// gets a plain-text answer and is closed. Output follows ZooKeeper 3.8's command classes (<c>server/command/*</c>):
/// ruok, srvr, stat, mntr, conf, cons, crst, srst, envi, wchs, wchc, wchp, dump, isro, dirs. Commands outside
/// <c>4lw.commands.whitelist</c> answer "&lt;cmd&gt; is not executed because it is not in the whitelist." (srvr is
/// always allowed, as in ZooKeeper, because zkServer.sh depends on it).
/// </summary>
internal static class FourLetterWords
{
    /// <summary>The version string reported as ZooKeeper's <c>Version.getFullVersion()</c>; tools parse the x.y.z prefix.</summary>
    public const string FullVersion = "3.8.4-zooflow, built on 2026-11-25 00:00 UTC";

    /// <summary>Every command this server answers.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "envi", "wchs", "wchc", "wchp", "dump", "isro", "dirs",
    };

    private static readonly Dictionary<int, string> ByCode = BuildCodes();

    private static Dictionary<int, string> BuildCodes()
    {
        var codes = new Dictionary<int, string>();
        foreach (var command in All)
        {
            codes.Add(BinaryPrimitives.ReadInt32BigEndian(Encoding.ASCII.GetBytes(command)), command);
        }

        return codes;
    }

    /// <summary>True when the first four bytes of a connection, read as a big-endian int, spell a known command.</summary>
    public static bool TryGetCommand(int firstInt, out string command) => ByCode.TryGetValue(firstInt, out command!);

    /// <summary>Answers <paramref name="command"/> on <paramref name="connection"/> and closes its output.</summary>
    public static async Task RunAsync(string command, ClientConnection connection, ServerContext server, CancellationToken cancellationToken)
    {
        string text;
        if (!server.Options.IsFourLetterWordEnabled(command))
        {
            ServerLog.FourLetterWordRefused(server.Logger, command, connection.Remote);
            text = command + " is not executed because it is not in the whitelist.\n";
        }
        else
        {
            ServerLog.FourLetterWord(server.Logger, command, connection.Remote);
            text = command switch
            {
                "ruok" => "imok",
                "envi" => Envi(server),
                "conf" => Conf(server),
                "crst" => ResetConnections(server),
                "srst" => ResetServer(server),
                // ZooKeeper: "null" while the server is not running (an ensemble member without a role); no read-only mode.
                "isro" => server.Role is null ? "null" : "rw",
                "dirs" => Dirs(server),
                _ => await QueryAsync(server, command, cancellationToken).ConfigureAwait(false),
            };
        }

        connection.SendRaw(Encoding.UTF8.GetBytes(text));
        connection.Flush();
        connection.CloseAfterSend();
    }

    private static async Task<string> QueryAsync(ServerContext server, string command, CancellationToken cancellationToken)
    {
        var query = new QueryWork(machine => command switch
        {
            "srvr" => Stat(server, machine, withClients: false),
            "stat" => Stat(server, machine, withClients: true),
            "mntr" => Monitor(server, machine),
            "cons" => Cons(server),
            "wchs" => WatchSummary(machine),
            "wchc" => WatchesBySession(machine),
            "wchp" => WatchesByPath(machine),
            "dump" => Dump(machine),
            _ => string.Empty,
        });
        await server.Inbox.WriteAsync(query, cancellationToken).ConfigureAwait(false);
        return await query.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>ZooKeeper's answer to srvr, stat and mntr while the server does not serve (no established role).</summary>
    public const string NotServing = "This ZooKeeper instance is not currently serving requests\n";

    private static string Stat(ServerContext server, StateMachine machine, bool withClients)
    {
        if (!machine.Serving)
        {
            return NotServing;
        }

        var stats = server.Stats;
        var sb = new StringBuilder();
        sb.Append("Zookeeper version: ").Append(FullVersion).Append('\n');
        if (withClients)
        {
            sb.Append("Clients:\n");
            foreach (var connection in SortedConnections(server))
            {
                AppendConnection(sb, connection, brief: true);
                sb.Append('\n');
            }

            sb.Append('\n');
        }

        sb.Append("Latency min/avg/max: ").Append(stats.MinLatencyMs).Append('/').Append(JavaDouble(stats.AvgLatencyMs)).Append('/')
            .Append(stats.MaxLatencyMs).Append('\n');
        sb.Append("Received: ").Append(stats.PacketsReceived).Append('\n');
        sb.Append("Sent: ").Append(stats.PacketsSent).Append('\n');
        sb.Append("Connections: ").Append(server.Connections.Count).Append('\n');
        sb.Append("Outstanding: ").Append(stats.OutstandingRequests).Append('\n');
        sb.Append("Zxid: 0x").Append(machine.Tree.LastProcessedZxid.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Mode: ").Append(server.Role ?? "standalone").Append('\n');
        sb.Append("Node count: ").Append(machine.Tree.NodeCount).Append('\n');
        if (machine.Driver is { IsLeader: true } driver)
        {
            // ZooKeeper's leader adds its proposal sizes (StatCommand / ServerStats for a leader).
            var (min, max) = driver.ProposalBytesRange;
            sb.Append("Proposal sizes last/min/max: ").Append(driver.LastProposalBytes).Append('/').Append(min).Append('/').Append(max).Append('\n');
        }

        return sb.ToString();
    }

    private static string Monitor(ServerContext server, StateMachine machine)
    {
        if (!machine.Serving)
        {
            return NotServing;
        }

        var stats = server.Stats;
        var sb = new StringBuilder();
        void Line(string key, object value) => sb.Append("zk_").Append(key).Append('\t')
            .Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append('\n');

        var driver = machine.Driver;
        Line("version", FullVersion);
        Line("server_state", server.Role ?? "standalone");
        Line("avg_latency", JavaDouble(stats.AvgLatencyMs));
        Line("max_latency", stats.MaxLatencyMs);
        Line("min_latency", stats.MinLatencyMs);
        Line("packets_received", stats.PacketsReceived);
        Line("packets_sent", stats.PacketsSent);
        Line("num_alive_connections", server.Connections.Count);
        Line("outstanding_requests", stats.OutstandingRequests);
        Line("znode_count", machine.Tree.NodeCount);
        Line("watch_count", machine.Watches.WatchCount);
        Line("ephemerals_count", machine.Tree.EphemeralCount);
        Line("approximate_data_size", machine.Tree.ApproximateDataSize);
        Line("open_file_descriptor_count", OpenFileDescriptors());
        Line("max_file_descriptor_count", MaxFileDescriptors());
        Line("global_sessions", machine.Sessions.Sessions.Count);
        Line("local_sessions", 0);
        Line("uptime", server.NowMs() - server.StartedAtMs);
        var (minProposal, maxProposal) = driver?.ProposalBytesRange ?? (-1, -1);
        Line("last_proposal_size", driver?.LastProposalBytes ?? -1);
        Line("max_proposal_size", maxProposal);
        Line("min_proposal_size", minProposal);
        Line("outstanding_txns", machine.InFlight);
        if (driver is not null)
        {
            var s = driver.Status;
            Line("peer_state", $"{PeerStateName(s.State)} - {s.Phase.ToString().ToLowerInvariant()}");
            Line("zxid", "0x" + s.LastZxid.ToString("x", CultureInfo.InvariantCulture));
            Line("committed_zxid", "0x" + s.CommittedZxid.ToString("x", CultureInfo.InvariantCulture));
            Line("current_epoch", s.CurrentEpoch);
            Line("accepted_epoch", s.AcceptedEpoch);
            Line("quorum_size", server.Options.Quorum!.VoterIds.Count);
            if (driver.IsLeader)
            {
                // Only a leader reports these (ZooKeeper's LeaderZooKeeperServer metrics).
                Line("learners", s.Followers + s.Observers);
                Line("followers", s.Followers + s.Observers);
                Line("synced_followers", s.SyncedFollowers);
                Line("synced_non_voting_followers", s.SyncedObservers);
                Line("synced_observers", s.SyncedObservers);
                Line("pending_syncs", s.PendingSyncs);
                Line("outstanding_proposals", s.PendingProposals);
            }
        }

        return sb.ToString();
    }

    private static string Conf(ServerContext server)
    {
        var o = server.Options;
        var dataDir = Path.GetFullPath(o.DataDir);
        var logDir = Path.GetFullPath(o.DataLogDir ?? o.DataDir);
        var sb = new StringBuilder();
        sb.Append("clientPort=").Append(o.ClientPort).Append('\n');
        sb.Append("secureClientPort=-1\n");
        sb.Append("dataDir=").Append(dataDir).Append('\n');
        sb.Append("dataDirSize=").Append(DirectorySize(dataDir)).Append('\n');
        sb.Append("dataLogDir=").Append(logDir).Append('\n');
        sb.Append("dataLogSize=").Append(DirectorySize(logDir)).Append('\n');
        sb.Append("tickTime=").Append(o.TickTimeMs).Append('\n');
        sb.Append("maxClientCnxns=").Append(o.MaxClientCnxns).Append('\n');
        sb.Append("minSessionTimeout=").Append(o.EffectiveMinSessionTimeoutMs).Append('\n');
        sb.Append("maxSessionTimeout=").Append(o.EffectiveMaxSessionTimeoutMs).Append('\n');
        sb.Append("clientPortListenBacklog=-1\n");
        sb.Append("serverId=").Append(o.ServerId).Append('\n');
        if (o.Quorum is { } q)
        {
            // QuorumPeer's conf lines (ConfCommand with a quorum verifier).
            sb.Append("initLimit=").Append(q.InitLimit).Append('\n');
            sb.Append("syncLimit=").Append(q.SyncLimit).Append('\n');
            sb.Append("electionAlg=3\n");
            sb.Append("electionPort=").Append(q.Self.ElectionPort).Append('\n');
            sb.Append("quorumPort=").Append(q.Self.QuorumPort).Append('\n');
            sb.Append("peerType=").Append(q.IsObserver ? 1 : 0).Append('\n');
            sb.Append("membership: \n");
            foreach (var member in q.Servers)
            {
                sb.Append("server.").Append(member.Id).Append('=').Append(member).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static string PeerStateName(Zooflow.Consensus.PeerState state) => state switch
    {
        Zooflow.Consensus.PeerState.Leading => "leading",
        Zooflow.Consensus.PeerState.Following => "following",
        Zooflow.Consensus.PeerState.Observing => "observing",
        _ => "looking",
    };

    private static string Dirs(ServerContext server)
    {
        var o = server.Options;
        return $"datadir_size: {DirectorySize(Path.GetFullPath(o.DataDir))}\nlogdir_size: {DirectorySize(Path.GetFullPath(o.DataLogDir ?? o.DataDir))}\n";
    }

    private static string Cons(ServerContext server)
    {
        var sb = new StringBuilder();
        foreach (var connection in SortedConnections(server))
        {
            AppendConnection(sb, connection, brief: false);
            sb.Append('\n');
        }

        sb.Append('\n');
        return sb.ToString();
    }

    private static List<ClientConnection> SortedConnections(ServerContext server)
    {
        var list = new List<ClientConnection>(server.Connections.Values);
        list.Sort((a, b) => a.Id.CompareTo(b.Id));
        return list;
    }

    /// <summary>ServerCnxn.dumpConnectionInfo.</summary>
    private static void AppendConnection(StringBuilder sb, ClientConnection c, bool brief)
    {
        sb.Append(" /").Append(c.Remote).Append("[1](queued=").Append(Volatile.Read(ref c.Outstanding))
            .Append(",recved=").Append(Interlocked.Read(ref c.PacketsReceived))
            .Append(",sent=").Append(Interlocked.Read(ref c.PacketsSent));
        var session = c.Session;
        if (!brief && session is not null)
        {
            sb.Append(",sid=0x").Append(session.Id.ToString("x", CultureInfo.InvariantCulture))
                .Append(",lop=").Append(c.LastOperation)
                .Append(",est=").Append(c.EstablishedAtMs)
                .Append(",to=").Append(session.TimeoutMs);
            if (c.LastCxid >= 0)
            {
                sb.Append(",lcxid=0x").Append(c.LastCxid.ToString("x", CultureInfo.InvariantCulture));
            }

            sb.Append(",lzxid=0x").Append(c.LastZxid.ToString("x", CultureInfo.InvariantCulture))
                .Append(",lresp=").Append(c.LastResponseAtMs)
                .Append(",llat=").Append(c.LastLatencyMs)
                .Append(",minlat=").Append(c.LatencyCount == 0 ? 0 : c.MinLatencyMs)
                .Append(",avglat=").Append(c.LatencyCount == 0 ? 0 : c.LatencyTotalMs / c.LatencyCount)
                .Append(",maxlat=").Append(c.MaxLatencyMs);
        }

        sb.Append(')');
    }

    private static string ResetConnections(ServerContext server)
    {
        foreach (var c in server.Connections.Values)
        {
            Interlocked.Exchange(ref c.PacketsReceived, 0);
            Interlocked.Exchange(ref c.PacketsSent, 0);
        }

        return "Connection stats reset.\n";
    }

    private static string ResetServer(ServerContext server)
    {
        server.Stats.Reset();
        return "Server stats reset.\n";
    }

    private static string WatchSummary(StateMachine machine) =>
        $"{machine.Watches.WatchingSessionCount} connections watching {machine.Watches.WatchedPathCount} paths\nTotal watches:{machine.Watches.WatchCount}\n";

    private static string WatchesBySession(StateMachine machine)
    {
        var sb = new StringBuilder();
        foreach (var (sessionId, paths) in machine.Watches.WatchesBySession())
        {
            sb.Append("0x").Append(sessionId.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
            foreach (var path in paths)
            {
                sb.Append('\t').Append(path).Append('\n');
            }
        }

        sb.Append('\n');
        return sb.ToString();
    }

    private static string WatchesByPath(StateMachine machine)
    {
        var sb = new StringBuilder();
        foreach (var (path, sessionIds) in machine.Watches.WatchesByPath())
        {
            sb.Append(path).Append('\n');
            foreach (var id in sessionIds)
            {
                sb.Append("\t0x").Append(id.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        sb.Append('\n');
        return sb.ToString();
    }

    private static string Dump(StateMachine machine)
    {
        var sb = new StringBuilder();
        sb.Append("SessionTracker dump:\n");
        var buckets = machine.Sessions.Buckets;
        sb.Append("Session Sets (").Append(buckets.Count).Append(")/(").Append(machine.Sessions.Sessions.Count).Append("):\n");
        foreach (var (deadline, ids) in buckets)
        {
            sb.Append(ids.Count).Append(" expire at ")
                .Append(DateTimeOffset.FromUnixTimeMilliseconds(deadline).ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture))
                .Append(":\n");
            var sorted = new List<long>(ids);
            sorted.Sort();
            foreach (var id in sorted)
            {
                sb.Append("\t0x").Append(id.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        sb.Append("ephemeral nodes dump:\n");
        var owners = new List<long>(machine.Tree.SessionsWithEphemerals);
        owners.Sort();
        sb.Append("Sessions with Ephemerals (").Append(owners.Count).Append("):\n");
        foreach (var owner in owners)
        {
            sb.Append("0x").Append(owner.ToString("x", CultureInfo.InvariantCulture)).Append(":\n");
            foreach (var path in machine.Tree.EphemeralsOf(owner))
            {
                sb.Append('\t').Append(path).Append('\n');
            }
        }

        sb.Append("Connections dump:\n");
        return sb.ToString();
    }

    private static string Envi(ServerContext server)
    {
        var sb = new StringBuilder("Environment:\n");
        void Line(string key, string? value) => sb.Append(key).Append('=').Append(value ?? "<NA>").Append('\n');
        Line("zookeeper.version", FullVersion);
        Line("host.name", Environment.MachineName);
        Line("java.version", RuntimeInformation.FrameworkDescription);
        Line("java.vendor", "Microsoft .NET");
        Line("java.home", RuntimeEnvironment());
        Line("java.class.path", AppContext.BaseDirectory);
        Line("java.library.path", AppContext.BaseDirectory);
        Line("java.io.tmpdir", Path.GetTempPath());
        Line("java.compiler", "<NA>");
        Line("os.name", RuntimeInformation.OSDescription);
        Line("os.arch", RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant());
        Line("os.version", Environment.OSVersion.Version.ToString());
        Line("user.name", Environment.UserName);
        Line("user.home", Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        Line("user.dir", Environment.CurrentDirectory);
        Line("os.memory.free", (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - GC.GetTotalMemory(false)) / (1024 * 1024) + "MB");
        Line("os.memory.max", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024) + "MB");
        Line("os.memory.total", GC.GetTotalMemory(false) / (1024 * 1024) + "MB");
        _ = server;
        return sb.ToString();
    }

    private static string RuntimeEnvironment() => Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "<NA>";

    /// <summary>Java's Double.toString for the values we print: at least one decimal.</summary>
    private static string JavaDouble(double value) =>
        value == Math.Floor(value) ? value.ToString("0.0", CultureInfo.InvariantCulture) : value.ToString("0.0###", CultureInfo.InvariantCulture);

    private static long DirectorySize(string path)
    {
        try
        {
            if (!Directory.Exists(path))
            {
                return 0;
            }

            long total = 0;
            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
            {
                total += new FileInfo(file).Length;
            }

            return total;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long OpenFileDescriptors()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long MaxFileDescriptors()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
