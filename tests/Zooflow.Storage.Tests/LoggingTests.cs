using Microsoft.Extensions.Logging;
using Xunit;
using Zooflow.TestKit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>Recovery and fallback say exactly what they dropped, with fixed event ids (STYLE.md conventions 8 and 12).</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Open_TornTail_LogsFileOffsetZxidAndDroppedBytes()
    {
        using var dir = new TempDirectory();
        long end;
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await AppendRangeAsync(log, 1, 3);
            end = log.Segments[0].EndOffset;
        }

        var file = Path.Combine(dir.Path, "log.1");
        var lastStart = end - 16 - PayloadFor(3).Length;
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(end - 1);
        }

        var logger = new ListLogger();
        await using var reopened = TxnLog.Open(Options(dir.Path), logger);

        var entry = Assert.Single(logger.Entries, e => e.EventId.Id == 3001);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains(file, entry.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {lastStart}", entry.Message, StringComparison.Ordinal);
        Assert.Contains("zxid 0x3", entry.Message, StringComparison.Ordinal);
        Assert.Contains("torn write", entry.Message, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.EventId.Id == 3000 && e.Message.Contains("0x1..0x2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LoadNewestAsync_CorruptNewest_LogsRejectionWithReason()
    {
        using var dir = new TempDirectory();
        var logger = new ListLogger();
        var store = new SnapshotStore(dir.Path, logger);
        await store.WriteAsync(1, async (s, ct) => await s.WriteAsync(new byte[100], ct), Ct);
        var newest = await store.WriteAsync(2, async (s, ct) => await s.WriteAsync(new byte[100], ct), Ct);
        await File.WriteAllBytesAsync(newest.Path, new byte[10], Ct);

        var result = await store.LoadNewestAsync((_, _, _) => ValueTask.CompletedTask, Ct);

        Assert.Equal(1, result.Loaded?.Zxid);
        var entry = Assert.Single(logger.Entries, e => e.EventId.Id == 3011);
        Assert.Contains(newest.Path, entry.Message, StringComparison.Ordinal);
        Assert.Contains("shorter than header and trailer", entry.Message, StringComparison.Ordinal);
    }
}
