using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Instrumentation;
using static Zooflow.Pipeline.Tests.Core.TestUtil;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>Memory channel semantics (Flume user guide "Memory Channel"; MemoryChannel.java / BasicTransactionSemantics.java).</summary>
public sealed class MemoryChannelTests
{
    private static MemoryChannel Channel(long capacity = 100, int txCapacity = 100, double keepAliveSeconds = 0, long byteCapacity = 1_000_000, ChannelCounter? counter = null) =>
        new("c1", new MemoryChannelOptions(capacity, txCapacity, byteCapacity, 20, TimeSpan.FromSeconds(keepAliveSeconds)), counter);

    private static async Task PutAsync(IChannel channel, params string[] bodies)
    {
        await using var tx = channel.BeginTransaction();
        foreach (var b in bodies)
        {
            tx.Put(Ev(b));
        }
        await tx.CommitAsync(Ct);
    }

    private static async Task<List<string>> TakeAllAsync(IChannel channel)
    {
        // One event per transaction: a take beyond transactionCapacity throws, as in Flume.
        var list = new List<string>();
        while (true)
        {
            await using var tx = channel.BeginTransaction();
            var e = tx.Take();
            await tx.CommitAsync(Ct);
            if (e is null)
            {
                return list;
            }
            list.Add(Body(e));
        }
    }

    [Fact]
    public async Task WaitForEvents_PutCommittedAfterGeneration_CompletesAtOnce()
    {
        // The race the runner has: its take found the channel empty, then a put commits before it starts waiting.
        var channel = Channel();
        long seen = channel.PutGeneration;
        await PutAsync(channel, "late");
        Assert.True(channel.WaitForEventsAsync(seen, Ct).IsCompleted);
    }

