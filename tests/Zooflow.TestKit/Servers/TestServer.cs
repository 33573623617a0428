using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;


namespace Zooflow.TestKit.Servers;

/// <summary>
/// One standalone server on a free loopback port with its own data directory: Apache ZooKeeper 3.8 from Debian's jars or
/// Zooflow from the built CLI, with the same zoo.cfg keys (peers.md: maxClientCnxns=0, 4lw whitelist, extended types,
/// 1 s container reaper). tickTime is 500 ms so that short session timeouts (1–10 s) are allowed. Ready once
/// <c>srvr</c> prints <c>Mode:</c>. Disposing kills only the process we started.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const int TickTimeMs = 500;
    public const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";
    public const string ZooKeeperJuteJar = "/usr/share/java/zookeeper-jute.jar";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);
    private readonly string _dir;
    private ProcessRunner _process;

    private TestServer(ServerKind kind, int port, string dir, ProcessRunner process)
    {
        Kind = kind;
        Port = port;
        _dir = dir;
        _process = process;
    }

    public ServerKind Kind { get; }

    public int Port { get; }

    public string ConnectString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public bool HasExited => _process.HasExited;

    public string Output => ServerProcesses.Describe(_process, _dir);

    /// <summary>The repository root (the folder holding Zooflow.slnx above the test assembly).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zooflow.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Zooflow.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The CLI assembly; <c>ZOOFLOW_CLI</c> overrides the Debug build output.</summary>
    public static string ZooflowCli =>
        Environment.GetEnvironmentVariable("ZOOFLOW_CLI") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(RepositoryRoot, "src", "Zooflow.Cli", "bin", "Debug", "net10.0", "zooflow.dll");

    public static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    public static async Task<TestServer> StartAsync(ServerKind kind, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var dir = Path.Combine(Path.GetTempPath(), $"zooflow-client-{kind.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            var server = Launch(kind, port, dir);
            try
            {
                await server.WaitReadyAsync(cancellationToken);
                return server;
            }
            catch (Exception) when (attempt < 3 && server.Output.Contains("Address already in use", StringComparison.Ordinal))
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

    private static TestServer Launch(ServerKind kind, int port, string dir)
    {
        var dataDir = Path.Combine(dir, "data");
        Directory.CreateDirectory(dataDir);
        var cfg = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"tickTime={TickTimeMs}\n")
            .Append(CultureInfo.InvariantCulture, $"dataDir={dataDir}\n")
            .Append(CultureInfo.InvariantCulture, $"clientPort={port}\n")
            .Append("clientPortAddress=127.0.0.1\n");
        ServerProcesses.AppendCommonConfig(cfg, kind);
        var cfgPath = Path.Combine(dir, "zoo.cfg");
        File.WriteAllText(cfgPath, cfg.ToString());
        var process = ServerProcesses.Start(kind, dir, cfgPath);
        return new TestServer(kind, port, dir, process);
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Kind} server exited during start-up\n{Output}");
            }

            try
            {
                last = await FourLetterWordAsync(Port, "srvr", cancellationToken);
                if (last.Contains("Mode:", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"{Kind} server on port {Port} not ready within {StartTimeout.TotalSeconds} s (last srvr: '{last}')\n{Output}");
    }

    /// <summary>Kills the server (SIGKILL, by our PID) and starts it again on the same port and data directory.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await _process.DisposeAsync();
        for (var attempt = 1; ; attempt++)
        {
            _process = Launch(Kind, Port, _dir)._process;
            try
            {
                await WaitReadyAsync(cancellationToken);
                return;
            }
            catch (Exception) when (attempt < 20 && Output.Contains("Address already in use", StringComparison.Ordinal))
            {
                await _process.DisposeAsync();
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    public static async Task<string> FourLetterWordAsync(int port, string word, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(2));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(word), SocketFlags.None, cts.Token);
        var reply = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                break;
            }

            await reply.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
