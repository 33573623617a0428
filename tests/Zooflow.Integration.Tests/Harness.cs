using System.Globalization;
using System.Net.Sockets;
using Zooflow.Client;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>Paths of our CLI and of the Debian ZooKeeper 3.8, and real server processes on loopback.</summary>
internal static class Harness
{
    public const string Java = "/usr/bin/java";
    public const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";
    public const string ZooKeeperJuteJar = "/usr/share/java/zookeeper-jute.jar";
    public const string Slf4jNopJar = "/usr/share/java/slf4j-nop.jar";

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

    /// <summary>The CLI assembly; <c>ZOOFLOW_CLI</c> overrides the default Debug build output.</summary>
    public static string ZooflowCli =>
        Environment.GetEnvironmentVariable("ZOOFLOW_CLI") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(RepositoryRoot, "src", "Zooflow.Cli", "bin", "Debug", "net10.0", "zooflow.dll");

    public static string WriteConfig(string dir, string dataDir, int port, string extra = "")
    {
        var cfg = Path.Combine(dir, "zoo.cfg");
        File.WriteAllText(cfg, string.Create(CultureInfo.InvariantCulture,
            $"tickTime=500\ndataDir={dataDir}\nclientPort={port}\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n{extra}"));
        return cfg;
    }

    /// <summary>Starts <c>zooflow server cfg</c> and waits until a client session can be made.</summary>
    public static async Task<ProcessRunner> StartZooflowAsync(string cfg, int port, string workDir, CancellationToken cancellationToken)
    {
        if (!File.Exists(ZooflowCli))
        {
            throw new FileNotFoundException($"Zooflow CLI not built at {ZooflowCli} (build src/Zooflow.Cli first, or set ZOOFLOW_CLI)");
        }

        var process = ProcessRunner.Start("dotnet", [ZooflowCli, "server", cfg], workingDirectory: workDir);
        await WaitPortAsync(process, port, TimeSpan.FromSeconds(30), cancellationToken);
        return process;
    }

    public static async Task WaitPortAsync(ProcessRunner process, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"server exited during start-up\n{process.StandardOutput}\n{process.StandardError}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, cancellationToken);
                await using var stream = client.GetStream();
                await stream.WriteAsync("srvr"u8.ToArray(), cancellationToken);
                var buffer = new byte[4096];
                var n = await stream.ReadAsync(buffer, cancellationToken);
                if (n > 0 && System.Text.Encoding.ASCII.GetString(buffer, 0, n).Contains("Mode:", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }
            catch (IOException)
            {
            }

            await Task.Delay(50, cancellationToken);
        }

        throw new TimeoutException($"server on port {port} not ready within {timeout}\n{process.StandardOutput}\n{process.StandardError}");
    }

    public static Task<ZooKeeperClient> ConnectAsync(int port, CancellationToken cancellationToken, TimeSpan? sessionTimeout = null) =>
        ZooKeeperClient.ConnectAsync($"127.0.0.1:{port}", new ZooKeeperClientOptions { SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10) }, cancellationToken);
}
