using System.Text;
using Xunit;
using Zooflow.Client.Tests.Infrastructure;
using Zooflow.Jute;
using Zooflow.TestKit;

namespace Zooflow.Client.Tests;

/// <summary>
/// Connection loss versus session expiry through a TCP fault proxy, as the ZooKeeper Programmer's Guide describes them:
/// a broken connection fails requests in flight with ConnectionLoss while the session lives on and its watches are
/// re-registered; a session the server expired is gone with its ephemerals, and the client says so.
/// </summary>
public sealed class ReconnectTests(ServerPool pool)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task WaitStateAsync(EventSink sink, KeeperState state)
    {
        while (true)
        {
            var e = await sink.NextAsync();
            if (e.Type == EventType.None && e.State == state)
            {
                return;
            }
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task ConnectionDropped_InFlightFailWithConnectionLoss_SessionSurvivesAndWatchesFire(ServerKind kind)
    {
        var (server, _, root) = await pool.NewRootAsync(kind);
        await using var proxy = new FaultProxy(server.Port);
        var states = new EventSink();
        var options = new ZooKeeperClientOptions { SessionTimeout = TimeSpan.FromSeconds(8), DefaultWatcher = states.Watcher };
        await using var zk = await ZooKeeperClient.ConnectAsync(proxy.ConnectString + root, options, Ct);
        await using var other = await ZooKeeperClient.ConnectAsync(server.ConnectString + root, cancellationToken: Ct);
        var sessionId = zk.SessionId;
        await zk.CreateAsync("/w", Encoding.UTF8.GetBytes("0"), cancellationToken: Ct);
        await zk.CreateAsync("/eph", null, mode: CreateMode.Ephemeral, cancellationToken: Ct);
        var dataWatch = new EventSink();
        var childWatch = new EventSink();
        var existWatch = new EventSink();
        await zk.GetDataAsync("/w", dataWatch.Watcher, Ct);
        await zk.GetChildrenAsync("/w", childWatch.Watcher, Ct);
        Assert.Null(await zk.ExistsAsync("/later", existWatch.Watcher, Ct));

        // Requests stuck in the proxy are provably in flight: they never reach the server.
        proxy.HoldClientBytes();
        var inFlight = Enumerable.Range(0, 20).Select(i => zk.CreateAsync($"/lost-{i}", null, cancellationToken: Ct)).ToArray();
        proxy.Block();
        proxy.ReleaseClientBytes();
        foreach (var task in inFlight)
        {
            var e = await Assert.ThrowsAsync<KeeperException>(() => task.WaitAsync(TimeSpan.FromSeconds(20), Ct));
            Assert.Equal(ErrorCode.ConnectionLoss, e.Code);
        }

        await WaitStateAsync(states, KeeperState.Disconnected);
        Assert.Equal(KeeperState.Disconnected, (await dataWatch.NextAsync()).State);

        // Changes while the client is away fire its watches once it is back (setWatches with its last zxid).
        await other.SetDataAsync("/w", Encoding.UTF8.GetBytes("1"), cancellationToken: Ct);
        await other.CreateAsync("/w/child", null, cancellationToken: Ct);
        await other.CreateAsync("/later", null, cancellationToken: Ct);
        proxy.Unblock();
        await WaitStateAsync(states, KeeperState.SyncConnected);
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/w"), await dataWatch.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, "/w"), await childWatch.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/later"), await existWatch.NextNodeEventAsync());

        Assert.Equal(sessionId, zk.SessionId);
        Assert.Equal(ConnectionState.Connected, zk.State);
        Assert.NotNull(await other.ExistsAsync("/eph", cancellationToken: Ct));
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(await other.ExistsAsync($"/lost-{i}", cancellationToken: Ct));
        }

        Assert.Equal("/after", await zk.CreateAsync("/after", null, cancellationToken: Ct));
        Assert.True(proxy.AcceptedCount >= 2);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task MultiCutMidway_ConnectionLoss_NothingApplied(ServerKind kind)
    {
        var (server, _, root) = await pool.NewRootAsync(kind);
        await using var proxy = new FaultProxy(server.Port);
        await using var zk = await ZooKeeperClient.ConnectAsync(proxy.ConnectString + root, cancellationToken: Ct);
        proxy.HoldClientBytes();
        var multi = zk.MultiAsync([Op.Create("/m1", null), Op.Create("/m2", null), Op.Create("/m1/x", null)], Ct);
        proxy.DropAll();
        proxy.ReleaseClientBytes();
        var e = await Assert.ThrowsAsync<KeeperException>(() => multi.WaitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.Equal(ErrorCode.ConnectionLoss, e.Code);
        // The client reconnects on its own; the same session sees nothing of the multi.
        Assert.Null(await zk.ExistsAsync("/m1", cancellationToken: Ct).WithinAsync());
        Assert.Null(await zk.ExistsAsync("/m2", cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task ProxyDownLongerThanTimeout_SessionExpired_EphemeralsGoneAndClientDead(ServerKind kind)
    {
        var (server, _, root) = await pool.NewRootAsync(kind);
        await using var proxy = new FaultProxy(server.Port);
        var states = new EventSink();
        var options = new ZooKeeperClientOptions { SessionTimeout = TimeSpan.FromSeconds(2), DefaultWatcher = states.Watcher };
        await using var zk = await ZooKeeperClient.ConnectAsync(proxy.ConnectString + root, options, Ct);
        await using var observer = await ZooKeeperClient.ConnectAsync(server.ConnectString + root, cancellationToken: Ct);
        var expiredSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        zk.StateChanged += s =>
        {
            if (s == ConnectionState.Expired)
            {
                expiredSeen.TrySetResult();
            }
        };
        await zk.CreateAsync("/eph", null, mode: CreateMode.Ephemeral, cancellationToken: Ct);
        var gone = new EventSink();
        Assert.NotNull(await observer.ExistsAsync("/eph", gone.Watcher, Ct));

        proxy.Block();
        // The server expires the session (no pings arrive): its ephemeral goes.
        Assert.Equal(new WatchedEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/eph"), await gone.NextNodeEventAsync(TimeSpan.FromSeconds(30)));
        proxy.Unblock();

        await expiredSeen.Task.WithinAsync();
        await WaitStateAsync(states, KeeperState.Expired);
        Assert.Equal(ConnectionState.Expired, zk.State);
        var e = await Assert.ThrowsAsync<KeeperException>(() => zk.GetDataAsync("/", cancellationToken: Ct));
        Assert.Equal(ErrorCode.SessionExpired, e.Code);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task AuthAfterReconnect_CredentialsResent_AclStillSatisfied(ServerKind kind)
    {
        var (server, _, root) = await pool.NewRootAsync(kind);
        await using var proxy = new FaultProxy(server.Port);
        await using var zk = await ZooKeeperClient.ConnectAsync(proxy.ConnectString + root, cancellationToken: Ct);
        await zk.AddAuthAsync("digest", DigestAuth.AuthBytes("bob", "pw"), Ct);
        await zk.CreateAsync("/mine", Encoding.UTF8.GetBytes("x"), Acl.CreatorAllAcl, cancellationToken: Ct);
        proxy.DropAll();
        var data = await RetryOnConnectionLossAsync(() => zk.GetDataAsync("/mine", cancellationToken: Ct));
        Assert.Equal("x", Encoding.UTF8.GetString(data.Data));
        Assert.True(proxy.AcceptedCount >= 2);
    }

    private static async Task<T> RetryOnConnectionLossAsync<T>(Func<Task<T>> action)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await action().WithinAsync();
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss && attempt < 50)
            {
                await Task.Delay(100, Ct);
            }
        }
    }
}
