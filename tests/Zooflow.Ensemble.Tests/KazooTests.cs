using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;
using Zooflow.TestKit;
using Zooflow.TestKit.Servers;
using static Zooflow.Ensemble.Tests.Ensembles;

namespace Zooflow.Ensemble.Tests;

/// <summary>A real ZooKeeper client (Python's kazoo, Debian python3-kazoo) with a multi-host connect string rides out a
/// SIGKILL of the leader, the same on Zooflow and ZooKeeper 3.8.</summary>
public sealed partial class KazooTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(ServerKind.Zooflow)]
    [InlineData(ServerKind.ZooKeeper)]
    public async Task Kazoo_LeaderKilledDuringWrites_RetriesOnAnotherMemberAndLosesNoAcknowledgedWrite(ServerKind kind)
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await using var ensemble = await TestEnsemble.StartAsync(kind, EnsembleOptions.Default with { ProxyQuorumLinks = false }, ct);
        var leader = await WaitLeaderAsync(ensemble, ct);
        using var dir = new TempDir();
        var stopFile = Path.Combine(dir.Path, "stop");
        var script = Path.Combine(AppContext.BaseDirectory, "python", "kazoo_failover.py");
        await using var kazoo = ProcessRunner.Start("/usr/bin/python3", [script, ensemble.ConnectString, "/kazoo-counter", stopFile]);

        await WaitUntilAsync(() => Task.FromResult(AckedCount(kazoo.StandardOutput) >= 20 || kazoo.HasExited), RecoveryTimeout,
            () => "kazoo writing\n" + kazoo.StandardOutput + kazoo.StandardError, ct);
        ensemble.Kill(leader);
        var ackedAtKill = AckedCount(kazoo.StandardOutput);
        var next = await WaitLeaderAsync(ensemble, ct, not: leader);
        await WaitUntilAsync(() => Task.FromResult(AckedCount(kazoo.StandardOutput) >= ackedAtKill + 40 || kazoo.HasExited), RecoveryTimeout,
            () => "kazoo writing after the fail-over\n" + kazoo.StandardOutput + kazoo.StandardError, ct);
        await File.WriteAllTextAsync(stopFile, "", ct);
        var result = await kazoo.WaitForExitAsync(TimeSpan.FromSeconds(60), ct);
        output.WriteLine($"{kind}: leader {leader} killed, {next} leads\n{result.StandardOutput}{result.StandardError}");

        Assert.Equal(0, result.ExitCode);
        var final = FinalLine().Match(result.StandardOutput);
        Assert.True(final.Success, result.ToString());
        var acked = int.Parse(final.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(final.Groups[1].Value, final.Groups[2].Value);
        Assert.True(acked >= ackedAtKill + 40, $"acked {acked}, {ackedAtKill} at the kill");
        foreach (var id in ensemble.MemberIds.Where(id => id != leader))
        {
            Assert.Equal(N(acked), await SyncReadAsync(ensemble, id, "/kazoo-counter", ct));
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
