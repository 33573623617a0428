using System.Collections.Concurrent;
using System.Text;
using Xunit;
using Zooflow.Client.Tests.Infrastructure;
using Zooflow.Recipes;
using Zooflow.TestKit;

namespace Zooflow.Client.Tests;

/// <summary>
/// The recipes against real servers, with the behaviour documented by ZooKeeper's recipes page and Curator: mutual
/// exclusion and fairness, loss on session expiry, failover, barriers, FIFO queues, CAS counters, caches, discovery.
/// </summary>
public sealed class RecipeTests(ServerPool pool)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<ZooKeeperClient[]> ClientsAsync(string connect, int count)
    {
        var clients = new ZooKeeperClient[count];
        for (var i = 0; i < count; i++)
        {
            clients[i] = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        }

        return clients;
    }

    private static async Task DisposeAllAsync(IEnumerable<ZooKeeperClient> clients)
    {
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Lock_SeveralClients_NeverTwoHoldersAtOnce(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 4);
        try
        {
            var inside = 0;
            var maxInside = 0;
            var total = 0;
            await Task.WhenAll(clients.Select(async client =>
            {
                var mutex = new DistributedLock(client, "/locks/m");
                for (var i = 0; i < 5; i++)
                {
                    await using var handle = await mutex.AcquireAsync(Ct);
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref maxInside, now);
                    await Task.Yield();
                    Interlocked.Increment(ref total);
                    Interlocked.Decrement(ref inside);
                }
            })).WithinAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(1, maxInside);
            Assert.Equal(20, total);
            Assert.Empty(await clients[0].GetChildrenAsync("/locks/m", cancellationToken: Ct));
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Lock_Waiters_GrantedInArrivalOrderEachWatchingOnlyItsPredecessor(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 4);
        try
        {
            var holder = await new DistributedLock(clients[0], "/l").AcquireAsync(Ct);
            var order = new ConcurrentQueue<int>();
            var waiters = new List<Task>();
            for (var i = 1; i < 4; i++)
            {
                var id = i;
                waiters.Add(Task.Run(async () =>
                {
                    await using var h = await new DistributedLock(clients[id], "/l").AcquireAsync(Ct);
                    order.Enqueue(id);
                }, Ct));
                // Each waiter has queued (its node exists) before the next one starts.
                await TestWait.UntilAsync(async () => (await clients[0].GetChildrenAsync("/l", cancellationToken: Ct)).Count == id + 1,
                    TimeSpan.FromSeconds(20), $"waiter {id} queued");
            }

            Assert.Empty(order);
            await holder.DisposeAsync();
            await Task.WhenAll(waiters).WithinAsync();
            Assert.Equal([1, 2, 3], order.ToArray());
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Lock_HolderSessionExpires_HolderToldAndWaiterAcquires(ServerKind kind)
    {
        var (server, connect, root) = await pool.NewRootAsync(kind);
        await using var proxy = new FaultProxy(server.Port);
        await using var holderClient = await ZooKeeperClient.ConnectAsync(proxy.ConnectString + root,
            new ZooKeeperClientOptions { SessionTimeout = TimeSpan.FromSeconds(2) }, Ct);
        await using var waiterClient = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var handle = await new DistributedLock(holderClient, "/lock").AcquireAsync(Ct);
        Assert.False(handle.IsLost);
        var waiter = new DistributedLock(waiterClient, "/lock").AcquireAsync(Ct);
        Assert.False(waiter.IsCompleted);

        proxy.Block();
        await using var next = await waiter.WithinAsync(TimeSpan.FromSeconds(30));
        Assert.False(next.IsLost);
        proxy.Unblock();
        var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = handle.Lost.Register(() => told.TrySetResult());
        await told.Task.WithinAsync();
        Assert.True(handle.IsLost);
        Assert.Equal(ConnectionState.Expired, holderClient.State);
        await handle.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task ReadWriteLock_ReadersShareWriterExcludes(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 3);
        try
        {
            var r1 = await new DistributedReadWriteLock(clients[0], "/rw").AcquireReadAsync(Ct);
            var r2 = await new DistributedReadWriteLock(clients[1], "/rw").AcquireReadAsync(Ct).WithinAsync();
            Assert.Null(await new DistributedReadWriteLock(clients[2], "/rw").TryAcquireWriteAsync(TimeSpan.FromMilliseconds(300), Ct));
            var writer = new DistributedReadWriteLock(clients[2], "/rw").AcquireWriteAsync(Ct);
            await r1.DisposeAsync();
            Assert.False(writer.IsCompleted);
            await r2.DisposeAsync();
            await using var w = await writer.WithinAsync();
            Assert.False(w.IsLost);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task DeleteRecursive_WideAndDeepTree_RemovesEverything(ServerKind kind)
    {
        // More siblings than ZkPaths deletes at once, each with a child, so batching and recursion both run.
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await client.CreateAsync("/tree", null, cancellationToken: Ct);
        var creates = new List<Task<string>>();
        for (var i = 0; i < 600; i++)
        {
            creates.Add(client.CreateAsync($"/tree/n{i}", null, cancellationToken: Ct));
        }
        await Task.WhenAll(creates);
        await Task.WhenAll(Enumerable.Range(0, 600).Select(i => client.CreateAsync($"/tree/n{i}/leaf", "x"u8.ToArray(), cancellationToken: Ct)));

        await client.DeleteRecursiveAsync("/tree", Ct);

        Assert.Null(await client.ExistsAsync("/tree", cancellationToken: Ct));
        await client.DeleteRecursiveAsync("/tree", Ct); // a missing subtree is fine
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Semaphore_TwoLeases_ThirdWaitsForARelease(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 3);
        try
        {
            var a = await new DistributedSemaphore(clients[0], "/sem", 2).AcquireAsync(Ct);
            var b = await new DistributedSemaphore(clients[1], "/sem", 2).AcquireAsync(Ct).WithinAsync();
            var third = new DistributedSemaphore(clients[2], "/sem", 2);
            Assert.Null(await third.TryAcquireAsync(TimeSpan.FromMilliseconds(300), Ct));
            var waiting = third.AcquireAsync(Ct);
            await a.DisposeAsync();
            await using var c = await waiting.WithinAsync();
            Assert.False(c.IsLost);
            await b.DisposeAsync();
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task LeaderLatch_LeaderLeaves_NextParticipantTakesOver(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var first = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var second = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var latch1 = new LeaderLatch(first, "/election", "one");
        await using var latch2 = new LeaderLatch(second, "/election", "two");
        await latch1.StartAsync(Ct);
        await latch1.AwaitLeadershipAsync(Ct).WithinAsync();
        await latch2.StartAsync(Ct);
        Assert.Equal(["one", "two"], await latch2.GetParticipantsAsync(Ct));
        Assert.True(latch1.HasLeadership);
        Assert.False(latch2.HasLeadership);

        // The leader's process dies: its session closes and its node goes.
        await first.CloseAsync(Ct);
        await latch2.AwaitLeadershipAsync(Ct).WithinAsync();
        Assert.True(latch2.HasLeadership);
        Assert.False(latch1.HasLeadership);
        await latch1.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task LeaderElection_RunAsync_OneLeaderAtATimeInTurn(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 3);
        try
        {
            var leaders = new ConcurrentQueue<int>();
            var active = 0;
            var overlap = false;
            await Task.WhenAll(clients.Select((c, i) => new LeaderElection(c, "/el").RunAsync(async token =>
            {
                if (Interlocked.Increment(ref active) > 1)
                {
                    overlap = true;
                }

                leaders.Enqueue(i);
                await Task.Delay(20, token);
                Interlocked.Decrement(ref active);
            }, Ct))).WithinAsync();
            Assert.False(overlap);
            Assert.Equal([0, 1, 2], leaders.Order());
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Barrier_WaitersReleasedWhenRemoved_DoubleBarrierEntersAndLeavesTogether(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 3);
        try
        {
            var barrier = new DistributedBarrier(clients[0], "/b/gate");
            await barrier.SetBarrierAsync(Ct);
            var waiting = new DistributedBarrier(clients[1], "/b/gate").WaitOnBarrierAsync(Ct);
            await Task.Delay(200, Ct);
            Assert.False(waiting.IsCompleted);
            await barrier.RemoveBarrierAsync(Ct);
            await waiting.WithinAsync();

            var entered = 0;
            var enters = clients.Select(async c =>
            {
                var db = new DistributedDoubleBarrier(c, "/db", 3);
                await db.EnterAsync(Ct);
                Interlocked.Increment(ref entered);
                return db;
            }).ToList();
            var members = await Task.WhenAll(enters).WithinAsync();
            Assert.Equal(3, entered);
            await Task.WhenAll(members.Select(m => m.LeaveAsync(Ct))).WithinAsync();
            Assert.DoesNotContain(await clients[0].GetChildrenAsync("/db", cancellationToken: Ct), c => c != "ready");
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Queue_OfferedItems_TakenOnceInFifoOrder(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 3);
        try
        {
            var producer = new DistributedQueue(clients[0], "/q");
            for (var i = 0; i < 10; i++)
            {
                await producer.OfferAsync(Encoding.UTF8.GetBytes("item-" + i), Ct);
            }

            Assert.Equal(10, await producer.CountAsync(Ct));
            Assert.Equal("item-0", Encoding.UTF8.GetString((await producer.PeekAsync(Ct))!));
            var taken = new List<string>();
            var consumer = new DistributedQueue(clients[1], "/q");
            for (var i = 0; i < 10; i++)
            {
                taken.Add(Encoding.UTF8.GetString(await consumer.TakeAsync(Ct).WithinAsync()));
            }

            Assert.Equal(Enumerable.Range(0, 10).Select(i => "item-" + i), taken);
            Assert.Null(await consumer.PollAsync(Ct));

            // Two competing consumers: each item exactly once.
            var c1 = new DistributedQueue(clients[1], "/q");
            var c2 = new DistributedQueue(clients[2], "/q");
            var pending = new[] { c1.TakeAsync(Ct), c2.TakeAsync(Ct) };
            await producer.OfferAsync(Encoding.UTF8.GetBytes("x"), Ct);
            await producer.OfferAsync(Encoding.UTF8.GetBytes("y"), Ct);
            var got = (await Task.WhenAll(pending).WithinAsync()).Select(Encoding.UTF8.GetString).Order().ToArray();
            Assert.Equal(["x", "y"], got);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task Counter_ConcurrentIncrements_NoneLost(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        var clients = await ClientsAsync(connect, 4);
        try
        {
            await Task.WhenAll(clients.Select(async c =>
            {
                var counter = new DistributedCounter(c, "/counters/hits");
                for (var i = 0; i < 25; i++)
                {
                    await counter.IncrementAsync(Ct);
                }
            })).WithinAsync(TimeSpan.FromSeconds(60));
            var check = new DistributedCounter(clients[0], "/counters/hits");
            var (value, version) = await check.GetAsync(Ct);
            Assert.Equal(100L, value);
            Assert.False(await check.TrySetAsync(version - 1, 7, Ct));
            Assert.True(await check.CompareAndSetAsync(100, 7, Ct));
            Assert.False(await check.CompareAndSetAsync(100, 8, Ct));
            Assert.Equal(7L, (await check.GetAsync(Ct)).Value);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task NodeCache_FollowsCreateUpdateDelete(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var writer = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var cache = new NodeCache(zk, "/cfg");
        var changes = System.Threading.Channels.Channel.CreateUnbounded<ChildData?>();
        cache.Changed += d => changes.Writer.TryWrite(d);
        await cache.StartAsync(Ct);
        Assert.Null(cache.Current);

        await writer.CreateAsync("/cfg", Encoding.UTF8.GetBytes("v1"), cancellationToken: Ct);
        Assert.Equal("v1", Encoding.UTF8.GetString((await changes.Reader.ReadAsync(Ct).AsTask().WithinAsync())!.Data));
        await writer.SetDataAsync("/cfg", Encoding.UTF8.GetBytes("v2"), cancellationToken: Ct);
        Assert.Equal("v2", Encoding.UTF8.GetString((await changes.Reader.ReadAsync(Ct).AsTask().WithinAsync())!.Data));
        await writer.DeleteAsync("/cfg", cancellationToken: Ct);
        Assert.Null(await changes.Reader.ReadAsync(Ct).AsTask().WithinAsync());
        Assert.Null(cache.Current);
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task TreeCache_MirrorsSubtreeAndRaisesEvents(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var zk = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var writer = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await writer.CreateAsync("/tree", null, cancellationToken: Ct);
        await writer.CreateAsync("/tree/a", Encoding.UTF8.GetBytes("1"), cancellationToken: Ct);
        await using var cache = new TreeCache(zk, "/tree");
        var events = System.Threading.Channels.Channel.CreateUnbounded<TreeCacheEvent>();
        cache.Changed += e => events.Writer.TryWrite(e);
        await cache.StartAsync(Ct);

        async Task<TreeCacheEvent> NextAsync() => await events.Reader.ReadAsync(Ct).AsTask().WithinAsync();
        Assert.Equal((TreeCacheEventType.Added, "/tree"), ((await NextAsync()).Type, (await Task.FromResult(cache.Get("/tree")))!.Path));
        Assert.Equal((TreeCacheEventType.Added, "/tree/a"), (await NextAsync()) is var e1 ? (e1.Type, e1.Path) : default);
        Assert.Equal(TreeCacheEventType.Initialized, (await NextAsync()).Type);

        await writer.CreateAsync("/tree/a/b", Encoding.UTF8.GetBytes("2"), cancellationToken: Ct);
        var added = await NextAsync();
        Assert.Equal((TreeCacheEventType.Added, "/tree/a/b"), (added.Type, added.Path));
        await writer.SetDataAsync("/tree/a", Encoding.UTF8.GetBytes("3"), cancellationToken: Ct);
        var updated = await NextAsync();
        Assert.Equal((TreeCacheEventType.Updated, "/tree/a"), (updated.Type, updated.Path));
        Assert.Equal("3", Encoding.UTF8.GetString(updated.Data!.Data));
        await writer.DeleteAsync("/tree/a/b", cancellationToken: Ct);
        var removed = await NextAsync();
        Assert.Equal((TreeCacheEventType.Removed, "/tree/a/b"), (removed.Type, removed.Path));
        Assert.Equal(["/tree", "/tree/a"], cache.Current.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ServerPool.Kinds), MemberType = typeof(ServerPool))]
    public async Task ServiceDiscovery_InstancesRegisterAndVanishWithTheirSession(ServerKind kind)
    {
        var (_, connect, _) = await pool.NewRootAsync(kind);
        await using var observer = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var provider1 = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        await using var provider2 = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Ct);
        var discovery = new ServiceDiscovery(observer, "/services");
        await using var cache = discovery.CreateCache("collector");
        var changes = System.Threading.Channels.Channel.CreateUnbounded<IReadOnlyList<ServiceInstance>>();
        cache.Changed += list => changes.Writer.TryWrite(list);
        await cache.StartAsync(Ct);
        Assert.Empty(cache.Instances);

        await new ServiceDiscovery(provider1, "/services").RegisterAsync(new ServiceInstance("collector", "c1", "127.0.0.1", 4141), Ct);
        await new ServiceDiscovery(provider2, "/services").RegisterAsync(
            new ServiceInstance("collector", "c2", "127.0.0.1", 4142, new Dictionary<string, string> { ["zone"] = "a" }), Ct);
        await TestWait.UntilAsync(() => Task.FromResult(cache.Instances.Count == 2), TimeSpan.FromSeconds(20), "cache sees two instances");
        var all = await discovery.QueryForInstancesAsync("collector", Ct);
        Assert.Equal(["c1", "c2"], all.Select(i => i.Id));
        Assert.Equal(4142, all[1].Port);
        Assert.Equal("a", all[1].Payload!["zone"]);
        Assert.Equal(["collector"], await discovery.QueryForNamesAsync(Ct));

        await provider1.CloseAsync(Ct); // its ephemeral registration goes with the session
        await TestWait.UntilAsync(() => Task.FromResult(cache.Instances.Count == 1), TimeSpan.FromSeconds(20), "cache drops c1");
        Assert.Equal("c2", Assert.Single(cache.Instances).Id);
        var json = Encoding.UTF8.GetString((await observer.GetDataAsync("/services/collector/c2", cancellationToken: Ct)).Data);
        Assert.Contains("\"registrationTimeUTC\":", json);
        Assert.Contains("\"serviceType\":\"DYNAMIC\"", json);
        await provider1.DisposeAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
