using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Recipes;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow bench</c>: a closed-loop load generator for any ZooKeeper-protocol server on loopback. Each of
/// <c>--sessions</c> sessions keeps <c>--in-flight</c> requests outstanding (pipelined on its one connection) for
/// <c>--duration</c> after <c>--warmup</c>, then reports ops/s and latency percentiles (HdrHistogram) as a table and JSON.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server", "-server") { Description = "host:port[,host:port] of the server (loopback only)", DefaultValueFactory = _ => "127.0.0.1:2181" };
        var op = new Option<string>("--op") { Description = "create | setData | getData | exists | delete | mix", DefaultValueFactory = _ => "setData" };
        var readRatio = new Option<double>("--read-ratio") { Description = "share of getData in --op mix (rest setData)", DefaultValueFactory = _ => 0.8 };
        var valueSize = new Option<int>("--value-size") { Description = "bytes per value", DefaultValueFactory = _ => 100 };
        var sessions = new Option<int>("--sessions") { Description = "number of sessions", DefaultValueFactory = _ => 4 };
        var inFlight = new Option<int>("--in-flight") { Description = "requests in flight per session", DefaultValueFactory = _ => 100 };
        var duration = new Option<double>("--duration") { Description = "measured seconds", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "warm-up seconds (not measured)", DefaultValueFactory = _ => 2 };
        var keys = new Option<int>("--keys") { Description = "nodes per session for setData/getData/exists/mix", DefaultValueFactory = _ => 1000 };
        var root = new Option<string>("--root") { Description = "parent node of the benchmark's nodes (deleted at the end)", DefaultValueFactory = _ => "/zooflow-bench" };
        var json = new Option<string?>("--json") { Description = "also write the result as JSON to this file ('-' = stdout)" };
        var quiet = new Option<bool>("--quiet") { Description = "no progress lines" };
        var spread = new Option<bool>("--spread") { Description = "connect session i to the i-th host of --server (round robin) instead of letting each session pick one: load spread evenly over an ensemble's members" };
        var successes = new Option<string?>("--log-successes") { Description = "append the wall-clock time (Unix ms) of every successful operation to this file, e.g. to time a failover" };
        var command = new Command("bench", "Load generator for any ZooKeeper-protocol server: ops/s and latency percentiles.")
        {
            server, op, readRatio, valueSize, sessions, inFlight, duration, warmup, keys, root, json, quiet, spread, successes,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var settings = new BenchSettings(
                parse.GetValue(server)!, parse.GetValue(op)!, parse.GetValue(readRatio), parse.GetValue(valueSize), parse.GetValue(sessions),
                parse.GetValue(inFlight), TimeSpan.FromSeconds(parse.GetValue(duration)), TimeSpan.FromSeconds(parse.GetValue(warmup)),
                parse.GetValue(keys), parse.GetValue(root)!, parse.GetValue(json), parse.GetValue(quiet))
            {
                Spread = parse.GetValue(spread),
                SuccessLog = parse.GetValue(successes),
            };
            var errors = settings.Validate();
            if (errors.Count > 0)
            {
                foreach (var e in errors)
                {
                    await Console.Error.WriteLineAsync("zooflow bench: " + e);
                }

                return 2;
            }

            try
            {
                var result = await new LoadGenerator(settings).RunAsync(cancellation);
                await Console.Out.WriteAsync(result.ToTable());
                if (settings.JsonPath is { } path)
                {
                    var text = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
                    if (path == "-")
                    {
                        await Console.Out.WriteLineAsync(text);
                    }
                    else
                    {
                        await File.WriteAllTextAsync(path, text + "\n", cancellation);
                    }
                }

                return result.Errors > 0 && result.Operations == 0 ? 1 : 0;
            }
            catch (Exception e) when (e is KeeperException or TimeoutException or IOException)
            {
                await Console.Error.WriteLineAsync("zooflow bench: " + e.Message);
                return 1;
            }
        });
        return command;
    }
}

