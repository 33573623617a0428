using System.Collections.Concurrent;
using System.Text;
using Xunit;
using Zooflow.Client;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>
/// A real <c>zooflow server</c> process is SIGKILLed at random moments while writers issue creates, setData and multis
/// at full speed; after each restart every acknowledged write must be there with its data and no multi half applied.
/// </summary>
public sealed class CrashTests
{
    private const int Cycles = 20;
    private const int Writers = 4;

    [Fact]
    public async Task Server_KilledDuringWrites_AcknowledgedWritesSurvive()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-crash");
        var port = FreePort.Next();
        // A small snapCount so snapshots (and replay over fuzzy snapshots) happen during the test too.
        var cfg = Harness.WriteConfig(dir.Path, dir.Combine("data"), port, "snapCount=400\n");
        var random = new Random(20261125);
        var ackedCreates = new ConcurrentDictionary<string, byte[]>();
        var lastSet = new ConcurrentDictionary<string, long>(); // node -> highest acknowledged counter
        var attemptedMultis = new ConcurrentBag<(string A, string B, bool Acked)>();
        long totalCreates = 0, totalSets = 0, totalMultis = 0, verified = 0;
        var counter = 0L;

        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            await using var server = await Harness.StartZooflowAsync(cfg, port, dir.Path, ct);

            // Verify everything acknowledged in earlier cycles (pipelined, 500 reads in flight).
            await using (var check = await Harness.ConnectAsync(port, ct))
            {
                verified += await VerifyAsync(check, $"cycle {cycle}", ackedCreates, lastSet, attemptedMultis, ct);
                if (cycle == 0)
                {
                    await check.CreateAsync("/crash", [], cancellationToken: ct);
                    for (var w = 0; w < Writers; w++)
                    {
                        await check.CreateAsync($"/crash/s{w}", "0"u8.ToArray(), cancellationToken: ct);
                        lastSet[$"/crash/s{w}"] = 0;
                    }
                }
            }

            // Writers at full speed; SIGKILL at a random moment.
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                ZooKeeperClient? client = null;
                try
                {
                    client = await Harness.ConnectAsync(port, ct);
                    var pending = new List<Task>();
                    while (!stop.IsCancellationRequested)
                    {
                        var n = Interlocked.Increment(ref counter);
                        switch (n % 3)
                        {
                            case 0:
                                var path = $"/crash/c{n}";
                                var data = Encoding.ASCII.GetBytes($"create-{n}");
                                pending.Add(client.CreateAsync(path, data, cancellationToken: ct).ContinueWith(t =>
                                {
                                    if (t.IsCompletedSuccessfully)
                                    {
                                        ackedCreates[path] = data;
                                        Interlocked.Increment(ref totalCreates);
                                    }
                                }, TaskScheduler.Default));
                                _ = pending[^1];
                                break;
                            case 1:
                                var node = $"/crash/s{w}";
                                var value = n;
                                pending.Add(client.SetDataAsync(node, Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellationToken: ct).ContinueWith(t =>
                                {
                                    if (t.IsCompletedSuccessfully)
                                    {
                                        lastSet.AddOrUpdate(node, value, (_, old) => Math.Max(old, value));
                                        Interlocked.Increment(ref totalSets);
                                    }
                                }, TaskScheduler.Default));
                                _ = pending[^1];
                                break;
                            default:
                                var a = $"/crash/m{n}a";
                                var b = $"/crash/m{n}b";
                                pending.Add(client.MultiAsync([Op.Create(a, "ma"u8.ToArray()), Op.Create(b, "mb"u8.ToArray())], ct).ContinueWith(t =>
                                {
                                    attemptedMultis.Add((a, b, t.IsCompletedSuccessfully));
                                    if (t.IsCompletedSuccessfully)
                                    {
                                        Interlocked.Increment(ref totalMultis);
                                    }
                                }, TaskScheduler.Default));
                                _ = pending[^1];
                                break;
                        }

                        if (pending.Count >= 32)
                        {
                            await Task.WhenAny(pending);
                            pending.RemoveAll(t => t.IsCompleted);
                        }
                    }

                    await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(20), ct);
                }
                catch (Exception ex) when (ex is KeeperException or IOException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException or InvalidOperationException)
                {
                }
                finally
                {
                    if (client is not null)
                    {
                        _ = client.DisposeAsync().AsTask();
                    }
                }
            }, ct)).ToList();

            await Task.Delay(random.Next(150, 700), ct);
            server.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30), ct);
        }

        // Final check after the last kill.
        await using (var last = await Harness.StartZooflowAsync(cfg, port, dir.Path, ct))
        await using (var check = await Harness.ConnectAsync(port, ct))
        {
            verified += await VerifyAsync(check, "final", ackedCreates, lastSet, attemptedMultis, ct);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Cycles} SIGKILL cycles: acknowledged creates {totalCreates}, setData {totalSets}, multis {totalMultis}; attempted multis {attemptedMultis.Count}; checks passed {verified}");
        Assert.True(totalCreates > 0 && totalSets > 0 && totalMultis > 0, "writers made no progress");
    }

    private static async Task<long> VerifyAsync(ZooKeeperClient check, string when, ConcurrentDictionary<string, byte[]> creates,
        ConcurrentDictionary<string, long> sets, ConcurrentBag<(string A, string B, bool Acked)> multis, CancellationToken ct)
    {
        long n = 0;
        foreach (var chunk in creates.Chunk(500))
        {
            var reads = chunk.Select(async kv =>
            {
                var (got, _) = await check.GetDataAsync(kv.Key, cancellationToken: ct);
                Assert.True(kv.Value.AsSpan().SequenceEqual(got), $"{when}: acknowledged create {kv.Key} has wrong data");
            });
            await Task.WhenAll(reads);
            n += chunk.Length;
        }

        foreach (var (path, acked) in sets)
        {
            var (got, _) = await check.GetDataAsync(path, cancellationToken: ct);
            var value = long.Parse(Encoding.ASCII.GetString(got), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(value >= acked, $"{when}: {path} holds {value}, but {acked} was acknowledged");
            n++;
        }

        foreach (var chunk in multis.Chunk(250))
        {
            var checks = chunk.Select(async m =>
            {
                var a = check.ExistsAsync(m.A, cancellationToken: ct);
                var b = check.ExistsAsync(m.B, cancellationToken: ct);
                var hasA = await a is not null;
                var hasB = await b is not null;
                Assert.True(hasA == hasB, $"{when}: multi half applied ({m.A}: {hasA}, {m.B}: {hasB})");
                Assert.True(!m.Acked || hasA, $"{when}: acknowledged multi {m.A} lost");
            });
            await Task.WhenAll(checks);
            n += chunk.Length;
        }

        return n;
    }
}
