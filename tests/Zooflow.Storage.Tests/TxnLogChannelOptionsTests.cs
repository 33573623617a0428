using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// The log options the file channel uses (issue 7): record positions reported by appends and reads, zero-filled
/// preallocation with fdatasync, keeping the segments after a corruption, periodic Sync without per-batch flushes, and
/// snapshot files under another prefix.
/// </summary>
public sealed class TxnLogChannelOptionsTests
{
    private static TxnLogOptions ChannelOptions(string directory) => new()
    {
        Directory = directory,
        SegmentBytesMax = 1024,
        PreallocateBytes = 64 * 1024,
        ZeroFillPreallocation = true,
        UseDataSync = true,
        SetAsideAfterCorruption = false,
    };

    [Fact]
    public async Task AppendLocatedAsync_Positions_MatchTheFileAndReadFrom()
    {
        using var dir = new TempDirectory();
        var positions = new List<LogPosition>();
        await using (var log = TxnLog.Open(ChannelOptions(dir.Path)))
        {
            for (long zxid = 1; zxid <= 60; zxid++)
            {
                positions.Add(await log.AppendLocatedAsync(zxid, PayloadFor(zxid), Ct));
            }
            Assert.Equal(positions, log.ReadFrom(1).Select(r => r.Position));
        }

        Assert.True(positions.Select(p => p.SegmentStartZxid).Distinct().Count() > 3, "expected several segments");
        for (var i = 0; i < positions.Count; i++)
        {
            var zxid = i + 1L;
            var file = Path.Combine(dir.Path, "log." + Zxid.ToHex(positions[i].SegmentStartZxid));
            var bytes = await File.ReadAllBytesAsync(file, Ct);
            var payload = PayloadFor(zxid);
            Assert.Equal(payload, bytes.AsSpan((int)positions[i].Offset + TxnLog.RecordHeaderBytes, payload.Length).ToArray());
        }
    }

    [Fact]
    public async Task ZeroFillPreallocation_PadsAheadWithZerosAndTrimsOnClose()
    {
        using var dir = new TempDirectory();
        var options = ChannelOptions(dir.Path) with { SegmentBytesMax = 1024 * 1024 };
        await using (var log = TxnLog.Open(options))
        {
            await AppendRangeAsync(log, 1, 10);
            var active = Path.Combine(dir.Path, "log.1");
            var segment = log.Segments.Single();
            Assert.True(new FileInfo(active).Length > segment.EndOffset, "no zero-filled space ahead of the records");
            var bytes = await File.ReadAllBytesAsync(active, Ct);
            Assert.DoesNotContain(bytes.AsSpan((int)segment.EndOffset).ToArray(), b => b != 0);
        }

        await using var reopened = TxnLog.Open(options);
        Assert.True(reopened.Recovery.IsClean);
        Assert.Equal(reopened.Segments.Single().EndOffset, new FileInfo(Path.Combine(dir.Path, "log.1")).Length);
    }

    [Fact]
    public async Task Open_CorruptionInMiddleWithoutSetAside_KeepsTheLaterSegments()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(ChannelOptions(dir.Path)))
        {
            await AppendRangeAsync(log, 1, 60);
        }
        var segments = TxnLog.ListSegmentFiles(dir.Path);
        Assert.True(segments.Count >= 4);
        var (victimStart, victimPath) = segments[1];
        var length = new FileInfo(victimPath).Length;
        using (var file = new FileStream(victimPath, FileMode.Open))
        {
            file.Position = length - 5;
            var b = file.ReadByte();
            file.Position = length - 5;
            file.WriteByte((byte)~b);
        }

        await using var reopened = TxnLog.Open(ChannelOptions(dir.Path));
        var cut = Assert.Single(reopened.Recovery.Truncations);
        Assert.Equal(victimPath, cut.FilePath);
        Assert.Equal("truncated", cut.Action);
        var lost = cut.Zxid!.Value;
        Assert.True(lost >= victimStart);
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i).Where(z => z != lost), reopened.ReadFrom(1).Select(r => r.Zxid));
        Assert.Equal(segments.Count, TxnLog.ListSegmentFiles(dir.Path).Count);
    }

    [Fact]
    public async Task Sync_ForceSyncOff_NoFlushPerBatchAndRecordsSurviveReopen()
    {
        using var dir = new TempDirectory();
        var options = ChannelOptions(dir.Path) with { ForceSync = false };
        await using (var log = TxnLog.Open(options))
        {
            await AppendRangeAsync(log, 1, 30);
            Assert.Equal(0, log.Statistics.Fsyncs);
            log.Sync();
        }
        await using var reopened = TxnLog.Open(options);
        Assert.True(reopened.Recovery.IsClean);
        AssertHolds(reopened, 1, 30);
    }

    [Fact]
    public async Task SnapshotStore_OtherPrefix_IgnoresSnapshotFiles()
    {
        using var dir = new TempDirectory();
        var snapshots = new SnapshotStore(dir.Path);
        var checkpoints = new SnapshotStore(dir.Path, filePrefix: "checkpoint.");
        await snapshots.WriteAsync(5, (s, ct) => s.WriteAsync("s"u8.ToArray(), ct), Ct);
        var written = await checkpoints.WriteAsync(7, (s, ct) => s.WriteAsync("c"u8.ToArray(), ct), Ct);
        Assert.Equal(Path.Combine(dir.Path, "checkpoint.7"), written.Path);
        Assert.Equal([7L], checkpoints.List().Select(f => f.Zxid));
        Assert.Equal([5L], snapshots.List().Select(f => f.Zxid));
        byte[]? body = null;
        await SnapshotStore.ReadFileAsync(written.Path, "checkpoint.", async (stream, _, ct) =>
        {
            body = new byte[stream.Length];
            await stream.ReadExactlyAsync(body, ct);
        }, Ct);
        Assert.Equal("c"u8.ToArray(), body);
    }
}
