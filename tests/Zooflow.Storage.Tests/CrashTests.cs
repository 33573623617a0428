using System.Globalization;
using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Real kill -9: a child process appends with group commit and prints each zxid once it is durable; it is killed with
/// SIGKILL at random moments. After every restart, every acknowledged zxid must be readable with its payload
/// (STYLE.md convention 12; issue 3 "no acknowledged write is ever lost").
/// </summary>
public sealed class CrashTests
{
    [Fact]
    public async Task AppendAsync_KilledWithSigkillRepeatedly_EveryAcknowledgedZxidSurvives()
    {
        const int Cycles = 10;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"seed {seed}");
        using var dir = new TempDirectory();
        long maxAcknowledged = 0;
        long acknowledgedTotal = 0;
        var repairs = 0;
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            using var child = DriverProcess.Start("append", dir.Path, "64");
            var ready = await child.ReadLineAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(ready);
            Assert.StartsWith("READY ", ready, StringComparison.Ordinal);
            var parts = ready.Split(' ');
            var recoveredLast = long.Parse(parts[1], CultureInfo.InvariantCulture);
            repairs += int.Parse(parts[2], CultureInfo.InvariantCulture);
            Assert.True(recoveredLast >= maxAcknowledged, $"cycle {cycle} (seed {seed}): log recovered to {recoveredLast}, but {maxAcknowledged} was acknowledged");

            var killAfter = random.Next(1, 3000);
            var acknowledged = new List<long>();
            while (acknowledged.Count < killAfter)
            {
                var line = await child.ReadLineAsync(TimeSpan.FromSeconds(60));
                Assert.NotNull(line);
                Assert.StartsWith("ACK ", line, StringComparison.Ordinal);
                acknowledged.Add(long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
            }

            await child.KillAsync();
            foreach (var line in child.DrainReceived())
            {
                if (line.StartsWith("ACK ", StringComparison.Ordinal))
                {
                    acknowledged.Add(long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
                }
            }

            acknowledgedTotal += acknowledged.Count;
            maxAcknowledged = Math.Max(maxAcknowledged, acknowledged.Max());
        }

        await using var log = TxnLog.Open(Options(dir.Path));
        Assert.True(log.LastZxid >= maxAcknowledged, $"seed {seed}: last zxid {log.LastZxid} < acknowledged {maxAcknowledged}");
        // The driver appends 1, 2, 3, ... so the surviving log must be exactly 1..LastZxid with the right payloads.
        AssertHolds(log, 1, log.LastZxid);
        output?.WriteLine($"{Cycles} kills, {acknowledgedTotal} acknowledged appends, highest acknowledged {maxAcknowledged}, " +
            $"log holds {log.LastZxid} in {log.Segments.Count} segments, {repairs} recovery repair(s) during restarts");
    }
}

/// <summary>
/// Real kill -9 during snapshot writing: after every kill the newest valid snapshot is at least the last acknowledged one,
/// with the right body, and no temp file is ever loaded (issue 3: temp name, fsync, rename, directory fsync).
/// </summary>
public sealed class SnapshotCrashTests
{
    [Fact]
    public async Task WriteAsync_KilledWithSigkillRepeatedly_NewestValidSnapshotIsAcknowledgedOrLater()
    {
        const int Cycles = 5;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        using var dir = new TempDirectory();
        long acknowledged = 0;
        var rejectedTotal = 0;
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            using var child = DriverProcess.Start("snapshot", dir.Path);
            var ready = await child.ReadLineAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(ready);
            Assert.StartsWith("READY ", ready, StringComparison.Ordinal);
            var killAfter = random.Next(1, 6);
            for (var i = 0; i < killAfter; i++)
            {
                var line = await child.ReadLineAsync(TimeSpan.FromSeconds(60));
                Assert.NotNull(line);
                Assert.StartsWith("SNAP ", line, StringComparison.Ordinal);
                acknowledged = long.Parse(line.AsSpan(5), CultureInfo.InvariantCulture);
            }

            await child.KillAsync();
            foreach (var line in child.DrainReceived())
            {
                acknowledged = long.Parse(line.AsSpan(5), CultureInfo.InvariantCulture);
            }

            var store = new SnapshotStore(dir.Path);
            byte[]? body = null;
            var result = await store.LoadNewestAsync(async (stream, _, ct) =>
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, ct);
                body = buffer.ToArray();
            }, Ct);
            rejectedTotal += result.Rejected.Count;
            Assert.NotNull(result.Loaded);
            Assert.True(result.Loaded.Value.Zxid >= acknowledged, $"seed {seed} cycle {cycle}: loaded {result.Loaded.Value.Zxid} < acknowledged {acknowledged}");
            var expected = new byte[1024 * 1024];
            new Random((int)result.Loaded.Value.Zxid).NextBytes(expected);
            Assert.Equal(expected, body);
            Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp"));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed}: {Cycles} kills, last acknowledged snapshot {acknowledged}, {rejectedTotal} rejected file(s)");
    }
}
