using System.Text.Json;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Tests.EndToEnd;

/// <summary>
/// Two real agents chained by the avro hop (issue 8 "Show"): agent A (source → memory → avro sink) sends to agent B
/// (avro source → channel → file_roll). B is killed with SIGKILL mid-stream and restarted on the same port; every event
/// A acknowledged must reach B's output at least once (duplicates counted and bounded by the batches in flight).
/// </summary>
/// <remarks>
/// <para>A's source is taildir on a log file the test appends to (<see cref="SourceA"/>): every line written to the
/// file counts as accepted by A.</para>
/// <para>Whether B can lose events it acknowledged depends on B's channel, not on the hop: with a memory channel the
/// events B had committed but not yet written die with B (at most its capacity, asserted and reported); with the file
/// channel nothing may be lost.</para>
/// </remarks>
public sealed class TwoTierTests
{
    private const int Events = 20_000;
    private const int BatchA = 100;
    private const int BatchB = 100;
    private const int MemoryCapacityB = 1_000;

    /// <summary>A's source: taildir on <paramref name="log"/>, its positions in A's directory.</summary>
    private static string SourceA(string log, string dirA) => $"""
        a1.sources.r1.type = TAILDIR
        a1.sources.r1.filegroups = f1
        a1.sources.r1.filegroups.f1 = {log}
        a1.sources.r1.positionFile = {Path.Combine(dirA, "taildir_position.json")}
        a1.sources.r1.batchSize = 100
        """;

    private static string ChannelB(string kind, string dir) => kind switch
    {
        "memory" => $"""
            a1.channels.c1.type = memory
            a1.channels.c1.capacity = {MemoryCapacityB}
            a1.channels.c1.transactionCapacity = 1000
            """,
        _ => $"""
            a1.channels.c1.type = file
            a1.channels.c1.checkpointDir = {Path.Combine(dir, "b-checkpoint")}
            a1.channels.c1.dataDirs = {Path.Combine(dir, "b-data")}
            a1.channels.c1.transactionCapacity = 1000
            """,
    };