    [Fact]
    public async Task WaitForEvents_NoPutSinceGeneration_WaitsEvenWithEventsQueued()
    {
        // Events already there did not arrive after the step looked: only a new commit ends the wait.
        var channel = Channel();
        await PutAsync(channel, "old");
        var wait = channel.WaitForEventsAsync(channel.PutGeneration, Ct);
        Assert.False(wait.IsCompleted);
        await PutAsync(channel, "new");
        await wait.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task Commit_Puts_BecomeVisibleOnlyAfterCommit()
    {
        var channel = Channel();
        await using var put = channel.BeginTransaction();
        put.Put(Ev("a"));
        put.Put(Ev("b"));
        Assert.Equal(0, channel.Size);
        await using (var take = channel.BeginTransaction())
        {
            Assert.Null(take.Take());
            await take.CommitAsync(Ct);
        }
        await put.CommitAsync(Ct);
        Assert.Equal(2, channel.Size);
        Assert.Equal(["a", "b"], await TakeAllAsync(channel));
        Assert.Equal(0, channel.Size);
    }

    [Fact]
    public async Task Rollback_Puts_AreDiscarded()
    {
        var channel = Channel();
        await using (var tx = channel.BeginTransaction())
        {
            tx.Put(Ev("a"));
            await tx.RollbackAsync(Ct);
            Assert.Equal(TransactionState.Completed, tx.State);
        }
        Assert.Equal(0, channel.Size);
    }

    [Fact]
    public async Task Rollback_Takes_ReturnToHeadInOrder()
    {
        var channel = Channel();
        await PutAsync(channel, "1", "2", "3", "4");
        await using (var tx = channel.BeginTransaction())
        {
            Assert.Equal("1", Body(tx.Take()!));
            Assert.Equal("2", Body(tx.Take()!));
            Assert.Equal("3", Body(tx.Take()!));
            Assert.Equal(1, channel.Size);
            await tx.RollbackAsync(Ct);
        }
        Assert.Equal(["1", "2", "3", "4"], await TakeAllAsync(channel));
    }

    [Fact]
    public async Task Dispose_UncommittedTake_RollsBack()
    {
        var channel = Channel();
        await PutAsync(channel, "x", "y");
        await using (var tx = channel.BeginTransaction())
        {
            tx.Take();
        }
        Assert.Equal(["x", "y"], await TakeAllAsync(channel));
    }

    [Fact]
    public async Task Put_BeyondTransactionCapacity_ThrowsFlumeMessage()
    {
        var channel = Channel(capacity: 10, txCapacity: 2);
        await using var tx = channel.BeginTransaction();
        tx.Put(Ev("1"));
        tx.Put(Ev("2"));
        var ex = Assert.Throws<ChannelException>(() => tx.Put(Ev("3")));
        Assert.Equal("Put queue for MemoryTransaction of capacity 2 full, consider committing more frequently, increasing capacity or increasing thread count", ex.Message);
    }

    [Fact]
    public async Task Take_BeyondTransactionCapacity_Throws()
    {
        var channel = Channel(capacity: 10, txCapacity: 2);
        await PutAsync(channel, "1", "2");
        await PutAsync(channel, "3");
        await using var tx = channel.BeginTransaction();
        tx.Take();
        tx.Take();
        var ex = Assert.Throws<ChannelException>(() => tx.Take());
        Assert.Contains("Take list for MemoryTransaction, capacity 2 full", ex.Message);
    }

    [Fact]
    public async Task Commit_ChannelFull_ThrowsChannelFullAfterKeepAlive()
    {
        var channel = Channel(capacity: 2, txCapacity: 2, keepAliveSeconds: 0);
        await PutAsync(channel, "1", "2");
        await using var tx = channel.BeginTransaction();
        tx.Put(Ev("3"));
        var ex = await Assert.ThrowsAsync<ChannelFullException>(() => tx.CommitAsync(Ct).AsTask());
        Assert.Equal("Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with sources, or the buffer size is too tight", ex.Message);
        Assert.Equal(TransactionState.Open, tx.State);
        await tx.RollbackAsync(Ct);
        Assert.Equal(2, channel.Size);
    }

    [Fact]
    public async Task Commit_ChannelFull_SucceedsWhenATakeFreesRoomWithinKeepAlive()
    {
        var channel = Channel(capacity: 2, txCapacity: 2, keepAliveSeconds: 30);
        await PutAsync(channel, "1", "2");
        var waiting = PutAsync(channel, "3");
        Assert.False(waiting.IsCompleted);
        await using (var take = channel.BeginTransaction())
        {
            take.Take();
            await take.CommitAsync(Ct);
        }
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(["2", "3"], await TakeAllAsync(channel));
    }

    [Fact]
    public async Task Commit_UncommittedTakesStillHoldRoom()
    {
        // Flume releases queue room only when the take commits, so a rollback always has room to return events.
        var channel = Channel(capacity: 2, txCapacity: 2, keepAliveSeconds: 0);
        await PutAsync(channel, "1", "2");
        await using var take = channel.BeginTransaction();
        take.Take();
        await using var put = channel.BeginTransaction();
        put.Put(Ev("3"));
        await Assert.ThrowsAsync<ChannelFullException>(() => put.CommitAsync(Ct).AsTask());
        await take.RollbackAsync(Ct);
        Assert.Equal(2, channel.Size);
    }

    [Fact]
    public async Task Commit_BodyBytesAboveByteCapacity_ThrowsChannelFull()
    {
        // byteCapacity 1000 with 20 % buffer leaves 800 bytes = 8 slots of 100 bytes.
        var channel = Channel(byteCapacity: 1000);
        await using var tx = channel.BeginTransaction();
        tx.Put(new Event(new byte[900]));
        await Assert.ThrowsAsync<ChannelFullException>(() => tx.CommitAsync(Ct).AsTask());
        await tx.RollbackAsync(Ct);
        await PutAsync(channel, new string('x', 700));
        Assert.Equal(1, channel.Size);
    }

    [Fact]
    public async Task Commit_Twice_ThrowsNamingCurrentAndExpectedState()
    {
        var channel = Channel();
        await using var tx = channel.BeginTransaction();
        tx.Put(Ev("a"));
        await tx.CommitAsync(Ct);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => tx.CommitAsync(Ct).AsTask());
        Assert.Equal("Commit is not allowed in transaction state Completed; expected New or Open", ex.Message);
        var put = Assert.Throws<InvalidOperationException>(() => tx.Put(Ev("b")));
        Assert.Contains("state Completed", put.Message);
    }

