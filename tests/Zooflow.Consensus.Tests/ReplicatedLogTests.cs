using Zooflow.Consensus.Log;

namespace Zooflow.Consensus.Tests;

/// <summary>The node's log view: durable storage plus an in-memory tail, with writes queued for the next Ready.</summary>
public sealed class ReplicatedLogTests
{
    private static LogEntry E(long epoch, long counter) => new(Zxid.Make(epoch, counter), new byte[] { (byte)counter });

    private static (MemoryStorage Storage, ReplicatedLog Log) WithStored(params LogEntry[] entries)
    {
        var storage = new MemoryStorage();
        storage.Persist(new Ready { Entries = entries, Status = default });
        return (storage, new ReplicatedLog(storage));
    }

    private static List<long> Read(ReplicatedLog log, long after, long to = long.MaxValue, int max = int.MaxValue)
    {
        var output = new List<LogEntry>();
        Assert.True(log.TryRead(after, to, max, output));
        return [.. output.Select(e => e.Zxid)];
    }

    [Fact]
    public void Append_NotAfterLast_ThrowsInvariant()
    {
        (_, ReplicatedLog log) = WithStored(E(1, 1), E(1, 2));

        Assert.Throws<ZabInvariantException>(() => log.Append(E(1, 2)));
        Assert.Throws<ZabInvariantException>(() => log.Append(E(1, 1)));
        log.Append(E(2, 1));
        Assert.Equal(Zxid.Make(2, 1), log.LastZxid);
    }

    [Fact]
    public void TryRead_SpansStorageAndTail_InOrder()
    {
        (_, ReplicatedLog log) = WithStored(E(1, 1), E(1, 2));
        log.Append(E(1, 3));
        log.Append(E(2, 1));

        Assert.Equal([Zxid.Make(1, 2), Zxid.Make(1, 3), Zxid.Make(2, 1)], Read(log, Zxid.Make(1, 1)));
        Assert.Equal([Zxid.Make(1, 1), Zxid.Make(1, 2)], Read(log, 0, max: 2));
        Assert.Equal([Zxid.Make(1, 3)], Read(log, Zxid.Make(1, 2), to: Zxid.Make(1, 3)));
    }

    [Fact]
    public void TruncateAfter_StoredRecords_QueuesTruncationAndHidesThem()
    {
        (MemoryStorage storage, ReplicatedLog log) = WithStored(E(1, 1), E(1, 2), E(1, 3));

        log.TruncateAfter(Zxid.Make(1, 1));
        log.Append(E(2, 1));

        Assert.Equal([Zxid.Make(1, 1), Zxid.Make(2, 1)], Read(log, 0));
        (SnapshotData? snapshot, long? truncate, IReadOnlyList<LogEntry> entries) = log.TakeQueuedWrites();
        Assert.Null(snapshot);
        Assert.Equal(Zxid.Make(1, 1), truncate);
        Assert.Equal([Zxid.Make(2, 1)], entries.Select(e => e.Zxid));
        storage.Persist(new Ready { TruncateAfterZxid = truncate, Entries = entries, Status = default });
        log.WritesDurable();
        Assert.Equal(Zxid.Make(2, 1), log.DurableLastZxid);
    }

    [Fact]
    public void TruncateAfter_NotAPositionOfTheLog_ThrowsInvariant()
    {
        (_, ReplicatedLog log) = WithStored(E(1, 1), E(1, 3));

        Assert.Throws<ZabInvariantException>(() => log.TruncateAfter(Zxid.Make(1, 2)));
    }

    [Fact]
    public void InstallSnapshot_HidesStorageUntilDurable()
    {
        (MemoryStorage storage, ReplicatedLog log) = WithStored(E(1, 1), E(1, 2));
        var snapshot = new SnapshotData(Zxid.Make(3, 5), new byte[] { 1 });

        log.InstallSnapshot(snapshot);
        log.Append(E(3, 6));

        Assert.Equal(-1, log.DurableLastZxid);
        Assert.False(log.TryRead(0, long.MaxValue, 10, []));
        Assert.Equal([Zxid.Make(3, 6)], Read(log, Zxid.Make(3, 5)));
        (SnapshotData? taken, _, IReadOnlyList<LogEntry> entries) = log.TakeQueuedWrites();
        storage.Persist(new Ready { InstallSnapshot = taken, Entries = entries, Status = default });
        log.WritesDurable();
        Assert.Equal(Zxid.Make(3, 6), log.DurableLastZxid);
        Assert.False(log.TryRead(Zxid.Make(1, 1), long.MaxValue, 10, [])); // before the snapshot: gone
    }

    [Fact]
    public void Evict_KeepsNewestAppliedRecordsAndReadsTheRestFromStorage()
    {
        (MemoryStorage storage, ReplicatedLog log) = WithStored();
        for (int i = 1; i <= 10; i++)
        {
            log.Append(E(1, i));
        }

        (_, _, IReadOnlyList<LogEntry> entries) = log.TakeQueuedWrites();
        storage.Persist(new Ready { Entries = entries, Status = default });
        log.WritesDurable();

        log.Evict(appliedZxid: Zxid.Make(1, 8), keep: 3);

        Assert.Equal([.. Enumerable.Range(1, 10).Select(i => Zxid.Make(1, i))], Read(log, 0));
        Assert.True(log.TryGetZxidAtOrBefore(Zxid.Make(1, 4), out long found));
        Assert.Equal(Zxid.Make(1, 4), found);
    }

    [Fact]
    public void TryGetZxidAtOrBefore_PurgedRange_ReturnsFalse()
    {
        (MemoryStorage storage, ReplicatedLog log) = WithStored(E(1, 1), E(1, 2), E(1, 3), E(1, 4));
        storage.PurgeThrough(Zxid.Make(1, 2));

        Assert.False(log.TryGetZxidAtOrBefore(Zxid.Make(1, 1), out _));
        Assert.True(log.TryGetZxidAtOrBefore(Zxid.Make(1, 2), out long found));
        Assert.Equal(Zxid.Make(1, 2), found);
        Assert.True(log.TryGetZxidAtOrBefore(Zxid.Make(2, 0), out found));
        Assert.Equal(Zxid.Make(1, 4), found);
    }
}
