using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Zooflow.TestKit.Servers;

/// <summary>Settings of a <see cref="TestEnsemble"/>; validated in one pass by <see cref="Validate"/>.</summary>
public sealed record EnsembleOptions
{
    /// <summary>Three voters, tickTime 300 ms, initLimit 10, syncLimit 5, proxied quorum links.</summary>
    public static readonly EnsembleOptions Default = new();

    /// <summary>Number of voting members (1..9).</summary>
    public int Size { get; init; } = 3;

    /// <summary>Observers after the voters (ids Size+1 ..): <c>server.N=...:observer</c> and <c>peerType=observer</c> in
    /// their own zoo.cfg. They are in <see cref="TestEnsemble.MemberIds"/> but not in <see cref="Size"/>.</summary>
    public int Observers { get; init; }

    /// <summary>zoo.cfg <c>tickTime</c>. 300 ms keeps fail-over quick (a follower gives up on a silent leader after
    /// syncLimit ticks = 1.5 s) while a loaded 2-core machine still keeps up with pings; sessions may be 0.6-6 s.</summary>
    public int TickTimeMs { get; init; } = 300;

    /// <summary>zoo.cfg <c>initLimit</c> (ticks a follower may take to connect and sync to a leader).</summary>
    public int InitLimit { get; init; } = 10;

    /// <summary>zoo.cfg <c>syncLimit</c> (ticks a follower may lag or be silent before it is dropped).</summary>
    public int SyncLimit { get; init; } = 5;

    /// <summary>Put a <see cref="FaultProxy"/> on every directed quorum and election link so that links can be cut
    /// (<see cref="IEnsemble.Partition"/>). Without it the links are direct and cannot be cut.</summary>
    public bool ProxyQuorumLinks { get; init; } = true;

    /// <summary>JVM arguments for ZooKeeper members. A small heap, the serial collector and the client compiler keep five
    /// JVMs light on a shared 2-core machine; nothing here is measured, so peers.md's -Xmx1000m is not needed.</summary>
    public IReadOnlyList<string> ZooKeeperJvmArgs { get; init; } = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"];

    /// <summary>Extra zoo.cfg lines appended to every member's file.</summary>
    public string ExtraConfig { get; init; } = "";

    /// <summary>How long start-up (every member serving) and a restart (the member answering) may take.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The zoo.cfg session timeout bounds these settings allow (2 to 20 ticks).</summary>
    public TimeSpan MaxSessionTimeout => TimeSpan.FromMilliseconds(20 * TickTimeMs);

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (Size is < 1 or > 9)
        {
            errors.Add($"Size {Size}: expected 1..9 members");
        }

        if (Observers is < 0 or > 4)
        {
            errors.Add($"Observers {Observers}: expected 0..4");
        }

        if (TickTimeMs is < 10 or > 10_000)
        {
            errors.Add($"TickTimeMs {TickTimeMs}: expected 10..10000");
        }

        if (InitLimit < 1)
        {
            errors.Add($"InitLimit {InitLimit}: expected at least 1 tick");
        }

        if (SyncLimit < 1)
        {
            errors.Add($"SyncLimit {SyncLimit}: expected at least 1 tick");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            errors.Add($"StartTimeout {StartTimeout}: expected positive");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid ensemble options: " + string.Join("; ", errors));
        }
    }
}

