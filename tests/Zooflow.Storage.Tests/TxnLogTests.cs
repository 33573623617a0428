using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Append, read, roll, truncate and purge of the segmented log, on real files. ZooKeeper references: FileTxnLog (format,
/// naming log.&lt;hex zxid&gt;, preAllocSize), SyncRequestProcessor (group commit, maxBatchSize 1000), PurgeTxnLog.
/// </summary>
public sealed class TxnLogTests
{
    [Fact]
    public async Task AppendAsync_ManyRecordsSmallSegments_ReadBackAcrossSegmentsAfterReopen()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(Options(dir.Path, segmentBytes: 4096)))
        {
            await AppendRangeAsync(log, 1, 500);
            Assert.True(log.Segments.Count > 5, $"expected several segments, got {log.Segments.Count}");
            AssertHolds(log, 1, 500);
        }

        await using var reopened = TxnLog.Open(Options(dir.Path, segmentBytes: 4096));
        Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Truncations));
        Assert.Equal(500, reopened.Recovery.RecordCount);
        Assert.Equal(1, reopened.FirstZxid);
        AssertHolds(reopened, 1, 500);
        Assert.Equal(Enumerable.Range(250, 251).Select(i => (long)i), reopened.ReadFrom(250).Select(r => r.Zxid));
        var names = TxnLog.ListSegmentFiles(dir.Path).Select(s => Path.GetFileName(s.Path)).ToArray();
        Assert.Equal("log.1", names[0]);
        Assert.All(reopened.Segments, s => Assert.Equal("log." + Zxid.ToHex(s.StartZxid), Path.GetFileName(s.Path)));
    }

    [Fact]
    public async Task AppendAsync_AfterReopen_ContinuesInNewSegmentNamedByHexZxid()
    {
        using var dir = new TempDirectory();
        var epochOne = Zxid.Make(1, 1);
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await log.AppendAsync(epochOne, PayloadFor(epochOne), Ct);
        }

        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await log.AppendAsync(epochOne + 1, PayloadFor(epochOne + 1), Ct);
            Assert.Equal(new[] { "log.100000001", "log.100000002" }, log.Segments.Select(s => Path.GetFileName(s.Path)));
            Assert.Equal(new[] { epochOne, epochOne + 1 }, log.ReadFrom(0).Select(r => r.Zxid));
        }
    }

    [Fact]
    public async Task AppendAsync_ZxidNotIncreasing_ThrowsWithoutWriting()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path));
        await log.AppendAsync(5, PayloadFor(5), Ct);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.AppendAsync(5, PayloadFor(5), Ct); });
        Assert.Contains("0x5", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.AppendAsync(4, PayloadFor(4), Ct); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.AppendAsync(0, PayloadFor(0), Ct); });
        Assert.Equal(new long[] { 5 }, log.ReadFrom(0).Select(r => r.Zxid));
    }

    [Fact]
    public async Task AppendAsync_PayloadAboveLimit_Throws()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path) with { RecordBytesMax = 100 });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.AppendAsync(1, new byte[101], Ct); });
        await log.AppendAsync(1, new byte[100], Ct);
        Assert.Equal(1, log.LastZxid);
    }

    [Fact]
    public async Task AppendAsync_ManyConcurrentAppenders_ShareFsyncs()
    {
        // SyncRequestProcessor: records queued while a flush is in progress are written and fsynced together.
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path));
        const int Appenders = 100;
        const int PerAppender = 20;
        var next = 0L;
        var order = new object();
        var tasks = Enumerable.Range(0, Appenders).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < PerAppender; i++)
            {
                ValueTask append;
                lock (order)
                {
                    var zxid = ++next;
                    append = log.AppendAsync(zxid, PayloadFor(zxid), Ct);
                }

                await append;
            }
        }, Ct)).ToArray();
        await Task.WhenAll(tasks);

        var stats = log.Statistics;
        Assert.Equal(Appenders * PerAppender, stats.Appends);
        Assert.True(stats.Fsyncs < stats.Appends / 2, $"{stats.Fsyncs} fsyncs for {stats.Appends} appends: group commit is not batching");
        Assert.Equal(stats.Batches, stats.Fsyncs);
        AssertHolds(log, 1, Appenders * PerAppender);
    }

    [Fact]
    public async Task AppendAsync_BatchLimit_SplitsLargeQueueIntoBatches()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path) with { BatchRecordsMax = 10, PendingRecordsMax = 1000 });
        var appends = Enumerable.Range(1, 1000).Select(i => log.AppendAsync(i, PayloadFor(i), Ct).AsTask()).ToArray();
        await Task.WhenAll(appends);
        Assert.True(log.Statistics.Batches >= 100, $"{log.Statistics.Batches} batches for 1000 records with BatchRecordsMax 10");
        AssertHolds(log, 1, 1000);
    }

    [Fact]
    public async Task AppendAsync_ForceSyncOff_DoesNotFsync()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path) with { ForceSync = false });
        await AppendRangeAsync(log, 1, 50);
        Assert.Equal(0, log.Statistics.Fsyncs);
        AssertHolds(log, 1, 50);
    }

    [Fact]
    public async Task AppendAsync_PendingLimitExceeded_ThrowsClearError()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path) with { BatchRecordsMax = 1, PendingRecordsMax = 1 });
        var tasks = new List<Task>();
        InvalidOperationException? error = null;
        for (var zxid = 1; zxid <= 10_000 && error is null; zxid++)
        {
            try
            {
                tasks.Add(log.AppendAsync(zxid, PayloadFor(zxid), Ct).AsTask());
            }
            catch (InvalidOperationException e)
            {
                error = e;
            }
        }

        await Task.WhenAll(tasks);
        Assert.NotNull(error);
        Assert.Contains("PendingRecordsMax", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollSegment_ThenAppend_StartsNewSegment()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path));
        await AppendRangeAsync(log, 1, 3);
        log.RollSegment();
        await AppendRangeAsync(log, 4, 6);
        Assert.Equal(new long[] { 1, 4 }, log.Segments.Select(s => s.StartZxid));
        AssertHolds(log, 1, 6);
    }

    [Fact]
    public async Task TruncateAfter_AcrossSegments_RemovesLaterRecordsAndAppendsContinue()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(Options(dir.Path, segmentBytes: 2048)))
        {
            await AppendRangeAsync(log, 1, 100);
            var segmentsBefore = log.Segments.Count;
            var middle = log.Segments[1];
            var cut = middle.StartZxid + 1;
            Assert.Equal(100 - cut, log.TruncateAfter(cut));
            Assert.True(log.Segments.Count < segmentsBefore);
            AssertHolds(log, 1, cut);
            await AppendRangeAsync(log, cut + 1, cut + 10);
            AssertHolds(log, 1, cut + 10);
            Assert.Equal(0, log.TruncateAfter(cut + 10));
        }

        await using var reopened = TxnLog.Open(Options(dir.Path, segmentBytes: 2048));
        Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Truncations));
        Assert.Equal(reopened.LastZxid, reopened.ReadFrom(0).Last().Zxid);
    }

    [Fact]
    public async Task PurgeSegmentsBefore_KeepsSegmentContainingZxid()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path));
        for (var start = 1; start <= 31; start += 10)
        {
            await AppendRangeAsync(log, start, start + 9);
            log.RollSegment();
        }

        Assert.Equal(new long[] { 1, 11, 21, 31 }, log.Segments.Select(s => s.StartZxid));
        var deleted = log.PurgeSegmentsBefore(25);
        Assert.Equal(2, deleted.Count);
        Assert.Equal(new long[] { 21, 31 }, log.Segments.Select(s => s.StartZxid));
        Assert.Equal(21, log.FirstZxid);
        AssertHolds(log, 21, 40);
        Assert.Single(log.PurgeSegmentsBefore(10_000));
        Assert.Equal(new long[] { 31 }, log.Segments.Select(s => s.StartZxid));
    }

    [Fact]
    public async Task ReadFrom_WhileAppending_SeesOnlyDurablePrefix()
    {
        using var dir = new TempDirectory();
        await using var log = TxnLog.Open(Options(dir.Path));
        await AppendRangeAsync(log, 1, 10);
        using var reader = log.ReadFrom(1).GetEnumerator();
        await AppendRangeAsync(log, 11, 20);
        var seen = new List<long>();
        while (reader.MoveNext())
        {
            seen.Add(reader.Current.Zxid);
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task DisposeAsync_ThenAppend_ThrowsObjectDisposed()
    {
        using var dir = new TempDirectory();
        var log = TxnLog.Open(Options(dir.Path));
        await log.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => { _ = log.AppendAsync(1, PayloadFor(1), Ct); });
    }

    [Fact]
    public void Open_InvalidOptions_ThrowsNamingSetting()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TxnLog.Open(Options(dir.Path) with { BatchRecordsMax = 0 }));
        Assert.Contains("BatchRecordsMax", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Offline reading of single files, for the dump tools: nothing on disk changes.</summary>
public sealed class OfflineReadTests
{
    [Fact]
    public async Task ReadFile_TornSegment_YieldsValidRecordsThenThrowsNamingOffset()
    {
        using var dir = new TempDirectory();
        long end;
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await AppendRangeAsync(log, 1, 5);
            end = log.Segments[0].EndOffset;
        }

        var file = Path.Combine(dir.Path, "log.1");
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, TxnLog.ReadFile(file).Select(r => r.Zxid));
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(end - 3);
        }

        var seen = new List<long>();
        var error = Assert.Throws<StorageCorruptionException>(() =>
        {
            foreach (var record in TxnLog.ReadFile(file))
            {
                seen.Add(record.Zxid);
            }
        });
        Assert.Equal(new long[] { 1, 2, 3, 4 }, seen);
        Assert.Equal(end - 16 - PayloadFor(5).Length, error.Offset);
        Assert.Equal(end - 3, new FileInfo(file).Length);
    }

    [Fact]
    public async Task SnapshotReadFileAsync_ValidAndCorrupt_ReadsOrThrowsWithoutDeletingTemps()
    {
        using var dir = new TempDirectory();
        var info = await new SnapshotStore(dir.Path).WriteAsync(9, async (s, ct) => await s.WriteAsync(new byte[] { 1, 2, 3 }, ct), Ct);
        var temp = Path.Combine(dir.Path, "snapshot.a.1-1.tmp");
        await File.WriteAllBytesAsync(temp, [1], Ct);

        byte[]? body = null;
        var read = await SnapshotStore.ReadFileAsync(info.Path, async (stream, _, ct) =>
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct);
            body = buffer.ToArray();
        }, Ct);
        Assert.Equal(9, read.Zxid);
        Assert.Equal(new byte[] { 1, 2, 3 }, body);
        Assert.True(File.Exists(temp));

        var bytes = await File.ReadAllBytesAsync(info.Path, Ct);
        bytes[17] ^= 0xFF;
        await File.WriteAllBytesAsync(info.Path, bytes, Ct);
        var error = await Assert.ThrowsAsync<StorageCorruptionException>(() => SnapshotStore.ReadFileAsync(info.Path, (_, _, _) => ValueTask.CompletedTask, Ct));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }
}
