using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>Session life as ZooKeeper defines it: expiry, reconnect with id + password, closeSession.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task Expiry_SilentSession_DeletesEphemeralsAndFiresWatchOnOtherSession()
    {
        await using var server = await TestServer.StartAsync(o => o with { TickTimeMs = 50 });
        var doomed = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 100);
        await using var watcher = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 10000);
        Assert.Equal(ErrorCode.Ok, (await doomed.CreateAsync("/eph", mode: CreateMode.Ephemeral)).Header.Err);
        Assert.Equal(ErrorCode.Ok, (await watcher.ExistsAsync("/eph", watch: true)).Header.Err);

        // The doomed client goes silent (no pings); its connection drops too.
        doomed.Drop();

        var notification = await watcher.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.True(notification.IsNotification);
        Assert.Equal(new WatcherEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/eph"), notification.Read<WatcherEvent>());
        Assert.Equal(ErrorCode.NoNode, (await watcher.ExistsAsync("/eph")).Header.Err);
    }

    [Fact]
    public async Task Reconnect_RightPassword_KeepsSessionAndEphemerals()
    {
        await using var server = await TestServer.StartAsync();
        var first = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 10000);
        await first.CreateAsync("/mine", mode: CreateMode.Ephemeral);
        var (id, password) = (first.SessionId, first.Password);
        first.Drop();

        await using var second = await RawClient.OpenAsync(server.EndPoint);
        var response = await second.HandshakeAsync(10000, id, password, lastZxidSeen: 1);

        Assert.Equal(id, response.SessionId);
        Assert.True(response.TimeOutMs > 0);
        var stat = (await second.ExistsAsync("/mine")).Read<StatResponse>().Stat;
        Assert.Equal(id, stat.EphemeralOwner);
    }

    [Fact]
    public async Task Reconnect_WrongPassword_RefusedWithZeroTimeoutAndClosed()
    {
        await using var server = await TestServer.StartAsync();
        await using var first = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 10000);
        var wrong = (byte[])first.Password.Clone();
        wrong[0] ^= 0xff;

        await using var second = await RawClient.OpenAsync(server.EndPoint);
        var response = await second.HandshakeAsync(10000, first.SessionId, wrong);

        // ZooKeeper's finishSessionInit(valid = false).
        Assert.Equal(0, response.TimeOutMs);
        Assert.Equal(0, response.SessionId);
        Assert.True(await second.ClosedByServerAsync());
        Assert.Equal(ErrorCode.Ok, (await first.PingAsync()).Header.Err);
    }

    [Fact]
    public async Task Reconnect_AfterExpiry_GetsExpiredTreatment()
    {
        await using var server = await TestServer.StartAsync(o => o with { TickTimeMs = 50 });
        var first = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 100);
        var (id, password) = (first.SessionId, first.Password);
        first.Drop();
        await server.Logs.WaitForAsync(2002);

        await using var second = await RawClient.OpenAsync(server.EndPoint);
        var response = await second.HandshakeAsync(100, id, password);

        Assert.Equal(0, response.TimeOutMs);
        Assert.True(await second.ClosedByServerAsync());
    }

    [Fact]
    public async Task CloseSession_Request_RepliesThenClosesAndRemovesEphemerals()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await using var other = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/bye", mode: CreateMode.Ephemeral);

        var reply = await client.CallAsync(OpCode.CloseSession, null);

        Assert.Equal(ErrorCode.Ok, reply.Header.Err);
        Assert.True(await client.ClosedByServerAsync());
        Assert.Equal(ErrorCode.NoNode, (await other.ExistsAsync("/bye")).Header.Err);
    }

    [Fact]
    public async Task Reconnect_ClientAheadOfServer_Refused()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.OpenAsync(server.EndPoint);

        await client.SendFrameAsync(new ConnectRequest(0, 1_000_000, 10000, 0, new byte[16], false));

        Assert.True(await client.ClosedByServerAsync());
        Assert.Contains("0xf4240", await server.Logs.WaitForAsync(1010), StringComparison.Ordinal);
    }
}

/// <summary>Re-registration of watches after a reconnect, and shutdown with clients attached.</summary>
public sealed class ReconnectAndShutdownTests
{
    [Fact]
    public async Task SetWatches_AfterReconnect_MissedChangeDeliveredBeforeReply()
    {
        await using var server = await TestServer.StartAsync();
        var first = await RawClient.ConnectAsync(server.EndPoint, timeoutMs: 10000);
        var created = await first.CreateAsync("/sw", "0");
        await first.GetDataAsync("/sw", watch: true);
        var (id, password) = (first.SessionId, first.Password);
        first.Drop();
        await using (var other = await RawClient.ConnectAsync(server.EndPoint))
        {
            await other.SetDataAsync("/sw", "1");
        }

        await using var second = await RawClient.OpenAsync(server.EndPoint);
        await second.HandshakeAsync(10000, id, password);
        var xid = await second.SendAsync(OpCode.SetWatches, new SetWatches(created.Header.Zxid, ["/sw"], [], []), Xids.SetWatches);

        var firstFrame = await second.ReceiveAsync();
        Assert.True(firstFrame.IsNotification);
        Assert.Equal(new WatcherEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/sw"), firstFrame.Read<WatcherEvent>());
        Assert.Equal(xid, (await second.ReceiveAsync()).Header.Xid);
    }

    [Fact]
    public async Task Reconfig_Standalone_ReconfigDisabledAndConnectionStaysOpen()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        // reconfig body: joiningServers, leavingServers, newMembers (ustrings) and curConfigId (long).
        var xid = client.NextXid();
        var frame = new List<byte>();
        void Int(int v) => frame.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        Int(4 + 4 + 4 + 4 + 4 + 8);
        Int(xid);
        Int((int)OpCode.Reconfig);
        Int(-1);
        Int(-1);
        Int(-1);
        Int(-1);
        Int(-1);
        await client.SendRawAsync([.. frame]);

        var reply = await client.ReplyToAsync(xid);
        Assert.Equal(ErrorCode.ReconfigDisabled, reply.Header.Err);
        Assert.Equal(ErrorCode.Ok, (await client.PingAsync()).Header.Err);
    }

    [Fact]
    public async Task Dispose_WithConnectedClients_StopsAndClosesThem()
    {
        var server = await TestServer.StartAsync();
        var clients = new List<RawClient>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await RawClient.ConnectAsync(server.EndPoint));
        }

        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        foreach (var client in clients)
        {
            Assert.True(await client.ClosedByServerAsync());
            await client.DisposeAsync();
        }
    }
}
