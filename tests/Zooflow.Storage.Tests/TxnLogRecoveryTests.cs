using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Crash simulation on the files: torn and garbled tails, corruption in the middle, damaged headers. Recovery must keep
/// every record before the damage, drop exactly the damaged part, say so, and be clean on the next open (no crash loop).
/// STYLE.md convention 12; ZooKeeper FileTxnLog's torn-tail handling (it stops at the first bad checksum).
/// </summary>
public sealed class TxnLogRecoveryTests
{
    private const int Records = 12;

    [Fact]
    public async Task Open_TruncatedAtEveryOffsetOfLastRecord_DropsExactlyThatRecord()
    {
        using var dir = new TempDirectory();
        var (segment, lastStart, lastEnd) = await WritePristineAsync(dir.Sub("pristine"));
        var pristine = await File.ReadAllBytesAsync(segment, Ct);
        for (var cut = lastStart; cut < lastEnd; cut++)
        {
            var work = dir.Sub($"cut-{cut}");
            CopyDirectory(dir.Sub("pristine"), work);
            var file = Path.Combine(work, Path.GetFileName(segment));
            using (var stream = new FileStream(file, FileMode.Open))
            {
                stream.SetLength(cut);
            }

            // Dropped bytes are counted up to the last non-zero byte; a torn piece of zeros is an indistinguishable clean end.
            var torn = pristine.AsSpan((int)lastStart, (int)(cut - lastStart));
            var expectedDropped = torn.LastIndexOfAnyExcept((byte)0) + 1;
            await using (var log = TxnLog.Open(Options(work)))
            {
                AssertHolds(log, 1, Records - 1);
                if (expectedDropped == 0)
                {
                    Assert.True(log.Recovery.IsClean, "a file ending on a record boundary (or in zeros) is a clean end");
                }
                else
                {
                    var truncation = Assert.Single(log.Recovery.Truncations);
                    Assert.Equal(file, truncation.FilePath);
                    Assert.Equal(lastStart, truncation.Offset);
                    Assert.Equal(expectedDropped, truncation.DroppedBytes);
                    Assert.Equal("truncated", truncation.Action);
                    Assert.Equal(cut - lastStart >= 16 ? Records : null, truncation.Zxid);
                    Assert.Equal(lastStart, new FileInfo(file).Length);
                }
                await log.AppendAsync(Records, PayloadFor(Records), Ct);
            }

            await using (var again = TxnLog.Open(Options(work)))
            {
                Assert.True(again.Recovery.IsClean, string.Join("; ", again.Recovery.Truncations));
                AssertHolds(again, 1, Records);
            }

            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Open_ByteGarbledAtEveryOffsetOfLastRecord_DropsExactlyThatRecord()
    {
        using var dir = new TempDirectory();
        var (segment, lastStart, lastEnd) = await WritePristineAsync(dir.Sub("pristine"));
        for (var offset = lastStart; offset < lastEnd; offset++)
        {
            var work = dir.Sub($"garble-{offset}");
            CopyDirectory(dir.Sub("pristine"), work);
            var file = Path.Combine(work, Path.GetFileName(segment));
            FlipByte(file, offset);
            // A preallocated file: zero padding after the records.
            using (var stream = new FileStream(file, FileMode.Open))
            {
                stream.SetLength(lastEnd + 4096);
            }

            await using (var log = TxnLog.Open(Options(work)))
            {
                AssertHolds(log, 1, Records - 1);
                var truncation = Assert.Single(log.Recovery.Truncations);
                Assert.Equal(lastStart, truncation.Offset);
                Assert.Equal(lastEnd - lastStart, truncation.DroppedBytes);
                Assert.False(string.IsNullOrEmpty(truncation.Reason));
            }

            await using (var again = TxnLog.Open(Options(work)))
            {
                Assert.True(again.Recovery.IsClean);
                AssertHolds(again, 1, Records - 1);
            }

            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Open_GarbageInPaddingAfterLastRecord_KeepsAllRecordsAndReportsGarbage()
    {
        using var dir = new TempDirectory();
        var (segment, _, lastEnd) = await WritePristineAsync(dir.Path);
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.SetLength(lastEnd + 4096);
        }

        FlipByte(segment, lastEnd + 100);
        await using var log = TxnLog.Open(Options(dir.Path));
        AssertHolds(log, 1, Records);
        var truncation = Assert.Single(log.Recovery.Truncations);
        Assert.Equal(lastEnd, truncation.Offset);
        Assert.Equal(101, truncation.DroppedBytes);
        Assert.Contains("non-zero", truncation.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_PreallocatedTailOfZeros_IsCleanEnd()
    {
        using var dir = new TempDirectory();
        var (segment, _, lastEnd) = await WritePristineAsync(dir.Path);
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.SetLength(lastEnd + 64 * 1024);
        }

        await using var log = TxnLog.Open(Options(dir.Path));
        Assert.True(log.Recovery.IsClean);
        AssertHolds(log, 1, Records);
    }

    [Fact]
    public async Task Open_CorruptionInMiddle_TruncatesThereAndSetsAsideLaterSegments()
    {
        var random = new Random(20261125);
        for (var round = 0; round < 5; round++)
        {
            using var dir = new TempDirectory();
            await using (var log = TxnLog.Open(Options(dir.Path, segmentBytes: 1024)))
            {
                await AppendRangeAsync(log, 1, 60);
            }

            var segments = TxnLog.ListSegmentFiles(dir.Path);
            Assert.True(segments.Count >= 4);
            var victim = random.Next(0, segments.Count - 1);
            var (victimStart, victimPath) = segments[victim];

            // Pick a record inside the victim segment and garble one of its bytes.
            var offsets = RecordOffsets(victimPath, victimStart);
            var index = random.Next(0, offsets.Count);
            var (recordStart, recordEnd, zxid) = offsets[index];
            var garbled = random.NextInt64(recordStart, recordEnd);
            FlipByte(victimPath, garbled);

            await using (var log = TxnLog.Open(Options(dir.Path, segmentBytes: 1024)))
            {
                var round1 = $"round {round}: segment {victim}, record {zxid}, byte {garbled}";
                AssertHolds(log, 1, zxid - 1);
                var first = log.Recovery.Truncations[0];
                Assert.Equal(victimPath, first.FilePath);
                Assert.Equal(recordStart, first.Offset);
                Assert.Equal(segments.Count - victim - 1, log.Recovery.Truncations.Count(t => t.Action.StartsWith("set aside", StringComparison.Ordinal)));
                Assert.True(log.Recovery.Truncations.Count == segments.Count - victim, round1);
                foreach (var (_, later) in segments.Skip(victim + 1))
                {
                    Assert.False(File.Exists(later), round1);
                    Assert.True(File.Exists(later + ".dropped"), round1);
                }

                await AppendRangeAsync(log, zxid, zxid + 5);
            }

            await using (var again = TxnLog.Open(Options(dir.Path, segmentBytes: 1024)))
            {
                Assert.True(again.Recovery.IsClean, string.Join("; ", again.Recovery.Truncations));
                AssertHolds(again, 1, zxid + 5);
            }
        }
    }

    [Fact]
    public async Task Open_GarbledFileHeader_SetsSegmentAsideAndKeepsEarlierOnes()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await AppendRangeAsync(log, 1, 5);
            log.RollSegment();
            await AppendRangeAsync(log, 6, 10);
        }

        var second = Path.Combine(dir.Path, "log.6");
        FlipByte(second, 1);
        await using var reopened = TxnLog.Open(Options(dir.Path));
        AssertHolds(reopened, 1, 5);
        var truncation = Assert.Single(reopened.Recovery.Truncations);
        Assert.Contains("magic", truncation.Reason, StringComparison.Ordinal);
        Assert.True(File.Exists(second + ".dropped"));
    }

    [Fact]
    public async Task Open_SegmentWithHeaderOnlyOrZeros_IsDeleted()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            await AppendRangeAsync(log, 1, 5);
        }

        // A crash right after creating the next segment: header (or nothing) plus preallocated zeros.
        var headerOnly = Path.Combine(dir.Path, "log.6");
        var header = (await File.ReadAllBytesAsync(Path.Combine(dir.Path, "log.1"), Ct)).AsSpan(0, 16).ToArray();
        await File.WriteAllBytesAsync(headerOnly, [.. header, .. new byte[4096]], Ct);
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            AssertHolds(log, 1, 5);
            Assert.Equal("deleted", Assert.Single(log.Recovery.Truncations).Action);
            Assert.False(File.Exists(headerOnly));
            await AppendRangeAsync(log, 6, 7);
        }

        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "log.8"), new byte[4096], Ct);
        await using var again = TxnLog.Open(Options(dir.Path));
        AssertHolds(again, 1, 7);
        Assert.Single(again.Recovery.Truncations);
    }

    private static async Task<(string Segment, long LastStart, long LastEnd)> WritePristineAsync(string directory)
    {
        await using var log = TxnLog.Open(Options(directory));
        await AppendRangeAsync(log, 1, Records);
        var segment = Assert.Single(log.Segments);
        var lastEnd = segment.EndOffset;
        return (segment.Path, lastEnd - 16 - PayloadFor(Records).Length, lastEnd);
    }

    private static List<(long Start, long End, long Zxid)> RecordOffsets(string path, long firstZxid)
    {
        var result = new List<(long, long, long)>();
        long offset = 16;
        var length = new FileInfo(path).Length;
        var zxid = firstZxid;
        while (offset < length)
        {
            var end = offset + 16 + PayloadFor(zxid).Length;
            result.Add((offset, end, zxid));
            offset = end;
            zxid++;
        }

        return result;
    }

    private static void FlipByte(string path, long offset)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0x5A));
    }
}