/// <summary>Validated benchmark settings.</summary>
internal sealed record BenchSettings(string Server, string Op, double ReadRatio, int ValueSize, int Sessions, int InFlight,
    TimeSpan Duration, TimeSpan Warmup, int Keys, string Root, string? JsonPath, bool Quiet)
{
    /// <summary>Session i connects to host i mod n of <see cref="Server"/> only.</summary>
    public bool Spread { get; init; }

    /// <summary>File to append the Unix-ms time of every success to.</summary>
    public string? SuccessLog { get; init; }

    /// <summary>The connect string of session <paramref name="index"/>.</summary>
    public string ServerFor(int index)
    {
        if (!Spread)
        {
            return Server;
        }

        var parsed = ConnectString.Parse(Server);
        var (host, port) = parsed.Hosts[index % parsed.Hosts.Count];
        return host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
    }

    public List<string> Validate()
    {
        var errors = new List<string>();
        if (Op is not ("create" or "setData" or "getData" or "exists" or "delete" or "mix"))
        {
            errors.Add($"--op '{Op}': expected create, setData, getData, exists, delete or mix");
        }

        if (ReadRatio is < 0 or > 1)
        {
            errors.Add($"--read-ratio {ReadRatio}: expected 0..1");
        }

        if (ValueSize is < 0 or > 1_000_000)
        {
            errors.Add($"--value-size {ValueSize}: expected 0..1000000");
        }

        if (Sessions is < 1 or > 1000)
        {
            errors.Add($"--sessions {Sessions}: expected 1..1000");
        }

        if (InFlight is < 1 or > 10_000)
        {
            errors.Add($"--in-flight {InFlight}: expected 1..10000");
        }

        if (Duration <= TimeSpan.Zero || Warmup < TimeSpan.Zero)
        {
            errors.Add("--duration must be positive and --warmup not negative");
        }

        if (Keys < 1)
        {
            errors.Add($"--keys {Keys}: expected at least 1");
        }

        try
        {
            var parsed = ConnectString.Parse(Server);
            foreach (var (host, _) in parsed.Hosts)
            {
                var loopback = host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
                if (!loopback)
                {
                    errors.Add($"--server host '{host}' is not a loopback address: bench only loads local servers");
                }
            }
        }
        catch (ArgumentException e)
        {
            errors.Add("--server: " + e.Message);
        }

        return errors;
    }
}

/// <summary>The outcome of one run.</summary>
internal sealed record BenchResult(string Op, string Server, int Sessions, int InFlight, int ValueSize, double Seconds, long Operations,
    long Errors, double OpsPerSecond, double P50Us, double P90Us, double P99Us, double P999Us, double MaxUs, double MeanUs)
{
    public string ToTable()
    {
        var b = new StringBuilder();
        b.AppendLine(CultureInfo.InvariantCulture, $"{"op",-8} {"sessions",8} {"in-flight",9} {"value",6} {"ops",10} {"ops/s",10} {"p50 µs",9} {"p99 µs",9} {"p99.9 µs",9} {"max µs",9} {"errors",7}");
        b.AppendLine(CultureInfo.InvariantCulture,
            $"{Op,-8} {Sessions,8} {InFlight,9} {ValueSize,6} {Operations,10} {OpsPerSecond,10:0} {P50Us,9:0} {P99Us,9:0} {P999Us,9:0} {MaxUs,9:0} {Errors,7}");
        return b.ToString();
    }
}

/// <summary>Runs the closed loops and collects latencies (one histogram per loop, merged at the end: no shared locks).</summary>
internal sealed class LoadGenerator
{
    private const long HighestTrackableUs = 60_000_000;
    private readonly BenchSettings _settings;
    private long _completed;
    private long _errors;

    public LoadGenerator(BenchSettings settings)
    {
        _settings = settings;
    }

