using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;
using static Zooflow.Ensemble.Tests.Ensembles;

namespace Zooflow.Ensemble.Tests;

/// <summary>Real ZooKeeper clients (Python's kazoo from Debian python3-kazoo; the Apache ZooKeeper 3.8 Java client) with
/// a multi-host connect string ride out a SIGKILL of the leader, the same on Zooflow and ZooKeeper 3.8.</summary>
/// <remarks>Each client program (python/kazoo_failover.py, java/JavaFailover.java) sets a counter znode to 1, 2, 3, ...
/// one acknowledged write at a time, retrying ConnectionLoss, until told to stop by a file; it then syncs and reads the
/// counter back. The leader is killed once 20 writes are acknowledged; the test stops the client after 40 more.</remarks>
public sealed partial class RealClientTests(ITestOutputHelper output)
{
    private static readonly SemaphoreSlim CompileLock = new(1, 1);
    private static string? _javaClasses;

    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public Task Kazoo_LeaderKilledDuringWrites_RetriesOnAnotherMemberAndLosesNoAcknowledgedWrite(ServerKind kind) =>
        RunAsync(kind, (connectString, stopFile, _) => Task.FromResult(ProcessRunner.Start("/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "python", "kazoo_failover.py"), connectString, "/kazoo-counter", stopFile])), "/kazoo-counter");

    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public Task JavaClient_LeaderKilledDuringWrites_RetriesOnAnotherMemberAndLosesNoAcknowledgedWrite(ServerKind kind) =>
        RunAsync(kind, async (connectString, stopFile, ct) =>
        {
            var classes = await CompileJavaAsync(ct);
            var classpath = string.Join(':', classes, TestServer.ZooKeeperJar, TestServer.ZooKeeperJuteJar, "/usr/share/java/slf4j-api.jar",
                "/usr/share/java/slf4j-nop.jar");
            return ProcessRunner.Start("/usr/bin/java", ["-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", classpath, "JavaFailover",
                connectString, "/java-counter", stopFile]);
        }, "/java-counter");

    private async Task RunAsync(ServerKind kind, Func<string, string, CancellationToken, Task<ProcessRunner>> startClient, string path)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        using var dir = new TempDir();
        var stopFile = Path.Combine(dir.Path, "stop");
        await using var client = await startClient(ensemble.ConnectString, stopFile, ct);

        await WaitUntilAsync(() => Task.FromResult(AckedCount(client.StandardOutput) >= 20 || client.HasExited), RecoveryTimeout,
            () => "client writing\n" + client.StandardOutput + client.StandardError, ct);
        ensemble.Kill(leader);
        var ackedAtKill = AckedCount(client.StandardOutput);
        var next = await WaitLeaderAsync(ensemble, ct, not: leader);
        await WaitUntilAsync(() => Task.FromResult(AckedCount(client.StandardOutput) >= ackedAtKill + 40 || client.HasExited), RecoveryTimeout,
            () => "client writing after the fail-over\n" + client.StandardOutput + client.StandardError, ct);
        await File.WriteAllTextAsync(stopFile, "", ct);
        var result = await client.WaitForExitAsync(TimeSpan.FromSeconds(60), ct);
        output.WriteLine($"{kind}: leader {leader} killed, {next} leads\n{result.StandardOutput}{result.StandardError}");

        Assert.Equal(0, result.ExitCode);
        var final = FinalLine().Match(result.StandardOutput);
        Assert.True(final.Success, result.ToString());
        var acked = int.Parse(final.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(final.Groups[1].Value, final.Groups[2].Value);
        Assert.True(acked >= ackedAtKill + 40, $"acked {acked}, {ackedAtKill} at the kill");
        foreach (var id in ensemble.MemberIds.Where(id => id != leader))
        {
            Assert.Equal(N(acked), await SyncReadAsync(ensemble, id, path, ct));
        }
    }

    private static async Task<string> CompileJavaAsync(CancellationToken cancellationToken)
    {
        await CompileLock.WaitAsync(cancellationToken);
        try
        {
            if (_javaClasses is null)
            {
                var dir = Path.Combine(Path.GetTempPath(), $"zooflow-ensemble-java-{Environment.ProcessId}");
                Directory.CreateDirectory(dir);
                var source = Path.Combine(AppContext.BaseDirectory, "java", "JavaFailover.java");
                var result = await ProcessRunner.RunAsync("/usr/bin/javac",
                    ["-nowarn", "-d", dir, "-cp", string.Join(':', TestServer.ZooKeeperJar, TestServer.ZooKeeperJuteJar), source],
                    TimeSpan.FromSeconds(120), cancellationToken: cancellationToken);
                Assert.True(result.ExitCode == 0, "javac failed\n" + result);
                _javaClasses = dir;
            }

            return _javaClasses;
        }
        finally
        {
            CompileLock.Release();
        }
    }

    private static int AckedCount(string stdout) =>
        AckedLine().Matches(stdout) is { Count: > 0 } matches
            ? int.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture)
            : 0;

    [GeneratedRegex(@"^acked (\d+)$", RegexOptions.Multiline)]
    private static partial Regex AckedLine();

    [GeneratedRegex(@"^final acked=(\d+) read=(\d+) ", RegexOptions.Multiline)]
    private static partial Regex FinalLine();
}
