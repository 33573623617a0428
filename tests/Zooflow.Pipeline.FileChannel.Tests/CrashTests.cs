using System.Globalization;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Issue 7 "Show": real <c>zooflow agent</c> processes (netcat → file channel → file_roll) fed continuously and killed
/// with SIGKILL at random moments — while sending, while checkpointing, while replaying at start. At the end every line
/// the source acknowledged is in the sink's output at least once; duplicates are counted, reported, and bounded by the
/// sink batch that may have been written but not committed at each crash. Cycles: <c>ZOOFLOW_CRASH_CYCLES</c>
/// (default 20); seed: <c>ZOOFLOW_CRASH_SEED</c> (printed, so a failure can be replayed).
/// </summary>
public sealed class CrashTests
{
    private const int SinkBatch = 100;

    [Fact]
    public async Task Agent_KilledAtRandomMoments_EveryAcknowledgedEventIsDelivered()
    {
        AgentProcess.RequireCli();
        var cycles = int.Parse(Environment.GetEnvironmentVariable("ZOOFLOW_CRASH_CYCLES") ?? "20", CultureInfo.InvariantCulture);
        var seed = int.Parse(Environment.GetEnvironmentVariable("ZOOFLOW_CRASH_SEED") ?? Random.Shared.Next().ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var random = new Random(seed);
        var log = TestContext.Current.TestOutputHelper;
        log?.WriteLine($"seed {seed} (ZOOFLOW_CRASH_SEED={seed} replays the kill schedule), {cycles} cycles");
        using var dir = new TempDir("zooflow-fc-crash");
        var acked = new List<long>();
        var sent = 0L;
        var nextId = 0L;
        var killedWhileStarting = 0;
        var restartMs = new List<long>();

        for (var cycle = 0; cycle < cycles; cycle++)
        {
            var port = FreePort.Next();
            var started = DateTime.UtcNow;
            await using var agent = AgentProcess.Start(dir.Path, Config(dir, port), "--no-reload-conf");
            if (random.Next(5) == 0)
            {
                // Kill during start-up: replaying, or just before the source listens.
                await Task.Delay(random.Next(50, 600), TestContext.Current.CancellationToken);
                await agent.KillAsync();
                killedWhileStarting++;
                continue;
            }
            await agent.WaitForTcpAsync(port);
            restartMs.Add((long)(DateTime.UtcNow - started).TotalMilliseconds);
            await using var feeder = await LineFeeder.StartAsync(port, "crash", nextId);
            // Kill at a random moment once events flow (the first commit of a fresh Debug process can take a while on a
            // loaded machine, and a kill before it would test nothing new).
            await E2E.WaitForCountAsync(() => (int)Math.Min(feeder.Acked, 1), 1, agent, "a first acknowledgement");
            await Task.Delay(random.Next(0, 1000), TestContext.Current.CancellationToken);
            await agent.KillAsync();
            await feeder.Receiving.WaitAsync(E2E.WaitLimit, TestContext.Current.CancellationToken);
            acked.AddRange(feeder.AckedIds());
            sent += feeder.Sent;
            log?.WriteLine($"cycle {cycle}: listening after {restartMs[^1]} ms, {feeder.Sent} lines sent, {feeder.Acked} acknowledged");
            nextId += feeder.Sent + 1000; // past a chunk the source may have read in part
            Assert.True(feeder.Acked <= feeder.Sent);
        }

        // A last run drains the channel into the sink; then a clean stop.
        var lastPort = FreePort.Next();
        await using (var agent = AgentProcess.Start(dir.Path, Config(dir, lastPort), "--no-reload-conf"))
        {
            await agent.WaitForTcpAsync(lastPort);
            var wanted = acked.ToHashSet();
            await E2E.WaitForCountAsync(() => E2E.ReadLines(dir.Combine("out")).Count(l => wanted.Contains(Id(l))), wanted.Count, agent, "acknowledged lines in the output");
            Assert.Equal(0, await agent.StopAsync());
        }

        var output = E2E.ReadLines(dir.Combine("out"));
        var counts = new Dictionary<long, int>();
        foreach (var line in output)
        {
            var id = Id(line);
            Assert.True(id >= 0 && id < nextId, $"line '{line}' was never sent");
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        var missing = acked.Where(id => !counts.ContainsKey(id)).ToList();
        var duplicates = counts.Values.Sum(c => c - 1);
        var unacknowledgedDelivered = counts.Keys.Count(id => !acked.Contains(id));
        log?.WriteLine($"{cycles} cycles ({killedWhileStarting} killed while starting): {sent} lines sent, {acked.Count} acknowledged, " +
            $"{counts.Count} distinct delivered ({unacknowledgedDelivered} committed but not yet acknowledged at a crash), {duplicates} duplicate copies, " +
            $"{missing.Count} acknowledged lines missing; start to listening: median {Median(restartMs)} ms, max {restartMs.DefaultIfEmpty().Max()} ms");
        Assert.True(acked.Count > 0, "nothing was acknowledged: the test proved nothing");
        Assert.Empty(missing);
        Assert.True(duplicates <= cycles * SinkBatch, $"{duplicates} duplicates exceed one sink batch ({SinkBatch}) per crash ({cycles} crashes)");
    }

    private static long Id(string line)
    {
        var parts = line.Split('-');
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1;
    }

    private static long Median(List<long> values) => values.Count == 0 ? 0 : values.Order().ElementAt(values.Count / 2);

    private static string Config(TempDir dir, int port) => $"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = netcat
        a1.sources.r1.bind = 127.0.0.1
        a1.sources.r1.port = {port}
        a1.sources.r1.batchSize = 100
        a1.sources.r1.channels = c1
        a1.channels.c1.type = file
        a1.channels.c1.checkpointDir = {dir.Combine("checkpoint")}
        a1.channels.c1.useDualCheckpoints = true
        a1.channels.c1.backupCheckpointDir = {dir.Combine("backup")}
        a1.channels.c1.dataDirs = {dir.Combine("data1")},{dir.Combine("data2")}
        a1.channels.c1.checkpointInterval = 300
        a1.channels.c1.maxFileSize = 262144
        a1.channels.c1.capacity = 200000
        a1.channels.c1.transactionCapacity = 1000
        a1.channels.c1.minimumRequiredSpace = 1048576
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {dir.Combine("out")}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.batchSize = {SinkBatch}
        """;
}
