using System.Net;
using Xunit;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Server.Configuration;
using Zooflow.Server.Persistence;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>Sessions survive a restart: a client that comes back within its timeout keeps its session and ephemerals.</summary>
public sealed class SessionRecoveryTests
{
    [Fact]
    public async Task Restart_ClientResumesWithinTimeout_KeepsSessionAndEphemerals()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-session");
        var data = dir.Combine("data");
        var options = new ServerOptions { ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = data, TickTimeMs = 200, MaxSessionTimeoutMs = 60_000 };
        long sessionId;
        byte[] password;
        ZooKeeperClient first;
        await using (var durable = await DurableServer.StartAsync(options, DurableServer.OptionsFrom(options), cancellationToken: ct))
        {
            first = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct, TimeSpan.FromSeconds(30));
            await first.CreateAsync("/eph", "mine"u8.ToArray(), mode: CreateMode.Ephemeral, cancellationToken: ct);
            sessionId = first.SessionId;
            password = first.SessionPassword;
        }

        await using var again = await DurableServer.StartAsync(options, DurableServer.OptionsFrom(options), cancellationToken: ct);
        await using var resumed = await ZooKeeperClient.ConnectAsync($"127.0.0.1:{again.Server.EndPoint.Port}",
            new ZooKeeperClientOptions { SessionTimeout = TimeSpan.FromSeconds(30), ResumeSession = (sessionId, password) }, ct);
        Assert.Equal(sessionId, resumed.SessionId);
        var stat = await resumed.ExistsAsync("/eph", cancellationToken: ct);
        Assert.NotNull(stat);
        Assert.Equal(sessionId, stat!.Value.EphemeralOwner);
        _ = first.DisposeAsync().AsTask();
    }
}
