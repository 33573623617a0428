using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Zooflow.TestKit;

namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>
/// One standalone server (Apache ZooKeeper from Debian's jars, or Zooflow from the built CLI) on a free loopback port
/// with its own data directory. Both get the same zoo.cfg keys. Ready once <c>srvr</c> prints a <c>Mode:</c> line.
/// Disposing kills the process tree we started, by PID.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const int TickTime = 1000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);
    private readonly TempDir _dir;
    private readonly ProcessRunner _process;

    private ServerProcess(ServerKind kind, int port, TempDir dir, ProcessRunner process)
    {
        Kind = kind;
        Port = port;
        _dir = dir;
        _process = process;
    }

    public ServerKind Kind { get; }

    public int Port { get; }

    /// <summary>"127.0.0.1:port", the connect string clients use.</summary>
    public string ConnectString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public bool HasExited => _process.HasExited;

    public string Directory => _dir.Path;

    /// <summary>What the server printed so far (stdout, stderr and, for ZooKeeper, its log file), for failure messages.</summary>
    public string Output
    {
        get
        {
            var log = Path.Combine(_dir.Path, "server.log");
            var text = new StringBuilder();
            text.Append("--- stdout ---\n").Append(Tail(_process.StandardOutput));
            text.Append("--- stderr ---\n").Append(Tail(_process.StandardError));
            if (File.Exists(log))
            {
                try
                {
                    text.Append("--- server.log ---\n").Append(Tail(File.ReadAllText(log)));
                }
                catch (IOException)
                {
                }
            }

            return text.ToString();
        }
    }

    /// <summary>The super user's digest (user "super", password <see cref="SuperPassword"/>), configured on both servers.</summary>
    public const string SuperDigest = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=";
    public const string SuperPassword = "superpw";

    /// <summary>Starts a server; <paramref name="maxClientCnxns"/> overrides the default of 0 (unlimited).</summary>
    public static async Task<ServerProcess> StartAsync(ServerKind kind, CancellationToken cancellationToken = default, int maxClientCnxns = 0)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var dir = new TempDir("zooflow-compat-" + kind.ToString().ToLowerInvariant());
            var server = Launch(kind, port, dir, maxClientCnxns);
            try
            {
                await server.WaitReadyAsync(cancellationToken);
                return server;
            }
            catch (Exception) when (attempt < 2 && server.Output.Contains("Address already in use", StringComparison.Ordinal))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    private static ServerProcess Launch(ServerKind kind, int port, TempDir dir, int maxClientCnxns)
    {
        var dataDir = dir.Combine("data");
        System.IO.Directory.CreateDirectory(dataDir);
        var cfg = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"tickTime={TickTime}\n")
            .Append(CultureInfo.InvariantCulture, $"dataDir={dataDir}\n")
            .Append(CultureInfo.InvariantCulture, $"clientPort={port}\n")
            .Append("clientPortAddress=127.0.0.1\n")
            .Append(CultureInfo.InvariantCulture, $"maxClientCnxns={maxClientCnxns}\n")
            .Append("4lw.commands.whitelist=*\n")
            .Append("extendedTypesEnabled=true\n")
            // ZooKeeper turns unknown zoo.cfg keys into "zookeeper."-prefixed system properties, which is where it reads this.
            .Append("DigestAuthenticationProvider.superDigest=").Append(SuperDigest).Append('\n');
        if (kind == ServerKind.Zooflow)
        {
            // ZooKeeper reads this one only as a JVM property (see below).
            cfg.Append("znode.container.checkIntervalMs=1000\n");
        }

        var cfgPath = dir.Combine("zoo.cfg");
        File.WriteAllText(cfgPath, cfg.ToString());

        ProcessRunner process;
        if (kind == ServerKind.ZooKeeper)
        {
            File.WriteAllText(dir.Combine("log4j.properties"), string.Join('\n',
                "log4j.rootLogger=INFO, F",
                "log4j.appender.F=org.apache.log4j.FileAppender",
                "log4j.appender.F.File=" + dir.Combine("server.log"),
                "log4j.appender.F.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.F.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n",
                ""));
            var classpath = string.Join(':', dir.Path, Paths.ZooKeeperJar, Paths.ZooKeeperJuteJar, Paths.Slf4jLog4jJar, Paths.Log4jJar);
            process = ProcessRunner.Start(Paths.Java,
            [
                "-Xmx1000m",
                "-Dznode.container.checkIntervalMs=1000",
                "-Dzookeeper.snapshot.trust.empty=true",
                "-Dzookeeper.admin.enableServer=false",
                "-cp", classpath,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                cfgPath,
            ], workingDirectory: dir.Path);
        }
        else
        {
            var cli = Paths.ZooflowCli;
            if (!File.Exists(cli))
            {
                dir.Dispose();
                throw new FileNotFoundException($"Zooflow CLI not built at {cli} (build the solution first, or set ZOOFLOW_CLI)");
            }

            process = ProcessRunner.Start("dotnet", [cli, "server", cfgPath], workingDirectory: dir.Path);
        }

        return new ServerProcess(kind, port, dir, process);
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Kind} server exited during start-up\n{Output}");
            }

            try
            {
                last = await FourLetterWords.SendAsync(Port, "srvr", TimeSpan.FromSeconds(2), cancellationToken);
                if (last.Contains("Mode:", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"{Kind} server on port {Port} not ready within {StartTimeout.TotalSeconds} s (last srvr reply: '{last}')\n{Output}");
    }

    private static string Tail(string s) => s.Length <= 6000 ? s : "...\n" + s[^6000..];

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