/// <summary>
/// <see cref="IEnsemble"/> on real processes: Apache ZooKeeper 3.8 (Debian's jars) or Zooflow (<c>zooflow server</c>),
/// each member with its own directory, zoo.cfg and <c>dataDir/myid</c>, on free loopback ports.
/// </summary>
/// <remarks>
/// <para><b>Cuttable quorum links.</b> A member listens for peers on its own <c>server.N</c> line and connects to the
/// others through theirs, and every member reads its own zoo.cfg. So member <c>m</c>'s file names itself with its real
/// quorum and election ports, and names every other member <c>n</c> by the ports of a <see cref="FaultProxy"/> pair
/// dedicated to the directed link m→n, which forwards to n's real ports. Every connection between two members, whoever
/// opens it (Zab's learner→leader link, or fast leader election's one connection per pair, kept from the higher id),
/// passes through the proxy of its direction, so cutting both proxies of a pair isolates the pair completely. Members
/// identify peers by the id in the first message, not by address, so the proxies are invisible to them. Clients connect
/// to the members' client ports directly.</para>
/// <para>Why not network namespaces: they work here (we are root), but they need veth pairs, addresses, routes and
/// either iptables or link flapping per fault, and a CI machine without CAP_NET_ADMIN could not run them; the proxies need
/// nothing but loopback and also give the "blackhole" fault (connections stay open, nothing moves) that a link-down does
/// not.</para>
/// <para>Ready when every member reports <c>Mode: leader</c> or <c>Mode: follower</c> over <c>srvr</c> with exactly one
/// leader (peers.md: a server may accept connections long before it serves).</para>
/// </remarks>
public sealed class TestEnsemble : IEnsemble
{
    private static readonly TimeSpan SrvrTimeout = TimeSpan.FromSeconds(2);
    private readonly EnsembleOptions _options;
    private readonly Member[] _members;
    private readonly Dictionary<(int From, int To), (FaultProxy Quorum, FaultProxy Election)> _links = [];
    private readonly object _linkLock = new();
    private int _disposed;

    private TestEnsemble(ServerKind kind, EnsembleOptions options, string root, Member[] members)
    {
        Kind = kind;
        _options = options;
        RootDirectory = root;
        _members = members;
        MemberIds = [.. members.Select(m => m.Id)];
    }

    /// <inheritdoc/>
    public ServerKind Kind { get; }

    /// <inheritdoc/>
    public int Size => _options.Size;

    /// <inheritdoc/>
    public IReadOnlyList<int> MemberIds { get; }

    /// <inheritdoc/>
    public string ConnectString => string.Join(',', _members.Select(m => MemberConnectString(m.Id)));

    /// <inheritdoc/>
    public string RootDirectory { get; }

    /// <summary>Leave <see cref="RootDirectory"/> (configs, data, logs) on disk at dispose, e.g. after a failed check;
    /// false by default.</summary>
    public bool KeepFiles { get; set; }

    /// <summary>The options the ensemble runs with.</summary>
    public EnsembleOptions Options => _options;

