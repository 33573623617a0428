using Xunit;
using Zooflow.TestKit;
using static Zooflow.Pipeline.FileChannel.Tests.Support;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Damaged files never stop the channel from starting (Flume's pain points FLUME-1417 "bad checkpoint prevents start",
/// FLUME-2155 long full replays; flume.md §8.3): truncated and garbled data file tails and checkpoints. Replay keeps
/// every good record, reports what it dropped and where, and falls back checkpoint → backup → full replay with a log line
/// that says which and why.
/// </summary>
public sealed class CorruptionTests
{
    /// <summary>1,300 events put (20 + 6 transactions of 50), 100 taken, a checkpoint after the first 1,000 puts and
    /// the take, then 300 more puts that only the data files hold. Small data files, so there are several.</summary>
    private static async Task<FileChannelOptions> PrepareAsync(TempDir dir, bool dual = false)
    {
        var options = Options(dir) with
        {
            MaxFileSize = 16 * 1024,
            CheckpointOnClose = false,
            UseDualCheckpoints = dual,
            BackupCheckpointDir = dual ? dir.Combine("backup") : null,
        };
        await using var channel = await OpenAsync(options);
        for (var i = 0; i < 20; i++)
        {
            await PutRangeAsync(channel, i * 50, 50);
        }
        Assert.Equal(100, (await TakeAsync(channel, 100)).Count);
        Assert.True(await channel.CheckpointNowAsync(Ct));
        for (var i = 20; i < 26; i++)
        {
            await PutRangeAsync(channel, i * 50, 50);
        }
        return options;
    }

    [Fact]
    public async Task Open_DataFileTailTruncated_KeepsEveryGoodRecordAndReportsTheCut()
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir);
        var last = DataFiles(dir.Combine("data"))[^1];
        var length = new FileInfo(last).Length;
        using (var file = new FileStream(last, FileMode.Open))
        {
            file.SetLength(length - 100);
        }

        var logger = new ListLogger();
        await using var channel = await OpenAsync(options, logger);
        var truncation = Assert.Single(channel.Recovery!.Truncations);
        Assert.Equal(last, truncation.FilePath);
        Assert.Contains("torn write", truncation.Reason, StringComparison.Ordinal);
        Assert.Contains(logger.Messages(3001), m => m.Contains(last, StringComparison.Ordinal));
        Assert.Equal(Texts(100, 1150), await DrainAsync(channel));
        await AssertStillWorksAsync(channel);
    }

    [Fact]
    public async Task Open_DataFileTailGarbled_KeepsEveryGoodRecordAndReportsTheCut()
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir);
        var last = DataFiles(dir.Combine("data"))[^1];
        Garble(last, new FileInfo(last).Length - 200, 64);

        await using var channel = await OpenAsync(options);
        var truncation = Assert.Single(channel.Recovery!.Truncations);
        Assert.Contains("checksum mismatch", truncation.Reason, StringComparison.Ordinal);
        Assert.Equal(Texts(100, 1150), await DrainAsync(channel));
        await AssertStillWorksAsync(channel);
    }

    [Fact]
    public async Task Open_EarlierDataFileGarbled_KeepsLaterFilesAndReportsTheCheckpointEventsLost()
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir);
        var files = DataFiles(dir.Combine("data"));
        Assert.True(files.Length >= 3, $"{files.Length} data files");
        var damaged = files[1];
        Garble(damaged, new FileInfo(damaged).Length - 300, 16);

        await using var channel = await OpenAsync(options);
        var recovery = channel.Recovery!;
        Assert.Equal(damaged, Assert.Single(recovery.Truncations).FilePath);
        Assert.Equal(files.Length, DataFiles(dir.Combine("data")).Length);
        var lost = Assert.Single(recovery.Dropped);
        Assert.Contains("event(s) of the checkpoint", lost.What, StringComparison.Ordinal);
        Assert.Equal(Path.GetFileName(damaged), lost.Where);
        var lostCount = int.Parse(lost.What.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        // Exactly one contiguous run of events (the damaged record and what followed it in that file) is missing.
        var left = await DrainAsync(channel);
        var expected = Texts(100, 1200);
        Assert.Equal(expected.Count - lostCount, left.Count);
        var firstMissing = expected.FindIndex(e => !left.Contains(e));
        Assert.Equal(expected.Take(firstMissing).Concat(expected.Skip(firstMissing + lostCount)), left);
        await AssertStillWorksAsync(channel);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbled")]
    [InlineData("missing")]
    public async Task Open_CheckpointDamaged_FullReplayRestoresEveryEvent(string damage)
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir);
        var checkpoints = CheckpointFiles(dir.Combine("checkpoint"));
        var newest = checkpoints.MaxBy(f => Convert.ToInt64(Path.GetExtension(f)[1..], 16))!;
        foreach (var older in checkpoints.Where(c => c != newest))
        {
            File.Delete(older);
        }
        switch (damage)
        {
            case "truncated":
                using (var file = new FileStream(newest, FileMode.Open))
                {
                    file.SetLength(file.Length / 2);
                }
                break;
            case "garbled":
                Garble(newest, 40, 8);
                break;
            default:
                File.Delete(newest);
                break;
        }

        var logger = new ListLogger();
        await using var channel = await OpenAsync(options, logger);
        var recovery = channel.Recovery!;
        Assert.True(recovery.FullReplay);
        var line = Assert.Single(logger.Messages(2903));
        if (damage == "missing")
        {
            Assert.Empty(recovery.RejectedCheckpoints);
            Assert.Contains("no checkpoint file in", line, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith(newest + ":", Assert.Single(recovery.RejectedCheckpoints), StringComparison.Ordinal);
            Assert.Contains(newest, line, StringComparison.Ordinal);
        }
        Assert.Equal(Texts(100, 1200), await DrainAsync(channel));
        await AssertStillWorksAsync(channel);
    }

    [Fact]
    public async Task Open_CheckpointGarbledWithDualCheckpoints_UsesTheBackup()
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir, dual: true);
        foreach (var checkpoint in CheckpointFiles(dir.Combine("checkpoint")))
        {
            Garble(checkpoint, 30, 4);
        }

        var logger = new ListLogger();
        await using var channel = await OpenAsync(options, logger);
        var recovery = channel.Recovery!;
        Assert.True(recovery.UsedBackup);
        Assert.False(recovery.FullReplay);
        Assert.StartsWith("backup checkpoint " + dir.Combine("backup"), recovery.Source, StringComparison.Ordinal);
        Assert.Contains("because the checkpoint in", Assert.Single(logger.Messages(2904)), StringComparison.Ordinal);
        Assert.Equal(900, recovery.CheckpointEvents);
        Assert.Equal(300, recovery.ReplayedPuts);
        Assert.Equal(Texts(100, 1200), await DrainAsync(channel));
    }

    [Fact]
    public async Task Open_CheckpointAndBackupGarbled_FullReplay()
    {
        using var dir = new TempDir();
        var options = await PrepareAsync(dir, dual: true);
        foreach (var checkpoint in CheckpointFiles(dir.Combine("checkpoint")).Concat(CheckpointFiles(dir.Combine("backup"))))
        {
            Garble(checkpoint, 30, 4);
        }

        await using var channel = await OpenAsync(options);
        Assert.True(channel.Recovery!.FullReplay);
        Assert.NotEmpty(channel.Recovery.RejectedCheckpoints);
        Assert.Equal(Texts(100, 1200), await DrainAsync(channel));
    }

    [Fact]
    public async Task Take_EventGarbledAfterOpen_SkippedWithItsLocationAndOthersDelivered()
    {
        using var dir = new TempDir();
        var options = Options(dir) with { EventCacheBytes = 0 };
        var logger = new ListLogger();
        await using var channel = await OpenAsync(options, logger);
        await PutRangeAsync(channel, 0, 10);
        var data = DataFiles(dir.Combine("data"))[0];
        var bytes = await File.ReadAllBytesAsync(data, Ct);
        var marker = System.Text.Encoding.UTF8.GetBytes(Text(Numbered(4)));
        var at = bytes.AsSpan().IndexOf(marker);
        Assert.True(at > 0);
        Garble(data, at + 2, 3);

        var delivered = await DrainAsync(channel);
        Assert.Equal(Texts(0, 10).Where((_, i) => i != 4), delivered);
        Assert.Equal(1, channel.CorruptEventsSkipped);
        Assert.Contains(data + "@", Assert.Single(logger.Messages(2910)), StringComparison.Ordinal);
    }

    private static async Task AssertStillWorksAsync(FileChannel channel)
    {
        await PutRangeAsync(channel, 9000, 3);
        Assert.Equal(Texts(9000, 3), await DrainAsync(channel));
    }

    /// <summary>Overwrites <paramref name="count"/> bytes at <paramref name="offset"/> with their complement (never the same value).</summary>
    private static void Garble(string path, long offset, int count)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        for (var i = 0; i < count; i++)
        {
            buffer[i] = (byte)~buffer[i];
        }
        file.Position = offset;
        file.Write(buffer);
    }
}
