using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.TestKit;
using static Zooflow.Pipeline.FileChannel.Tests.Support;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Transaction semantics of the file channel (Flume's <c>FileChannel</c> / <c>BasicTransactionSemantics</c>; flume.md §6):
/// puts visible at commit, takes final at commit, rollback returns takes in order, Flume's error messages, restart.
/// </summary>
public sealed class FileChannelTests
{
    [Fact]
    public async Task PutTake_CommittedEvents_ComeOutInOrderWithHeaders()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir));
        await PutRangeAsync(channel, 0, 250);
        Assert.Equal(250, channel.Size);

        var first = await TakeAsync(channel, 100);
        Assert.Equal(Texts(0, 100), first.Select(Text));
        Assert.Equal("v", first[0].Headers["k"]);
        Assert.Equal("3", first[3].Headers["n"]);
        Assert.Empty(first[1].Headers);
        Assert.Equal(Texts(100, 150), await DrainAsync(channel));
        Assert.Equal(0, channel.Size);
    }

    [Fact]
    public async Task Put_Uncommitted_IsInvisibleToTakers()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir));
        await using var put = channel.BeginTransaction();
        put.Put(Numbered(1));
        Assert.Empty(await TakeAsync(channel, 10));
        await put.CommitAsync(Ct);
        Assert.Equal(Texts(1, 1), (await TakeAsync(channel, 10)).Select(Text));
    }

    [Fact]
    public async Task Take_RolledBack_ReturnsEventsToTheHeadInOrder()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir));
        await PutRangeAsync(channel, 0, 10);
        await using (var tx = channel.BeginTransaction())
        {
            Assert.Equal(Text(Numbered(0)), Text(tx.Take()!));
            Assert.Equal(Text(Numbered(1)), Text(tx.Take()!));
            Assert.Equal(8, channel.Size);
            await tx.RollbackAsync(Ct);
        }
        Assert.Equal(Texts(0, 10), await DrainAsync(channel));
    }

    [Fact]
    public async Task Put_BeyondTransactionCapacity_ThrowsFlumesMessage()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir, transactionCapacity: 3));
        await using var tx = channel.BeginTransaction();
        tx.Put(Numbered(0));
        tx.Put(Numbered(1));
        tx.Put(Numbered(2));
        var error = Assert.Throws<ChannelException>(() => tx.Put(Numbered(3)));
        Assert.Equal("Put queue for FileBackedTransaction of capacity 3 full, consider committing more frequently, increasing capacity or increasing thread count. [channel=c1]", error.Message);
    }

    [Fact]
    public async Task Take_BeyondTransactionCapacity_ThrowsFlumesMessage()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir, transactionCapacity: 2));
        await PutRangeAsync(channel, 0, 2);
        await PutRangeAsync(channel, 2, 2);
        await using var tx = channel.BeginTransaction();
        tx.Take();
        tx.Take();
        var error = Assert.Throws<ChannelException>(() => tx.Take());
        Assert.Equal("Take list for FileBackedTransaction, capacity 2 full, consider committing more frequently, increasing capacity, or increasing thread count. [channel=c1]", error.Message);
    }

    [Fact]
    public async Task Commit_ChannelFull_ThrowsChannelFullAfterKeepAliveThenSucceedsOnceTaken()
    {
        using var dir = new TempDir();
        var options = Options(dir, capacity: 5, transactionCapacity: 5) with { KeepAlive = TimeSpan.FromMilliseconds(200) };
        await using var channel = await OpenAsync(options);
        await PutRangeAsync(channel, 0, 4);
        var error = await Assert.ThrowsAsync<ChannelFullException>(() => PutRangeAsync(channel, 4, 2));
        Assert.Equal("The channel has reached it's capacity. This might be the result of a sink on the channel having too low of batch size, a downstream system running slower than normal, or that the channel capacity is just too low. [channel=c1]", error.Message);
        Assert.Equal(4, channel.Size);

        // A put that waits (keep-alive) goes through as soon as a take commits.
        var waiting = PutRangeAsync(channel, 4, 2);
        Assert.Equal(Texts(0, 1), (await TakeAsync(channel, 1)).Select(Text));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(Texts(1, 5), await DrainAsync(channel, 5));
    }

    [Fact]
    public async Task Restart_AfterCleanStop_RestoresFromCheckpointWithoutReplay()
    {
        using var dir = new TempDir();
        var options = Options(dir);
        var channel = await OpenAsync(options);
        await PutRangeAsync(channel, 0, 500);
        Assert.Equal(Texts(0, 120), (await TakeAsync(channel, 120)).Select(Text));
        await channel.StopAsync(Ct);

        await using var reopened = await OpenAsync(options);
        Assert.StartsWith("checkpoint ", reopened.Recovery!.Source, StringComparison.Ordinal);
        Assert.Equal(0, reopened.Recovery.ReplayedRecords);
        Assert.Equal(380, reopened.Size);
        Assert.Equal(Texts(120, 380), await DrainAsync(reopened));
    }

    [Fact]
    public async Task Restart_WithoutCheckpointOnClose_ReplaysRecordsAfterTheLastCheckpoint()
    {
        using var dir = new TempDir();
        var options = Options(dir) with { CheckpointOnClose = false };
        var channel = await OpenAsync(options);
        await PutRangeAsync(channel, 0, 100);
        Assert.True(await channel.CheckpointNowAsync(Ct));
        await PutRangeAsync(channel, 100, 50);
        await TakeAsync(channel, 30);
        await channel.StopAsync(Ct);

        await using var reopened = await OpenAsync(options);
        Assert.Equal(100, reopened.Recovery!.CheckpointEvents);
        Assert.Equal(2, reopened.Recovery.ReplayedRecords);
        Assert.Equal(50, reopened.Recovery.ReplayedPuts);
        Assert.Equal(30, reopened.Recovery.ReplayedTakes);
        Assert.Equal(Texts(30, 120), await DrainAsync(reopened));
    }

    [Fact]
    public async Task Restart_TakesOpenAtTheCheckpoint_ComeBackFirst()
    {
        using var dir = new TempDir();
        var options = Options(dir) with { CheckpointOnClose = false };
        var channel = await OpenAsync(options);
        await PutRangeAsync(channel, 0, 20);
        var open = channel.BeginTransaction();
        for (var i = 0; i < 5; i++)
        {
            open.Take();
        }
        Assert.True(await channel.CheckpointNowAsync(Ct));
        await channel.StopAsync(Ct);

        await using var reopened = await OpenAsync(options);
        Assert.Equal(Texts(0, 20), await DrainAsync(reopened));
        await Assert.ThrowsAsync<ChannelException>(async () => await open.CommitAsync(Ct));
    }

    [Fact]
    public async Task Commit_ConcurrentTransactions_ShareFlushes()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir));
        const int transactions = 200;
        await Task.WhenAll(Enumerable.Range(0, transactions).Select(i => Task.Run(() => PutRangeAsync(channel, i * 10, 10), Ct)));
        Assert.Equal(transactions * 10, channel.Size);
        var statistics = Log(channel).Statistics;
        Assert.Equal(transactions, statistics.Appends);
        Assert.True(statistics.Fsyncs < transactions, $"{statistics.Fsyncs} flushes for {transactions} concurrent commits: no group commit");
        TestContext.Current.TestOutputHelper?.WriteLine($"{transactions} commits, {statistics.Fsyncs} flushes");
    }

    [Fact]
    public async Task Take_CacheDisabled_ReadsEventsBackFromTheDataFile()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir) with { EventCacheBytes = 0 });
        for (var i = 0; i < 3; i++)
        {
            await PutRangeAsync(channel, i * 1000, 1000);
        }
        var taken = new List<Event>();
        while ((await TakeAsync(channel, 700)) is { Count: > 0 } batch)
        {
            taken.AddRange(batch);
        }
        Assert.Equal(Texts(0, 3000), taken.Select(Text));
        Assert.Equal("300", taken[300].Headers["n"]);
        Assert.Equal(0, channel.CorruptEventsSkipped);
    }

    [Fact]
    public async Task Checkpoint_EverythingTaken_DeletesTheDataFilesItNoLongerNeeds()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir) with { MaxFileSize = 16 * 1024 });
        for (var i = 0; i < 40; i++)
        {
            await PutRangeAsync(channel, i * 50, 50);
        }
        var before = DataFiles(dir.Combine("data"));
        Assert.True(before.Length >= 5, $"expected several data files, found {before.Length}");

        Assert.Equal(1500, (await DrainUpToAsync(channel, 1500)).Count);
        Assert.True(await channel.CheckpointNowAsync(Ct));
        var afterPartial = DataFiles(dir.Combine("data"));
        Assert.True(afterPartial.Length < before.Length, "files holding only taken events were not deleted");
        Assert.Equal(Texts(1500, 500), await DrainAsync(channel));
        Assert.True(await channel.CheckpointNowAsync(Ct));
        var after = DataFiles(dir.Combine("data"));
        Assert.Single(after);
    }

    [Fact]
    public async Task Checkpoint_AfterCheckpointBytesWritten_WrittenBeforeTheInterval()
    {
        using var dir = new TempDir();
        var options = Options(dir) with { CheckpointBytes = 64 * 1024, CheckpointOnClose = false };
        var channel = await OpenAsync(options);
        for (var i = 0; i < 30; i++)
        {
            await PutRangeAsync(channel, i * 100, 100);
        }
        // checkpointInterval is an hour: only the volume trigger can write a checkpoint that lists these events.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (CheckpointFiles(dir.Combine("checkpoint")).Select(f => Convert.ToInt64(Path.GetExtension(f)[1..], 16)).DefaultIfEmpty().Max() < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }
        await channel.StopAsync(Ct);

        await using var reopened = await OpenAsync(options);
        Assert.True(reopened.Recovery!.CheckpointEvents > 0, "no checkpoint was written by volume");
        Assert.True(reopened.Recovery.ReplayedRecords < 30, $"{reopened.Recovery.ReplayedRecords} records replayed");
        Assert.Equal(Texts(0, 3000), await DrainAsync(reopened));
    }

    [Fact]
    public async Task WaitForEvents_PutCommitted_WakesTheWaiter()
    {
        using var dir = new TempDir();
        await using var channel = await OpenAsync(Options(dir));
        var generation = channel.PutGeneration;
        var wait = channel.WaitForEventsAsync(generation, Ct);
        Assert.False(wait.IsCompleted);
        await PutRangeAsync(channel, 0, 1);
        await wait.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task Start_DirectoryLockedByAnotherChannel_FailsNamingTheKey()
    {
        using var dir = new TempDir();
        await using var first = await OpenAsync(Options(dir));
        var second = new FileChannel("c2", Options(dir));
        var error = await Assert.ThrowsAsync<ChannelException>(() => second.StartAsync(Ct));
        Assert.Contains("checkpointDir", error.Message, StringComparison.Ordinal);
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        await second.StopAsync(Ct);
    }

    [Fact]
    public async Task FsyncPerTransactionOff_CommitsWithoutFlushing_AndRestartKeepsEvents()
    {
        using var dir = new TempDir();
        var options = Options(dir) with { FsyncPerTransaction = false };
        var channel = await OpenAsync(options);
        await PutRangeAsync(channel, 0, 100);
        await TakeAsync(channel, 10);
        Assert.Equal(0, Log(channel).Statistics.Fsyncs);
        await channel.StopAsync(Ct);

        await using var reopened = await OpenAsync(options);
        Assert.Equal(Texts(10, 90), await DrainAsync(reopened));
    }

    [Fact]
    public async Task Operations_AfterStop_FailWithChannelClosed()
    {
        using var dir = new TempDir();
        var channel = await OpenAsync(Options(dir));
        await channel.StopAsync(Ct);
        var error = Assert.Throws<ChannelException>(() => channel.BeginTransaction());
        Assert.Equal("Channel closed [channel=c1]", error.Message);
    }

    private static Zooflow.Storage.TxnLog Log(FileChannel channel) => channel.Data!.Directories[0].Log;

    private static async Task<List<string>> DrainUpToAsync(IChannel channel, int count)
    {
        var all = new List<string>();
        while (all.Count < count)
        {
            var batch = await TakeAsync(channel, Math.Min(100, count - all.Count));
            Assert.NotEmpty(batch);
            all.AddRange(batch.Select(Text));
        }
        return all;
    }
}