    [Fact]
    public async Task Take_AfterDispose_ThrowsClosed()
    {
        var channel = Channel();
        var tx = channel.BeginTransaction();
        await tx.DisposeAsync();
        Assert.Equal(TransactionState.Closed, tx.State);
        var ex = Assert.Throws<InvalidOperationException>(() => tx.Take());
        Assert.Equal("Take is not allowed in transaction state Closed; expected New or Open", ex.Message);
    }

    [Fact]
    public async Task Take_InPutTransaction_Throws()
    {
        var channel = Channel();
        await using var tx = channel.BeginTransaction();
        tx.Put(Ev("a"));
        var ex = Assert.Throws<InvalidOperationException>(() => tx.Take());
        Assert.Contains("either puts or takes", ex.Message);
    }

    [Fact]
    public async Task Counters_PutsAndTakes_CountedWithFlumeNames()
    {
        var counter = new ChannelCounter("c1");
        var channel = Channel(counter: counter);
        await channel.StartAsync(Ct);
        await PutAsync(channel, "a", "b", "c");
        await using (var tx = channel.BeginTransaction())
        {
            tx.Take();
            await tx.CommitAsync(Ct);
        }
        var snapshot = counter.Snapshot().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("3", snapshot["EventPutAttemptCount"]);
        Assert.Equal("3", snapshot["EventPutSuccessCount"]);
        Assert.Equal("1", snapshot["EventTakeAttemptCount"]);
        Assert.Equal("1", snapshot["EventTakeSuccessCount"]);
        Assert.Equal("2", snapshot["ChannelSize"]);
        Assert.Equal("100", snapshot["ChannelCapacity"]);
        Assert.Equal("2.0", snapshot["ChannelFillPercentage"]);
        Assert.Equal("CHANNEL", snapshot["Type"]);
        Assert.NotEqual("0", snapshot["StartTime"]);
    }

    [Fact]
    public async Task ConcurrentProducersAndConsumers_NoEventLostOrDuplicated()
    {
        var channel = Channel(capacity: 50, txCapacity: 10, keepAliveSeconds: 5);
        const int producers = 4, perProducer = 500;
        var producing = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i += 10)
            {
                await PutAsync(channel, Enumerable.Range(i, 10).Select(k => $"{p}-{k}").ToArray());
            }
        })).ToArray();
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        var consuming = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (seen.Count < producers * perProducer)
            {
                await using var tx = channel.BeginTransaction();
                var got = new List<string>();
                for (var i = 0; i < 10 && tx.Take() is { } e; i++)
                {
                    got.Add(Body(e));
                }
                await tx.CommitAsync(Ct);
                foreach (var g in got)
                {
                    seen.Add(g);
                }
                if (got.Count == 0)
                {
                    await Task.Yield();
                }
            }
        })).ToArray();
        await Task.WhenAll(producing).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await Task.WhenAll(consuming).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(producers * perProducer, seen.Distinct().Count());
        Assert.Equal(producers * perProducer, seen.Count);
    }

    [Fact]
    public void FromContext_TransactionCapacityAboveCapacity_RecordsError()
    {
        var errors = new List<ConfigError>();
        var props = new Dictionary<string, ConfigValue>
        {
            ["capacity"] = new("10", "f:2"),
            ["transactionCapacity"] = new("20", "f:3"),
            ["keep-alive"] = new("x", "f:4"),
        };
        var ctx = new ComponentContext("a1.channels.c1.", props, errors, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        MemoryChannelOptions.FromContext(ctx);
        Assert.Contains(errors, e => e.Key == "a1.channels.c1.transactionCapacity" && e.Location == "f:3" && e.Message.Contains("20 is higher than the channel's capacity 10"));
        Assert.Contains(errors, e => e.Key == "a1.channels.c1.keep-alive" && e.Message.Contains("'x' is not a whole number"));
    }

    [Fact]
    public void Defaults_MatchFlume()
    {
        var d = MemoryChannelOptions.Default;
        Assert.Equal(100, d.Capacity);
        Assert.Equal(100, d.TransactionCapacity);
        Assert.Equal(20, d.ByteCapacityBufferPercentage);
        Assert.Equal(TimeSpan.FromSeconds(3), d.KeepAlive);
        Assert.True(d.ByteCapacity > 0);
    }
}
