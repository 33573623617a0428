using System.Net;
using Xunit;
using Zooflow.Server.Configuration;
using Zooflow.Server.Persistence;
using Zooflow.Storage;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>Garbled and truncated tails of log and snapshot files: recovery keeps what is intact, says what it dropped,
/// and the server starts (twice: no crash loop).</summary>
public sealed class CorruptionTests
{
    private static ServerOptions Options(string dataDir) => new() { ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = dataDir, TickTimeMs = 200 };

    /// <summary>Snapshots only in the snapshot test (the log tests count records from the end of the log).</summary>
    private static PersistenceOptions Persistence(string dataDir) =>
        new() { DataDir = dataDir, SnapCount = dataDir.Contains("snap", StringComparison.Ordinal) ? 40 : 1_000_000, PreallocateBytes = 64 * 1024 };

    private static async Task<int> WriteNodesAsync(string dataDir, int from, int count, CancellationToken ct)
    {
        await using var durable = await DurableServer.StartAsync(Options(dataDir), Persistence(dataDir), cancellationToken: ct);
        await using var client = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct);
        if (from == 0)
        {
            await client.CreateAsync("/c", [], cancellationToken: ct);
        }

        for (var i = from; i < from + count; i++)
        {
            await client.CreateAsync($"/c/n{i:D4}", System.Text.Encoding.ASCII.GetBytes($"v{i}"), cancellationToken: ct);
        }

        return from + count;
    }

    private static async Task<(int Count, RecoveryReport Report)> RecoverAsync(string dataDir, CancellationToken ct)
    {
        await using var durable = await DurableServer.StartAsync(Options(dataDir), Persistence(dataDir), cancellationToken: ct);
        await using var client = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct);
        var children = await client.GetChildrenAsync("/c", cancellationToken: ct);
        foreach (var child in children)
        {
            var (data, _) = await client.GetDataAsync("/c/" + child, cancellationToken: ct);
            Assert.Equal("v" + int.Parse(child[1..], System.Globalization.CultureInfo.InvariantCulture), System.Text.Encoding.ASCII.GetString(data));
        }

        return (children.Count, durable.Store.Recovery);
    }

    [Fact]
    public async Task Recovery_TruncatedLogTail_DropsOnlyTheTornRecord()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-corrupt");
        var data = dir.Combine("data");
        await WriteNodesAsync(data, 0, 30, ct);
        var segment = TxnLog.ListSegmentFiles(data)[^1].Path;
        // The log ends: ..., create n28, create n29, closeSession. Cut it inside "create n29".
        using (var fs = new FileStream(segment, FileMode.Open))
        {
            var records = TxnLog.ReadFile(segment).ToList();
            long offset = 16;
            foreach (var r in records.SkipLast(2))
            {
                offset += 16 + r.Payload.Length;
            }

            fs.SetLength(offset + 20);
        }

        var (count, report) = await RecoverAsync(data, ct);
        Assert.Equal(29, count);
        Assert.NotEmpty(report.Log.Truncations);
        var (again, report2) = await RecoverAsync(data, ct);
        Assert.Equal(29, again);
        Assert.Empty(report2.Log.Truncations);
    }

    [Fact]
    public async Task Recovery_GarbledLogTail_TruncatesAndKeepsServing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-corrupt");
        var data = dir.Combine("data");
        await WriteNodesAsync(data, 0, 30, ct);
        var segment = TxnLog.ListSegmentFiles(data)[^1].Path;
        var records = TxnLog.ReadFile(segment).ToList();
        long offset = 16;
        foreach (var r in records.SkipLast(3))
        {
            offset += 16 + r.Payload.Length;
        }

        using (var fs = new FileStream(segment, FileMode.Open))
        {
            fs.Position = offset + 30;
            fs.Write([0xde, 0xad, 0xbe, 0xef]);
        }

        var (count, report) = await RecoverAsync(data, ct);
        // "create n28" is garbled: it, "create n29" and the closeSession after it are dropped.
        Assert.Equal(28, count);
        Assert.Contains(report.Log.Truncations, t => t.FilePath == segment);
        // Writes go on after the repair, and a second restart is clean.
        await WriteNodesAsync(data, 100, 5, ct);
        var (after, report2) = await RecoverAsync(data, ct);
        Assert.Equal(count + 5, after);
        Assert.Empty(report2.Log.Truncations);
    }

    [Fact]
    public async Task Recovery_DamagedNewestSnapshot_FallsBackToPrevious()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-corrupt");
        var data = dir.Combine("data-snap");
        // snapCount 40 → a snapshot every 20..40 txns; 200 creates give several.
        await WriteNodesAsync(data, 0, 200, ct);
        var snapshots = new SnapshotStore(data).List();
        Assert.True(snapshots.Count >= 3, $"expected at least 3 snapshots, found {snapshots.Count}");
        var newest = snapshots[0];
        using (var fs = new FileStream(newest.Path, FileMode.Open))
        {
            fs.SetLength(fs.Length / 2);
        }

        var (count, report) = await RecoverAsync(data, ct);
        Assert.Equal(200, count);
        Assert.Contains(report.RejectedSnapshots, r => r.Snapshot.Path == newest.Path);
        Assert.NotEqual(newest.Path, report.Snapshot?.Path);

        // Garble the (new) newest snapshot's body instead of truncating it.
        var current = snapshots[1];
        using (var fs = new FileStream(current.Path, FileMode.Open))
        {
            fs.Position = fs.Length / 2;
            fs.Write([1, 2, 3, 4, 5, 6, 7, 8]);
        }

        var (again, report2) = await RecoverAsync(data, ct);
        Assert.Equal(200, again);
        Assert.Contains(report2.RejectedSnapshots, r => r.Snapshot.Path == current.Path);
    }
}