    /// <summary>
    /// Starts every member and waits until the ensemble serves (every member leader or follower, one leader).
    /// </summary>
    /// <exception cref="EnsembleNotSupportedException">Zooflow ran the configuration standalone or refused its
    /// <c>server.N</c> lines.</exception>
    /// <exception cref="TimeoutException">Not serving within <see cref="EnsembleOptions.StartTimeout"/>.</exception>
    public static async Task<TestEnsemble> StartAsync(ServerKind kind, EnsembleOptions? options, CancellationToken cancellationToken)
    {
        options ??= EnsembleOptions.Default;
        options.Validate();
        for (var attempt = 1; ; attempt++)
        {
            var root = Path.Combine(Path.GetTempPath(), $"zooflow-ensemble-{kind.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}");
            var members = new Member[options.Size + options.Observers];
            // Each port is released as soon as it is picked, so the kernel may hand the same one out twice: keep them distinct.
            var taken = new HashSet<int>();
            int DistinctPort()
            {
                var port = FreePort.Next();
                while (!taken.Add(port))
                {
                    port = FreePort.Next();
                }
                return port;
            }
            for (var i = 0; i < members.Length; i++)
            {
                members[i] = new Member(i + 1, Path.Combine(root, "m" + (i + 1).ToString(CultureInfo.InvariantCulture)),
                    DistinctPort(), DistinctPort(), DistinctPort());
            }

            var ensemble = new TestEnsemble(kind, options, root, members);
            try
            {
                ensemble.CreateLinks();
                foreach (var member in members)
                {
                    ensemble.WriteFiles(member);
                    ensemble.Launch(member);
                }

                await ensemble.WaitServingAsync(members.Length, options.StartTimeout, cancellationToken);
                return ensemble;
            }
            catch (Exception) when (attempt < 3 && ensemble.AnyPortClash())
            {
                await ensemble.DisposeAsync();
            }
            catch
            {
                await ensemble.DisposeAsync();
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public string MemberConnectString(int id) => "127.0.0.1:" + Get(id).ClientPort.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public int ClientPort(int id) => Get(id).ClientPort;

    /// <summary>The member's own directory under <see cref="RootDirectory"/>: its <c>zoo.cfg</c>, its <c>data</c>
    /// directory and, for ZooKeeper, its <c>server.log</c>.</summary>
    public string MemberDirectory(int id) => Get(id).Dir;

    /// <summary>The member's <c>dataDir</c> (<c>myid</c>, <c>version-2/</c>).</summary>
    public string MemberDataDirectory(int id) => Path.Combine(Get(id).Dir, "data");

    /// <inheritdoc/>
    public bool IsRunning(int id) => Get(id).Process is { HasExited: false };

    /// <inheritdoc/>
    public bool IsPaused(int id) => Get(id).Paused;

    /// <inheritdoc/>
    public async Task<MemberStatus> StatusAsync(int id, CancellationToken cancellationToken)
    {
        var member = Get(id);
        if (!IsRunning(id) || member.Paused)
        {
            return new MemberStatus(id, MemberMode.Unreachable, null);
        }

        string reply;
        try
        {
            reply = await FourLetterWordAsync(member.ClientPort, "srvr", cancellationToken);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new MemberStatus(id, MemberMode.Unreachable, null);
        }

        var (mode, zxid) = ServerProcesses.ParseSrvr(reply);
        var parsed = mode switch
        {
            "leader" => MemberMode.Leader,
            "follower" => MemberMode.Follower,
            "observer" => MemberMode.Observer,
            "standalone" => MemberMode.Standalone,
            null when reply.Length > 0 => MemberMode.NotServing,
            null => MemberMode.Unreachable,
            _ => MemberMode.NotServing,
        };
        return new MemberStatus(id, parsed, zxid);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<MemberStatus>> StatusAllAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(MemberIds.Select(id => StatusAsync(id, cancellationToken)));

    /// <inheritdoc/>
    public async Task<int?> FindLeaderAsync(CancellationToken cancellationToken)
    {
        var leaders = (await StatusAllAsync(cancellationToken)).Where(s => s.Mode == MemberMode.Leader).ToList();
        return leaders.Count == 1 ? leaders[0].Id : null;
    }

    /// <inheritdoc/>
    public async Task WaitServingAsync(int minServing, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<MemberStatus> last = [];
        while (true)
        {
            foreach (var member in _members)
            {
                if (member.Process is { HasExited: true } && !member.Killed)
                {
                    var output = DescribeMember(member.Id);
                    if (Kind == ServerKind.Zooflow && output.Contains("server.", StringComparison.Ordinal))
                    {
                        throw new EnsembleNotSupportedException(
                            $"zooflow server exited on an ensemble zoo.cfg (server.N lines):\n{output}");
                    }

                    throw new InvalidOperationException($"{Kind} member {member.Id} exited unexpectedly\n{output}");
                }
            }

            last = await StatusAllAsync(cancellationToken);
            if (Kind == ServerKind.Zooflow && last.FirstOrDefault(s => s.Mode == MemberMode.Standalone) is { } standalone)
            {
                throw new EnsembleNotSupportedException(
                    $"zooflow server ran an ensemble zoo.cfg (server.1..server.{Size}) standalone: srvr on member {standalone.Id} says 'Mode: standalone'");
            }

            var serving = last.Count(s => s.IsServing);
            var leaders = last.Count(s => s.Mode == MemberMode.Leader);
            if (serving >= minServing && leaders == 1)
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"{Kind} ensemble: fewer than {minServing} members serving with one leader within {timeout.TotalSeconds:0} s; status {string.Join(' ', last)}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <inheritdoc/>
    public void Kill(int id)
    {
        var member = Get(id);
        member.Killed = true;
        member.Process?.Kill();
        member.Paused = false;
    }

    /// <inheritdoc/>
    public async Task RestartAsync(int id, CancellationToken cancellationToken)
    {
        var member = Get(id);
        if (member.Process is { } old)
        {
            await old.DisposeAsync();
        }

        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (true)
        {
            member.Killed = false;
            Launch(member);
            while (true)
            {
                if (member.Process!.HasExited)
                {
                    break;
                }

                if ((await StatusAsync(id, cancellationToken)).Mode != MemberMode.Unreachable)
                {
                    return;
                }

                if (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"{Kind} member {id} did not answer srvr within {_options.StartTimeout.TotalSeconds:0} s of a restart\n{DescribeMember(id)}");
                }

                await Task.Delay(100, cancellationToken);
            }

            // The old process's ports may linger a moment after SIGKILL; anything else is a real failure.
            if (!DescribeMember(id).Contains("Address already in use", StringComparison.Ordinal) || DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException($"{Kind} member {id} exited during a restart\n{DescribeMember(id)}");
            }

            await member.Process.DisposeAsync();
            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Deletes a killed member's data directory except <c>myid</c>, as if its disk were replaced: a fault no
    /// ensemble can survive on a majority, which tests use to prove their checkers notice lost data.</summary>
    public void WipeData(int id)
    {
        var member = Get(id);
        if (IsRunning(id))
        {
            throw new InvalidOperationException($"member {id} must be killed before its data is wiped");
        }

        var dataDir = Path.Combine(member.Dir, "data");
        foreach (var entry in new DirectoryInfo(dataDir).EnumerateFileSystemInfos())
        {
            if (entry.Name == "myid")
            {
                continue;
            }

            if (entry is DirectoryInfo directory)
            {
                directory.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    /// <inheritdoc/>
    public void Pause(int id)
    {
        var member = Get(id);
        if (member.Process is { } process && process.Signal(ProcessRunner.SigStop))
        {
            member.Paused = true;
        }
    }

    /// <inheritdoc/>
    public void Resume(int id)
    {
        var member = Get(id);
        member.Process?.Signal(ProcessRunner.SigCont);
        member.Paused = false;
    }

    /// <inheritdoc/>
    public void Partition(IReadOnlyList<IReadOnlyCollection<int>> components, LinkFault fault)
    {
        for (var i = 0; i < components.Count; i++)
        {
            for (var j = i + 1; j < components.Count; j++)
            {
                foreach (var a in components[i])
                {
                    foreach (var b in components[j])
                    {
                        Cut(a, b, fault);
                    }
                }
            }
        }
    }

    /// <inheritdoc/>
    public void Cut(int a, int b, LinkFault fault)
    {
        if (!_options.ProxyQuorumLinks)
        {
            throw new InvalidOperationException("links can only be cut with EnsembleOptions.ProxyQuorumLinks");
        }

        lock (_linkLock)
        {
            foreach (var key in new[] { (a, b), (b, a) })
            {
                var (quorum, election) = _links[key];
                foreach (var proxy in new[] { quorum, election })
                {
                    if (fault == LinkFault.Refuse)
                    {
                        proxy.Block();
                    }
                    else
                    {
                        proxy.Blackhole();
                    }
                }
            }
        }
    }

    /// <inheritdoc/>
    public void HealLinks()
    {
        lock (_linkLock)
        {
            foreach (var (quorum, election) in _links.Values)
            {
                quorum.Heal();
                election.Heal();
            }
        }
    }

    /// <inheritdoc/>
    public string DescribeMember(int id)
    {
        var member = Get(id);
        return member.Process is { } process ? ServerProcesses.Describe(process, member.Dir) : "(never started)";
    }

    /// <summary>Stops every member it started (by PID), closes the proxies, and deletes <see cref="RootDirectory"/> unless
    /// <see cref="KeepFiles"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var member in _members)
        {
            if (member.Process is { } process)
            {
                await process.DisposeAsync();
            }
        }

        foreach (var (quorum, election) in _links.Values)
        {
            await quorum.DisposeAsync();
            await election.DisposeAsync();
        }

        if (!KeepFiles)
        {
            try
            {
                System.IO.Directory.Delete(RootDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary><see cref="TestServer.FourLetterWordAsync"/> bounded by <see cref="SrvrTimeout"/> even when the member
    /// accepts the connection but never answers (paused, or starting).</summary>
    private static async Task<string> FourLetterWordAsync(int port, string word, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(SrvrTimeout);
        return await TestServer.FourLetterWordAsync(port, word, cts.Token);
    }

    private Member Get(int id) =>
        id >= 1 && id <= _members.Length ? _members[id - 1] : throw new ArgumentOutOfRangeException(nameof(id), id, $"members are 1..{_members.Length}");

    private void CreateLinks()
    {
        if (!_options.ProxyQuorumLinks)
        {
            return;
        }

        foreach (var from in _members)
        {
            foreach (var to in _members)
            {
                if (from.Id != to.Id)
                {
                    _links[(from.Id, to.Id)] = (
                        new FaultProxy(new IPEndPoint(IPAddress.Loopback, to.QuorumPort)),
                        new FaultProxy(new IPEndPoint(IPAddress.Loopback, to.ElectionPort)));
                }
            }
        }
    }

    private void WriteFiles(Member member)
    {
        var dataDir = Path.Combine(member.Dir, "data");
        System.IO.Directory.CreateDirectory(dataDir);
        File.WriteAllText(Path.Combine(dataDir, "myid"), member.Id.ToString(CultureInfo.InvariantCulture) + "\n");
        var cfg = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"tickTime={_options.TickTimeMs}\n")
            .Append(CultureInfo.InvariantCulture, $"initLimit={_options.InitLimit}\n")
            .Append(CultureInfo.InvariantCulture, $"syncLimit={_options.SyncLimit}\n")
            .Append(CultureInfo.InvariantCulture, $"dataDir={dataDir}\n")
            .Append(CultureInfo.InvariantCulture, $"clientPort={member.ClientPort}\n")
            .Append("clientPortAddress=127.0.0.1\n");
        ServerProcesses.AppendCommonConfig(cfg, Kind);
        foreach (var peer in _members)
        {
            var (quorumPort, electionPort) = peer.Id == member.Id || !_options.ProxyQuorumLinks
                ? (peer.QuorumPort, peer.ElectionPort)
                : (_links[(member.Id, peer.Id)].Quorum.Port, _links[(member.Id, peer.Id)].Election.Port);
            var observer = peer.Id > _options.Size ? ":observer" : "";
            cfg.Append(CultureInfo.InvariantCulture, $"server.{peer.Id}=127.0.0.1:{quorumPort}:{electionPort}{observer}\n");
        }

        if (member.Id > _options.Size)
        {
            cfg.Append("peerType=observer\n");
        }

        cfg.Append(_options.ExtraConfig);
        File.WriteAllText(member.CfgPath, cfg.ToString());
    }

    private void Launch(Member member) =>
        member.Process = ServerProcesses.Start(Kind, member.Dir, member.CfgPath, _options.ZooKeeperJvmArgs);

    private bool AnyPortClash() =>
        _members.Any(m => m.Process is not null && DescribeMember(m.Id).Contains("Address already in use", StringComparison.Ordinal));

    private sealed class Member(int id, string dir, int clientPort, int quorumPort, int electionPort)
    {
        public int Id { get; } = id;

        public string Dir { get; } = dir;

        public string CfgPath => Path.Combine(Dir, "zoo.cfg");

        public int ClientPort { get; } = clientPort;

        public int QuorumPort { get; } = quorumPort;

        public int ElectionPort { get; } = electionPort;

        public ProcessRunner? Process { get; set; }

        public volatile bool Paused;

        public volatile bool Killed;
    }
}