    public async Task<BenchResult> RunAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        var value = new byte[s.ValueSize];
        Random.Shared.NextBytes(value);
        var clients = new List<ZooKeeperClient>();
        try
        {
            for (var i = 0; i < s.Sessions; i++)
            {
                clients.Add(await ZooKeeperClient.ConnectAsync(s.ServerFor(i), new ZooKeeperClientOptions { SessionTimeout = TimeSpan.FromSeconds(30) }, cancellationToken));
            }

            var admin = clients[0];
            var runRoot = s.Root + "/run-" + Guid.NewGuid().ToString("N")[..8];
            await admin.EnsurePathAsync(runRoot, cancellationToken);
            var keyPaths = new List<string>[s.Sessions];
            for (var i = 0; i < s.Sessions; i++)
            {
                var sessionRoot = runRoot + "/s" + i.ToString(CultureInfo.InvariantCulture);
                await admin.CreateAsync(sessionRoot, null, cancellationToken: cancellationToken);
                keyPaths[i] = [];
                if (s.Op is "setData" or "getData" or "exists" or "mix")
                {
                    var creates = new List<Task<string>>();
                    for (var k = 0; k < s.Keys; k++)
                    {
                        creates.Add(clients[i].CreateAsync(sessionRoot + "/k" + k.ToString(CultureInfo.InvariantCulture), value, cancellationToken: cancellationToken));
                    }

                    keyPaths[i].AddRange(await Task.WhenAll(creates));
                }
            }

            var deleteQueues = new Queue<string>[s.Sessions];
            var measuring = false;
            var successLog = s.SuccessLog is null ? null : new System.Collections.Concurrent.ConcurrentQueue<long>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var histograms = new List<LongHistogram>();
            var loops = new List<Task>();
            for (var i = 0; i < s.Sessions; i++)
            {
                var client = clients[i];
                var sessionRoot = runRoot + "/s" + i.ToString(CultureInfo.InvariantCulture);
                var keysOfSession = keyPaths[i];
                deleteQueues[i] = new Queue<string>();
                var deleteQueue = deleteQueues[i];
                for (var j = 0; j < s.InFlight; j++)
                {
                    var histogram = new LongHistogram(HighestTrackableUs, 3);
                    histograms.Add(histogram);
                    var random = new Random(HashCode.Combine(i, j));
                    loops.Add(Task.Run(async () =>
                    {
                        while (!stop.IsCancellationRequested)
                        {
                            var start = Stopwatch.GetTimestamp();
                            try
                            {
                                await OneOpAsync(client, sessionRoot, keysOfSession, deleteQueue, value, random, stop.Token);
                            }
                            catch (OperationCanceledException) when (stop.IsCancellationRequested)
                            {
                                return;
                            }
                            catch (KeeperException)
                            {
                                Interlocked.Increment(ref _errors);
                                continue;
                            }

                            successLog?.Enqueue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

                            if (Volatile.Read(ref measuring))
                            {
                                var us = (Stopwatch.GetTimestamp() - start) * 1_000_000 / Stopwatch.Frequency;
                                histogram.RecordValue(Math.Min(us, HighestTrackableUs));
                                Interlocked.Increment(ref _completed);
                            }
                        }
                    }, CancellationToken.None));
                }
            }

            if (s.Warmup > TimeSpan.Zero)
            {
                await Task.Delay(s.Warmup, cancellationToken);
            }

            Volatile.Write(ref measuring, true);
            Interlocked.Exchange(ref _errors, 0);
            var clock = Stopwatch.StartNew();
            var lastCount = 0L;
            while (clock.Elapsed < s.Duration)
            {
                var step = TimeSpan.FromSeconds(Math.Min(1, (s.Duration - clock.Elapsed).TotalSeconds));
                await Task.Delay(step, cancellationToken);
                if (!s.Quiet)
                {
                    var count = Interlocked.Read(ref _completed);
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  {clock.Elapsed.TotalSeconds,5:0.0}s  {(count - lastCount) / step.TotalSeconds,10:0} ops/s  total {count}"));
                    lastCount = count;
                }
            }

            Volatile.Write(ref measuring, false);
            var seconds = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            await Task.WhenAll(loops);
            var merged = new LongHistogram(HighestTrackableUs, 3);
            foreach (var h in histograms)
            {
                merged.Add(h);
            }

            try
            {
                await admin.DeleteRecursiveAsync(runRoot, CancellationToken.None);
            }
            catch (KeeperException)
            {
            }

            if (successLog is not null)
            {
                var times = successLog.ToArray();
                Array.Sort(times);
                await File.AppendAllLinesAsync(s.SuccessLog!, times.Select(t => t.ToString(CultureInfo.InvariantCulture)), CancellationToken.None);
            }

            var operations = merged.TotalCount;
            return new BenchResult(s.Op, s.Server, s.Sessions, s.InFlight, s.ValueSize, seconds, operations, Interlocked.Read(ref _errors),
                operations / seconds, merged.GetValueAtPercentile(50), merged.GetValueAtPercentile(90), merged.GetValueAtPercentile(99),
                merged.GetValueAtPercentile(99.9), merged.GetMaxValue(), merged.GetMean());
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    private async Task OneOpAsync(ZooKeeperClient client, string sessionRoot, List<string> keys, Queue<string> deleteQueue, byte[] value,
        Random random, CancellationToken token)
    {
        switch (_settings.Op)
        {
            case "create":
                await client.CreateAsync(sessionRoot + "/c-", value, mode: CreateMode.PersistentSequential, cancellationToken: token);
                break;
            case "setData":
                await client.SetDataAsync(keys[random.Next(keys.Count)], value, -1, token);
                break;
            case "getData":
                await client.GetDataAsync(keys[random.Next(keys.Count)], watch: false, token);
                break;
            case "exists":
                await client.ExistsAsync(keys[random.Next(keys.Count)], watch: false, token);
                break;
            case "mix":
                if (random.NextDouble() < _settings.ReadRatio)
                {
                    await client.GetDataAsync(keys[random.Next(keys.Count)], watch: false, token);
                }
                else
                {
                    await client.SetDataAsync(keys[random.Next(keys.Count)], value, -1, token);
                }

                break;
            case "delete":
                // Each delete needs a node: create one (not measured separately) and delete it; latency covers the pair.
                string? victim;
                lock (deleteQueue)
                {
                    deleteQueue.TryDequeue(out victim);
                }

                victim ??= await client.CreateAsync(sessionRoot + "/d-", value, mode: CreateMode.PersistentSequential, cancellationToken: token);
                await client.DeleteAsync(victim, -1, token);
                break;
        }
    }
}
