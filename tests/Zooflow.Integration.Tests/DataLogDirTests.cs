using System.Net;
using Xunit;
using Zooflow.Server.Configuration;
using Zooflow.Server.Persistence;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary><c>dataLogDir</c> apart from <c>dataDir</c>, and the autopurge rule run by the server.</summary>
public sealed class DataLogDirTests
{
    private static int Snapshots(string dir) => Directory.GetFiles(dir, "snapshot.*").Count(f => !f.EndsWith(".tmp", StringComparison.Ordinal));

    [Fact]
    public async Task SeparateDataLogDir_AutopurgeKeepsRetainCount_RecoveryIntact()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-datalogdir");
        var data = dir.Combine("data");
        var logs = dir.Combine("logs");
        var options = new ServerOptions
        {
            ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = data, DataLogDir = logs, TickTimeMs = 200,
            SnapCount = 20, AutopurgeSnapRetainCount = 3,
        };
        var persistence = DurableServer.OptionsFrom(options) with { PreallocateBytes = 64 * 1024 };
        await using (var durable = await DurableServer.StartAsync(options, persistence, cancellationToken: ct))
        {
            await using (var client = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct))
            {
                for (var i = 0; i < 150; i++)
                {
                    await client.CreateAsync($"/d{i:D3}", System.Text.Encoding.ASCII.GetBytes($"v{i}"), cancellationToken: ct);
                }
            }

            // No snapshot may be half-written while we count and purge.
            await durable.Store.StopBackgroundAsync();
            Assert.NotEmpty(Directory.GetFiles(logs, "log.*"));
            Assert.Empty(Directory.GetFiles(data, "log.*"));
            Assert.Empty(Directory.GetFiles(logs, "snapshot.*"));
            Assert.True(Snapshots(data) > 3);
            var result = await durable.Store.PurgeAsync(ct);
            Assert.NotEmpty(result.DeletedSnapshots);
            Assert.Equal(3, Snapshots(data));
        }

        await using var again = await DurableServer.StartAsync(options, persistence, cancellationToken: ct);
        await using var check = await Harness.ConnectAsync(again.Server.EndPoint.Port, ct);
        for (var i = 0; i < 150; i += 7)
        {
            var (value, _) = await check.GetDataAsync($"/d{i:D3}", cancellationToken: ct);
            Assert.Equal($"v{i}", System.Text.Encoding.ASCII.GetString(value));
        }
    }
}
