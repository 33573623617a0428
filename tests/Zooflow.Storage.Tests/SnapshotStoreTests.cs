using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Snapshot files: atomic write (temp, fsync, rename, directory fsync), verified load with fallback to an older snapshot
/// (ZooKeeper FileSnap.deserialize tries the newest valid snapshots), and retention (ZooKeeper PurgeTxnLog /
/// autopurge.snapRetainCount, minimum 3).
/// </summary>
public sealed class SnapshotStoreTests
{
    [Fact]
    public async Task WriteAsync_ThenLoadNewest_ReturnsBodyOfNewest()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        await store.WriteAsync(0x100000005, WriteBody(Body(1, 10_000)), Ct);
        var written = await store.WriteAsync(0x100000009, WriteBody(Body(2, 3_000_000)), Ct);
        Assert.Equal(Path.Combine(dir.Path, "snapshot.100000009"), written.Path);

        byte[]? loaded = null;
        var result = await store.LoadNewestAsync(async (stream, info, ct) => loaded = await ReadAllAsync(stream, ct), Ct);

        Assert.Equal(0x100000009, result.Loaded?.Zxid);
        Assert.Empty(result.Rejected);
        Assert.Equal(Body(2, 3_000_000), loaded);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public async Task WriteAsync_EmptyBody_RoundTrips()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        await store.WriteAsync(1, (_, _) => ValueTask.CompletedTask, Ct);
        byte[]? loaded = null;
        var result = await store.LoadNewestAsync(async (stream, _, ct) => loaded = await ReadAllAsync(stream, ct), Ct);
        Assert.Equal(1, result.Loaded?.Zxid);
        Assert.Empty(loaded!);
    }

    [Theory]
    [InlineData("flip-body")]
    [InlineData("flip-header")]
    [InlineData("truncate-trailer")]
    [InlineData("truncate-body")]
    [InlineData("empty")]
    public async Task LoadNewestAsync_NewestCorrupt_FallsBackToPreviousWithReason(string damage)
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        await store.WriteAsync(10, WriteBody(Body(1, 5000)), Ct);
        var newest = await store.WriteAsync(20, WriteBody(Body(2, 5000)), Ct);
        Damage(newest.Path, damage);

        byte[]? loaded = null;
        var result = await store.LoadNewestAsync(async (stream, _, ct) => loaded = await ReadAllAsync(stream, ct), Ct);

        Assert.Equal(10, result.Loaded?.Zxid);
        Assert.Equal(Body(1, 5000), loaded);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(newest.Path, rejection.Snapshot.Path);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Reason));
    }

    [Fact]
    public async Task LoadNewestAsync_AllCorrupt_ReturnsNullWithAllRejections()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        var a = await store.WriteAsync(1, WriteBody(Body(1, 100)), Ct);
        var b = await store.WriteAsync(2, WriteBody(Body(2, 100)), Ct);
        Damage(a.Path, "flip-body");
        Damage(b.Path, "flip-body");
        var called = false;
        var result = await store.LoadNewestAsync((_, _, _) => { called = true; return ValueTask.CompletedTask; }, Ct);
        Assert.Null(result.Loaded);
        Assert.Equal(2, result.Rejected.Count);
        Assert.Contains("checksum", result.Rejected[0].Reason, StringComparison.Ordinal);
        Assert.False(called);
    }

    [Fact]
    public async Task WriteAsync_BodyWriterThrows_LeavesNoSnapshotOrTempFile()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteAsync(7, async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[1000], ct);
            throw new InvalidOperationException("serializer failed");
        }, Ct));
        Assert.Empty(Directory.EnumerateFiles(dir.Path));
        Assert.Null((await store.LoadNewestAsync((_, _, _) => ValueTask.CompletedTask, Ct)).Loaded);
    }

    [Fact]
    public async Task Constructor_LeftoverTempFile_IsRemovedAndNeverLoaded()
    {
        using var dir = new TempDirectory();
        await File.WriteAllBytesAsync(Path.Combine(dir.Path, "snapshot.30.123-1.tmp"), new byte[100], Ct);
        var store = new SnapshotStore(dir.Path);
        Assert.Empty(Directory.EnumerateFiles(dir.Path));
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Purge_KeepsNewestThreeAndLogSegmentsFromOldestKeptSnapshot()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Sub("data"));
        await using var log = TxnLog.Open(Options(dir.Sub("datalog")));
        // Segments start at 1, 11, 21, 31, 41 (rolled at each snapshot, as the server will do).
        for (var start = 1; start <= 41; start += 10)
        {
            await AppendRangeAsync(log, start, start + 9);
            await store.WriteAsync(start + 4, WriteBody(Body(start, 100)), Ct);
            log.RollSegment();
        }

        var result = StorageRetention.Purge(store, log, snapRetainCount: 3);

        Assert.Equal(25, result.OldestKeptZxid);
        Assert.Equal(new long[] { 45, 35, 25 }, store.List().Select(s => s.Zxid));
        Assert.Equal(2, result.DeletedSnapshots.Count);
        // log.15 (hex 21) holds zxid 25, the oldest kept snapshot's: it and everything after stays.
        Assert.Equal(new long[] { 21, 31, 41 }, log.Segments.Select(s => s.StartZxid));
        Assert.Equal(2, result.DeletedLogSegments.Count);
        AssertHolds(log, 21, 50);
    }

    [Fact]
    public async Task Purge_CorruptNewerSnapshot_IsNotCountedAsRetained()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        foreach (var zxid in new long[] { 1, 2, 3, 4 })
        {
            await store.WriteAsync(zxid, WriteBody(Body((int)zxid, 100)), Ct);
        }

        Damage(Path.Combine(dir.Path, "snapshot.4"), "truncate-trailer");
        var result = store.Purge(3);
        Assert.Equal(1, result.OldestKeptZxid);
        Assert.Empty(result.Deleted);
    }

    [Fact]
    public void Purge_RetainCountBelowThree_Throws()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => store.Purge(2));
        Assert.Contains("snapRetainCount", error.Message, StringComparison.Ordinal);
    }

    internal static byte[] Body(int seed, int length)
    {
        var body = new byte[length];
        new Random(seed).NextBytes(body);
        return body;
    }

    private static Func<Stream, CancellationToken, ValueTask> WriteBody(byte[] body) => async (stream, ct) =>
    {
        // Several writes, as a serializer streams a tree.
        for (var offset = 0; offset < body.Length; offset += 65_536)
        {
            await stream.WriteAsync(body.AsMemory(offset, Math.Min(65_536, body.Length - offset)), ct);
        }
    };

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken ct)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, ct);
        return copy.ToArray();
    }

    private static void Damage(string path, string damage)
    {
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "flip-body":
                bytes[bytes.Length / 2] ^= 0x01;
                break;
            case "flip-header":
                bytes[2] ^= 0x01;
                break;
            case "truncate-trailer":
                bytes = bytes[..^5];
                break;
            case "truncate-body":
                bytes = [.. bytes[..(bytes.Length / 2)], .. bytes[^16..]];
                break;
            case "empty":
                bytes = [];
                break;
        }

        File.WriteAllBytes(path, bytes);
    }
}
