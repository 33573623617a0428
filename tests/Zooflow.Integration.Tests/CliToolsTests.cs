using System.Net;
using Xunit;
using Zooflow.Server.Configuration;
using Zooflow.Server.Persistence;
using Zooflow.Storage;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary><c>zooflow log dump</c>, <c>snapshot dump</c> and <c>purge</c> on a data directory the server wrote.</summary>
public sealed class CliToolsTests
{
    [Fact]
    public async Task Tools_OnServerDataDir_DumpAndPurge()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-tools");
        var data = dir.Combine("data");
        var options = new ServerOptions { ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = data, TickTimeMs = 200, SnapCount = 20 };
        await using (var durable = await DurableServer.StartAsync(options, DurableServer.OptionsFrom(options) with { PreallocateBytes = 64 * 1024 }, cancellationToken: ct))
        await using (var client = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct))
        {
            for (var i = 0; i < 120; i++)
            {
                await client.CreateAsync($"/t{i:D3}", System.Text.Encoding.ASCII.GetBytes($"value-{i}"), cancellationToken: ct);
            }
        }

        var log = TxnLog.ListSegmentFiles(data)[0].Path;
        var logDump = await ProcessRunner.RunAsync("dotnet", [Harness.ZooflowCli, "log", "dump", log], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(logDump.ExitCode == 0, logDump.ToString());
        Assert.Contains("CreateSession", logDump.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("/t000", logDump.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"value-0\"", logDump.StandardOutput, StringComparison.Ordinal);

        var snapshots = new SnapshotStore(data).List();
        Assert.True(snapshots.Count > 3, $"expected more than 3 snapshots, found {snapshots.Count}");
        var snapDump = await ProcessRunner.RunAsync("dotnet", [Harness.ZooflowCli, "snapshot", "dump", snapshots[0].Path], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(snapDump.ExitCode == 0, snapDump.ToString());
        Assert.Contains("/t000", snapDump.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("cZxid = 0x", snapDump.StandardOutput, StringComparison.Ordinal);

        var purge = await ProcessRunner.RunAsync("dotnet", [Harness.ZooflowCli, "purge", data, "-n", "3"], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(purge.ExitCode == 0, purge.ToString());
        Assert.Equal(3, new SnapshotStore(data).List().Count);

        // The purged directory still recovers every node.
        await using var after = await DurableServer.StartAsync(options, DurableServer.OptionsFrom(options), cancellationToken: ct);
        await using var check = await Harness.ConnectAsync(after.Server.EndPoint.Port, ct);
        var (value, _) = await check.GetDataAsync("/t119", cancellationToken: ct);
        Assert.Equal("value-119"u8.ToArray(), value);
        Assert.Equal(121, (await check.GetChildrenAsync("/", cancellationToken: ct)).Count); // 120 + "zookeeper"
    }
}
