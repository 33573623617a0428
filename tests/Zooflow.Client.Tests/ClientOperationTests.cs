using System.Text;
using Xunit;
using Zooflow.Client.Tests.Infrastructure;
using Zooflow.Jute;

namespace Zooflow.Client.Tests;

/// <summary>
/// Every client operation against a real server (Apache ZooKeeper 3.8, and Zooflow when built). Expectations follow the
/// ZooKeeper Programmer's Guide and the Java client's behaviour on 3.8.
/// </summary>
public sealed class ClientOperationTests(ServerPool pool)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Crud_BasicOperations_ReturnDataStatAndErrorCodes(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);

        Assert.Equal("/a", await zk.CreateAsync("/a", B("one"), cancellationToken: Ct));
        var (data, stat) = await zk.GetDataAsync("/a", cancellationToken: Ct);
        Assert.Equal("one", Encoding.UTF8.GetString(data));
        Assert.Equal(0, stat.Version);
        Assert.Equal(3, stat.DataLength);
        Assert.Equal(0L, stat.EphemeralOwner);

        var stat2 = await zk.SetDataAsync("/a", B("two"), 0, Ct);
        Assert.Equal(1, stat2.Version);
        var bad = await Assert.ThrowsAsync<KeeperException>(() => zk.SetDataAsync("/a", B("x"), 0, Ct));
        Assert.Equal(ErrorCode.BadVersion, bad.Code);
        Assert.Equal("/a", bad.Path);
        Assert.Equal("KeeperErrorCode = BadVersion for /a", bad.Message);

        Assert.Equal(ErrorCode.NodeExists, (await Assert.ThrowsAsync<KeeperException>(() => zk.CreateAsync("/a", null, cancellationToken: Ct))).Code);
        Assert.Equal(ErrorCode.NoNode, (await Assert.ThrowsAsync<KeeperException>(() => zk.CreateAsync("/x/y", null, cancellationToken: Ct))).Code);
        Assert.Equal(ErrorCode.NoNode, (await Assert.ThrowsAsync<KeeperException>(() => zk.GetDataAsync("/nope", cancellationToken: Ct))).Code);

        await zk.CreateAsync("/a/c1", null, cancellationToken: Ct);
        await zk.CreateAsync("/a/c2", null, cancellationToken: Ct);
        var children = await zk.GetChildrenAsync("/a", cancellationToken: Ct);
        Assert.Equal(["c1", "c2"], children.Order(StringComparer.Ordinal));
        var (children2, parentStat) = await zk.GetChildrenWithStatAsync("/a", cancellationToken: Ct);
        Assert.Equal(2, children2.Count);
        Assert.Equal(2, parentStat.NumChildren);
        Assert.Equal(2, parentStat.Cversion);

        Assert.Equal(ErrorCode.NotEmpty, (await Assert.ThrowsAsync<KeeperException>(() => zk.DeleteAsync("/a", -1, Ct))).Code);
        await zk.DeleteAsync("/a/c1", 0, Ct);
        Assert.Null(await zk.ExistsAsync("/a/c1", cancellationToken: Ct));
        Assert.NotNull(await zk.ExistsAsync("/a/c2", cancellationToken: Ct));
        Assert.Equal(2, await zk.GetAllChildrenNumberAsync("/", Ct)); // /a and /a/c2
        Assert.Equal("/a", await zk.SyncAsync("/a", Ct));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Create_EveryMode_NamesOwnersAndStatsAsZooKeeper(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);

        var (path, stat) = await zk.CreateWithStatAsync("/e", B("x"), mode: CreateMode.Ephemeral, cancellationToken: Ct);
        Assert.Equal("/e", path);
        Assert.Equal(zk.SessionId, stat.EphemeralOwner);
        Assert.Equal(stat.Czxid, stat.Mzxid);

        var s1 = await zk.CreateAsync("/s-", null, mode: CreateMode.PersistentSequential, cancellationToken: Ct);
        var s2 = await zk.CreateAsync("/s-", null, mode: CreateMode.EphemeralSequential, cancellationToken: Ct);
        Assert.Matches("^/s-[0-9]{10}$", s1);
        Assert.True(string.CompareOrdinal(s1, s2) < 0);

        var container = await zk.CreateWithStatAsync("/c", null, mode: CreateMode.Container, cancellationToken: Ct);
        Assert.Equal(0L, container.Stat.EphemeralOwner);

        var ttl = await zk.CreateWithStatAsync("/ttl", null, mode: CreateMode.PersistentWithTtl, ttl: TimeSpan.FromMinutes(5), cancellationToken: Ct);
        Assert.Equal("/ttl", ttl.Path);
        Assert.Equal(0L, ttl.Stat.EphemeralOwner);

        Assert.Equal(ErrorCode.NoChildrenForEphemerals,
            (await Assert.ThrowsAsync<KeeperException>(() => zk.CreateAsync("/e/child", null, cancellationToken: Ct))).Code);

        var ephemerals = await zk.GetEphemeralsAsync("/", Ct);
        Assert.Equal(["/e", s2], ephemerals.Order(StringComparer.Ordinal));
        Assert.Equal([s2], await zk.GetEphemeralsAsync("/s", Ct));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Multi_AllOrNothing_ResultsAndFirstErrorReported(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);

        var results = await zk.MultiAsync(
        [
            Op.Create("/m", B("1")),
            Op.Create("/m/k", null),
            Op.SetData("/m", B("2"), 0),
            Op.Check("/m", 1),
            Op.Delete("/m/k", 0),
        ], Ct);
        Assert.Equal(5, results.Count);
        Assert.Equal("/m", Assert.IsType<CreateResult>(results[0]).Path);
        Assert.Equal(1, Assert.IsType<SetDataResult>(results[2]).Stat.Version);
        Assert.IsType<CheckResult>(results[3]);
        Assert.IsType<DeleteResult>(results[4]);

        var failed = await Assert.ThrowsAsync<KeeperException>(() => zk.MultiAsync(
        [
            Op.Create("/n", null),
            Op.Check("/m", 7),
            Op.Delete("/m", -1),
        ], Ct));
        Assert.Equal(ErrorCode.BadVersion, failed.Code);
        Assert.Equal("/m", failed.Path);
        Assert.NotNull(failed.Results);
        Assert.Equal(3, failed.Results!.Count);
        Assert.All(failed.Results, r => Assert.IsType<ErrorResult>(r));
        Assert.Equal(ErrorCode.BadVersion, ((ErrorResult)failed.Results[1]).Code);
        Assert.Null(await zk.ExistsAsync("/n", cancellationToken: Ct));

        var reads = await zk.MultiReadAsync([Op.GetData("/m"), Op.GetChildren("/m"), Op.GetData("/missing")], Ct);
        Assert.Equal("2", Encoding.UTF8.GetString(Assert.IsType<GetDataResult>(reads[0]).Data));
        Assert.Empty(Assert.IsType<GetChildrenResult>(reads[1]).Children);
        Assert.Equal(ErrorCode.NoNode, Assert.IsType<ErrorResult>(reads[2]).Code);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task DigestAuth_AclProtectsNode_OthersGetNoAuth(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var owner = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await owner.AddAuthAsync("digest", DigestAuth.AuthBytes("alice", "secret"), Ct);
        await owner.CreateAsync("/private", B("s"), Acl.CreatorAllAcl, cancellationToken: Ct);

        var (acl, _) = await owner.GetAclAsync("/private", Ct);
        var entry = Assert.Single(acl);
        Assert.Equal("digest", entry.Id.Scheme);
        Assert.Equal(DigestAuth.Digest("alice", "secret"), entry.Id.Ident);
        Assert.Equal(Perms.All, entry.Perms);
        Assert.Contains(await owner.WhoAmIAsync(Ct), c => c.AuthScheme == "digest" && c.User == "alice");

        await using var other = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        Assert.Equal(ErrorCode.NoAuth, (await Assert.ThrowsAsync<KeeperException>(() => other.GetDataAsync("/private", cancellationToken: Ct))).Code);
        await other.AddAuthAsync("digest", DigestAuth.AuthBytes("alice", "secret"), Ct);
        Assert.Equal("s", Encoding.UTF8.GetString((await other.GetDataAsync("/private", cancellationToken: Ct)).Data));

        var newStat = await owner.SetAclAsync("/private", [DigestAuth.Acl("alice", "secret", Perms.Read)], 0, Ct);
        Assert.Equal(1, newStat.Aversion);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Watches_OneTime_FireOnceInOrder(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var writer = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var sink = new EventSink();

        Assert.Null(await zk.ExistsAsync("/w", sink.Watcher, Ct));
        await writer.CreateAsync("/w", null, cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/w"), await sink.NextNodeEventAsync());

        await zk.GetDataAsync("/w", sink.Watcher, Ct);
        await zk.GetChildrenAsync("/w", sink.Watcher, Ct);
        await writer.SetDataAsync("/w", B("1"), cancellationToken: Ct);
        await writer.SetDataAsync("/w", B("2"), cancellationToken: Ct); // one-time: no second data event
        await writer.CreateAsync("/w/c", null, cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/w"), await sink.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, "/w"), await sink.NextNodeEventAsync());

        // Default watcher through the event stream.
        await zk.GetDataAsync("/w/c", watch: true, Ct);
        await writer.DeleteAsync("/w/c", cancellationToken: Ct);
        await foreach (var e in zk.Events.WithCancellation(Ct))
        {
            if (e.Type == EventType.None)
            {
                continue;
            }

            Assert.Equal(new WatchedEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/w/c"), e);
            break;
        }

        Assert.False(sink.TryRead(out var extra) && extra!.Type != EventType.None, "unexpected event " + extra);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task WatchEvent_BeforeReplyOfLaterRead_CallbackRunsFirst(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await zk.CreateAsync("/o", B("0"), cancellationToken: Ct);
        var seen = 0;
        await zk.GetDataAsync("/o", _ =>
        {
            Thread.Sleep(200); // a slow watcher: the next reply must still wait for it
            Volatile.Write(ref seen, 1);
        }, Ct);
        await zk.SetDataAsync("/o", B("1"), cancellationToken: Ct);
        await zk.GetDataAsync("/o", cancellationToken: Ct);
        Assert.Equal(1, Volatile.Read(ref seen));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task AddWatch_PersistentRecursive_FiresForSubtreeUntilRemoved(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await zk.CreateAsync("/p", null, cancellationToken: Ct);
        await zk.CreateAsync("/q", null, cancellationToken: Ct);
        var recursive = new EventSink();
        var persistent = new EventSink();
        // One watch mode per (session, path) on the server, so the two kinds go on different paths.
        await zk.AddWatchAsync("/p", AddWatchMode.PersistentRecursive, recursive.Watcher, Ct);
        await zk.AddWatchAsync("/q", AddWatchMode.Persistent, persistent.Watcher, Ct);

        await zk.CreateAsync("/p/a", null, cancellationToken: Ct);
        await zk.CreateAsync("/p/a/b", null, cancellationToken: Ct);
        await zk.SetDataAsync("/p/a/b", B("x"), cancellationToken: Ct);
        await zk.SetDataAsync("/p", B("y"), cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/p/a"), await recursive.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/p/a/b"), await recursive.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/p/a/b"), await recursive.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/p"), await recursive.NextNodeEventAsync());

        await zk.CreateAsync("/q/a", null, cancellationToken: Ct);
        await zk.CreateAsync("/q/a/b", null, cancellationToken: Ct); // not a child of /q: no event for a persistent watch
        await zk.SetDataAsync("/q", B("y"), cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, "/q"), await persistent.NextNodeEventAsync());
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/q"), await persistent.NextNodeEventAsync());

        await zk.RemoveWatchesAsync("/p", WatcherType.Any, recursive.Watcher, cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.PersistentWatchRemoved, KeeperState.SyncConnected, "/p"), await recursive.NextNodeEventAsync());
        await zk.SetDataAsync("/p", B("z"), cancellationToken: Ct);
        await zk.SetDataAsync("/q", B("z"), cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/q"), await persistent.NextNodeEventAsync());
        Assert.False(recursive.TryRead(out _));

        var noWatcher = await Assert.ThrowsAsync<KeeperException>(() => zk.RemoveWatchesAsync("/p", WatcherType.Children, recursive.Watcher, cancellationToken: Ct));
        Assert.Equal(ErrorCode.NoWatcher, noWatcher.Code);

        var data = new EventSink();
        await zk.GetDataAsync("/p", data.Watcher, Ct);
        await zk.RemoveWatchesAsync("/p", WatcherType.Data, cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.DataWatchRemoved, KeeperState.SyncConnected, "/p"), await data.NextNodeEventAsync());
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Pipelining_ThousandsInFlight_AllCompleteInSubmissionOrder(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await zk.CreateAsync("/q", null, cancellationToken: Ct);
        var creates = Enumerable.Range(0, 2000)
            .Select(i => zk.CreateAsync("/q/n-", B(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), mode: CreateMode.PersistentSequential, cancellationToken: Ct))
            .ToArray();
        var paths = await Task.WhenAll(creates).WithinAsync();
        // FIFO client order: the server assigned sequence numbers in submission order.
        Assert.Equal(paths.Order(StringComparer.Ordinal), paths);
        Assert.Equal(2000, (await zk.GetChildrenWithStatAsync("/q", cancellationToken: Ct)).Stat.NumChildren);
        var reads = await Task.WhenAll(paths.Take(500).Select(p => zk.GetDataAsync(p, cancellationToken: Ct))).WithinAsync();
        Assert.Equal("499", Encoding.UTF8.GetString(reads[499].Data));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Cancellation_TokenCancelled_CallThrowsAndClientStaysUsable(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => zk.CreateAsync("/never", null, cancellationToken: cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => zk.ExistsAsync("/x", watch: false, cancelled.Token));
        Assert.Null(await zk.ExistsAsync("/never", cancellationToken: Ct));
        Assert.Equal("/ok", await zk.CreateAsync("/ok", null, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Chroot_PathsEventsAndResults_AreRelative(ServerKind kind)
    {
        var (server, connect, root) = await pool.NewRootAsync(kind);
        await using var plain = await ZooKeeperClient.ConnectAsync(server.ConnectString, cancellationToken: Ct);
        await using var rooted = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var sink = new EventSink();
        Assert.Null(await rooted.ExistsAsync("/r", sink.Watcher, Ct));
        await plain.CreateAsync(root + "/r", B("v"), cancellationToken: Ct);
        Assert.Equal(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/r"), await sink.NextNodeEventAsync());
        Assert.Equal("/r/s-0000000000", await rooted.CreateAsync("/r/s-", null, mode: CreateMode.EphemeralSequential, cancellationToken: Ct));
        Assert.Equal(["/r/s-0000000000"], await rooted.GetEphemeralsAsync("/", Ct));
        Assert.Equal(["r"], await rooted.GetChildrenAsync("/", cancellationToken: Ct));
        var multi = await rooted.MultiAsync([Op.Create("/m", null)], Ct);
        Assert.Equal("/m", Assert.IsType<CreateResult>(multi[0]).Path);
        Assert.NotNull(await plain.ExistsAsync(root + "/m", cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task ConnectString_SeveralHostsOneDead_ConnectsToTheLiveOne(ServerKind kind)
    {
        var (server, _, root) = await pool.NewRootAsync(kind);
        var dead = "127.0.0.1:" + TestServer.FreePort();
        for (var seed = 0; seed < 3; seed++)
        {
            var options = new ZooKeeperClientOptions { Random = new Random(seed), SessionTimeout = TimeSpan.FromSeconds(6) };
            await using var zk = await ZooKeeperClient.ConnectAsync($"{dead},{server.ConnectString},{dead}{root}", options, Ct);
            Assert.Equal(ConnectionState.Connected, zk.State);
            Assert.NotEqual(0L, zk.SessionId);
            Assert.Empty(await zk.GetChildrenAsync("/", cancellationToken: Ct));
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Close_Session_EphemeralsGoneAtOnceAndCallsFail(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var observer = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await zk.CreateAsync("/eph", null, mode: CreateMode.Ephemeral, cancellationToken: Ct);
        var sink = new EventSink();
        Assert.NotNull(await observer.ExistsAsync("/eph", sink.Watcher, Ct));
        await zk.CloseAsync(Ct);
        Assert.Equal(ConnectionState.Closed, zk.State);
        Assert.Equal(new WatchedEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/eph"), await sink.NextNodeEventAsync());
        Assert.Equal(ErrorCode.ConnectionLoss, (await Assert.ThrowsAsync<KeeperException>(() => zk.ExistsAsync("/", cancellationToken: Ct))).Code);
    }
}