    [Theory]
    [InlineData("memory")]
    [InlineData("file")]
    public async Task TwoTier_CollectorSigkilledMidStreamAndRestarted_EveryEventAcknowledgedByAReachesB(string channelB)
    {
        var dir = E2E.TempDir();
        var portB = E2E.FreeTcpPort();
        var metricsA = E2E.FreeTcpPort();
        var metricsB = E2E.FreeTcpPort();
        var output = Path.Combine(dir, "b-out");
        var dirA = Directory.CreateDirectory(Path.Combine(dir, "a")).FullName;
        var dirB = Directory.CreateDirectory(Path.Combine(dir, "b")).FullName;
        var configB = $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = avro
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {portB}
            a1.sources.r1.channels = c1
            {ChannelB(channelB, dir)}
            a1.sinks.k1.type = file_roll
            a1.sinks.k1.channel = c1
            a1.sinks.k1.sink.directory = {output}
            a1.sinks.k1.sink.rollInterval = 0
            a1.sinks.k1.sink.batchSize = {BatchB}
            """;
        var monitoringB = new[] { "-Dflume.monitoring.type=http", $"-Dflume.monitoring.port={metricsB}", "-Dflume.monitoring.bind=127.0.0.1" };
        var agentB = AgentProcess.Start(dirB, configB, monitoringB);
        try
        {
            await agentB.WaitForTcpAsync(portB);
            var log = Path.Combine(dir, "app.log");
            await File.WriteAllTextAsync(log, "", TestContext.Current.CancellationToken);
            await using var agentA = AgentProcess.Start(dirA, $"""
                a1.sources = r1
                a1.channels = c1
                a1.sinks = k1
                {SourceA(log, dirA)}
                a1.sources.r1.channels = c1
                a1.channels.c1.type = memory
                a1.channels.c1.capacity = 100000
                a1.channels.c1.transactionCapacity = 1000
                a1.sinks.k1.type = avro
                a1.sinks.k1.channel = c1
                a1.sinks.k1.hostname = 127.0.0.1
                a1.sinks.k1.port = {portB}
                a1.sinks.k1.batch-size = {BatchA}
                a1.sinks.k1.connect-timeout = 2000
                a1.sinks.k1.request-timeout = 2000
                """, "-Dflume.monitoring.type=http", $"-Dflume.monitoring.port={metricsA}", "-Dflume.monitoring.bind=127.0.0.1");
            await agentA.WaitForOutputAsync("Taildir source r1 started");
            var lines = E2E.Lines("hop", Events);

            // Every line is appended to A's tailed file while B dies and comes back. The feed is paced (200 lines per
            // 20 ms, about 2 s in all) so that the kill lands while events are flowing through B.
            var sending = AppendPacedAsync(log, lines);
            await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, Events / 5, agentB, "B's output before the kill");
            var pidB = agentB.Pid;
            await agentB.DisposeAsync(); // SIGKILL (Process.Kill) by PID
            var writtenAtKill = E2E.ReadLines(output).Count;
            agentB = AgentProcess.Start(dirB, configB, monitoringB);
            await agentB.WaitForTcpAsync(portB);
            await sending.WaitAsync(E2E.WaitLimit * 2, TestContext.Current.CancellationToken);

            // A is done when its sink had every event acknowledged by B; B is done when its channel is empty.
            await WaitForCounterAsync(metricsA, "SINK.k1", "EventDrainSuccessCount", Events, agentA);
            await WaitForChannelEmptyAsync(metricsB, agentB);

            var written = E2E.ReadLines(output);
            var distinct = written.ToHashSet(StringComparer.Ordinal);
            var lost = lines.Where(l => !distinct.Contains(l)).ToList();
            var duplicates = written.Count - distinct.Count;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"B ({channelB} channel) killed (pid {pidB}) with {writtenAtKill} lines written, restarted: {Events} appended to A's tailed file and acknowledged by B, {distinct.Count} distinct in B's output, {lost.Count} lost, {duplicates} duplicates");
            Assert.True(writtenAtKill < Events, $"B had written all {writtenAtKill} lines before the kill: not mid-stream");
            Assert.Empty(distinct.Except(lines, StringComparer.Ordinal));
            Assert.True(duplicates <= BatchA + BatchB, $"{duplicates} duplicates exceed the batches in flight ({BatchA} + {BatchB})");
            Assert.Contains("connected to 127.0.0.1:" + portB, agentA.Output, StringComparison.Ordinal);
            if (channelB == "memory")
            {
                // What B's memory channel held when it died is gone; the hop itself lost nothing more.
                Assert.True(lost.Count <= MemoryCapacityB, $"{lost.Count} lost exceeds B's memory channel capacity {MemoryCapacityB}");
            }
            else
            {
                Assert.Empty(lost);
            }
        }
        finally
        {
            await agentB.DisposeAsync();
        }
    }

    private static async Task AppendPacedAsync(string log, string[] lines)
    {
        foreach (var chunk in lines.Chunk(200))
        {
            await File.AppendAllLinesAsync(log, chunk, TestContext.Current.CancellationToken);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private static async Task WaitForCounterAsync(int metricsPort, string component, string name, long expected, AgentProcess agent)
    {
        using var http = new HttpClient { Timeout = E2E.WaitLimit };
        var deadline = DateTime.UtcNow + E2E.WaitLimit * 2;
        long seen;
        while ((seen = Counter(JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics", TestContext.Current.CancellationToken)).RootElement, component, name)) < expected)
        {
            agent.EnsureRunning();
            Assert.True(DateTime.UtcNow < deadline, $"{component}.{name} reached {seen} of {expected}\n{agent.Output}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>B has written everything it holds once A has nothing left for it and B's channel is empty (a take counts
    /// as done only when it committed, i.e. after file_roll flushed the batch). B's metrics are read only after the
    /// restart, so the kill leaves no connection on that port.</summary>
    private static async Task WaitForChannelEmptyAsync(int metricsPort, AgentProcess agent)
    {
        using var http = new HttpClient { Timeout = E2E.WaitLimit };
        var deadline = DateTime.UtcNow + E2E.WaitLimit;
        while (true)
        {
            agent.EnsureRunning();
            var metrics = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics", TestContext.Current.CancellationToken)).RootElement;
            if (metrics.TryGetProperty("CHANNEL.c1", out _) && Counter(metrics, "CHANNEL.c1", "ChannelSize") == 0)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"B's channel did not drain\n{agent.Output}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private static long Counter(JsonElement metrics, string component, string name) =>
        metrics.TryGetProperty(component, out var c) && c.TryGetProperty(name, out var v)
            ? long.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
}
