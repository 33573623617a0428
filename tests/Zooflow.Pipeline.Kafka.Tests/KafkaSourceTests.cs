using System.Globalization;
using Xunit;
using Zooflow.Pipeline.Kafka.Tests.Infrastructure;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// kcat → mock cluster → Kafka source → memory → collect. Flume semantics checked: FlumeUserGuide "Kafka Source"
/// (headers topic/partition/offset/timestamp/key, at-least-once with auto-commit off) and KafkaSource.doProcess (offsets
/// committed after processEventBatch returned).
/// </summary>
public sealed class KafkaSourceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Flow(string bootstrap, string topic, int batchSize = 500, string sinkExtra = "", string sourceExtra = "") => $"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
        a1.sources.r1.channels = c1
        a1.sources.r1.kafka.bootstrap.servers = {bootstrap}
        a1.sources.r1.kafka.topics = {topic}
        a1.sources.r1.batchSize = {batchSize}
        a1.sources.r1.batchDurationMillis = 200
        a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
        {sourceExtra}
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 1000
        a1.sinks.k1.type = collect
        a1.sinks.k1.channel = c1
        a1.sinks.k1.batchSize = 1000
        {sinkExtra}
        """;

    private static IEnumerable<(string Key, string Value)> Records(int count, int from = 0) =>
        Enumerable.Range(from, count).Select(i => ($"k{i % 10}", "v" + i.ToString(CultureInfo.InvariantCulture)));

    [Fact]
    public async Task Source_KcatRecords_ArriveWithFlumeHeadersAndOffsetsCommittedAfterTheChannel()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(3, "in:3");
        await Kcat.ProduceAsync(kafka.Bootstrap, "in", Records(1500));
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, "in"));
        var sink = agent.Collector();

        await TestAgent.WaitUntilAsync(() => sink.Count >= 1500, Limit, () => $"collected {sink.Count}\n{agent.Logs.Dump()}");

        Assert.Equal(0, Delivered.AssertNoneLost(Records(1500).Select(r => r.Value), sink.Bodies(), "source"));
        foreach (var e in sink.Events)
        {
            Assert.Equal("in", e.Headers["topic"]);
            Assert.InRange(int.Parse(e.Headers["partition"], CultureInfo.InvariantCulture), 0, 2);
            Assert.True(long.Parse(e.Headers["offset"], CultureInfo.InvariantCulture) >= 0);
            Assert.InRange(long.Parse(e.Headers["timestamp"], CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var index = int.Parse(System.Text.Encoding.UTF8.GetString(e.Body.Span)[1..], CultureInfo.InvariantCulture);
            Assert.Equal($"k{index % 10}", e.Headers["key"]);
        }
        // Same key, same partition (the producer's partitioner) — and the offsets are committed for all 1500.
        Assert.All(sink.Events.GroupBy(e => e.Headers["key"]), g => Assert.Single(g.Select(e => e.Headers["partition"]).Distinct()));
        await TestAgent.WaitUntilAsync(() => Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 3).Values.Sum() == 1500, Limit,
            () => string.Join(", ", Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 3)));
    }

    [Fact]
    public async Task Source_ChannelFull_HoldsTheBatchCommitsOnlyWhatTheChannelTookAndLosesNothing()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(1, "in:2");
        await Kcat.ProduceAsync(kafka.Bootstrap, "in", Records(1000));
        var config = Flow(kafka.Bootstrap, "in", batchSize: 100, sinkExtra: "a1.sinks.k1.paused = true")
            .Replace("a1.channels.c1.capacity = 10000", "a1.channels.c1.capacity = 300")
            .Replace("a1.channels.c1.transactionCapacity = 1000", "a1.channels.c1.transactionCapacity = 100")
            .Replace("a1.sinks.k1.batchSize = 1000", "a1.sinks.k1.batchSize = 100");
        await using var agent = await TestAgent.StartAsync(config);
        var source = agent.Counters.Source("r1");
        var channel = agent.Host.Channels["c1"];

        // The channel fills (300) and refuses the next batch: the source holds it, pauses and commits only what it put.
        await TestAgent.WaitUntilAsync(() => channel.Size == 300 && source.ChannelWriteFail >= 2, Limit, () => $"size {channel.Size}, refusals {source.ChannelWriteFail}\n{agent.Logs.Dump()}");
        await TestAgent.WaitUntilAsync(() => Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 2).Values.Where(v => v > 0).Sum() == 300, Limit,
            () => string.Join(", ", Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 2)));
        Assert.Equal(300, source.EventAcceptedCount);

        agent.Collector().Paused = false;
        await TestAgent.WaitUntilAsync(() => agent.Collector().Count >= 1000, Limit, () => $"collected {agent.Collector().Count}\n{agent.Logs.Dump()}");
        Assert.Equal(0, Delivered.AssertNoneLost(Records(1000).Select(r => r.Value), agent.Collector().Bodies(), "source with a full channel"));
        await TestAgent.WaitUntilAsync(() => Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 2).Values.Sum() == 1000, Limit, () => "offsets not committed");
    }

    [Fact]
    public async Task Source_SecondAgentJoinsAndFirstLeaves_RebalancesLoseNothing()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(3, "in:4");
        await Kcat.ProduceAsync(kafka.Bootstrap, "in", Records(1000));
        // Short group timeouts so the rebalances settle in seconds (librdkafka's session timeout is 45 s).
        var groupTimeouts = "a1.sources.r1.kafka.consumer.session.timeout.ms = 6000\na1.sources.r1.kafka.consumer.heartbeat.interval.ms = 300";
        var config = Flow(kafka.Bootstrap, "in", batchSize: 100, sourceExtra: groupTimeouts).Replace("a1.sinks.k1.batchSize = 1000", "a1.sinks.k1.batchSize = 100");
        var first = await TestAgent.StartAsync(config);
        var firstStopped = false;
        try
        {
            await TestAgent.WaitUntilAsync(() => first.Collector().Count >= 300, Limit, () => first.Logs.Dump());

            // A second member joins: the group rebalances (the first's partitions are revoked and reassigned).
            await using var second = await TestAgent.StartAsync(config);
            await TestAgent.WaitUntilAsync(() => second.Logs.Contains(Microsoft.Extensions.Logging.LogLevel.Information, ": assigned in["), Limit, () => second.Logs.Dump());
            await Kcat.ProduceAsync(kafka.Bootstrap, "in", Records(1000, from: 1000));
            await TestAgent.WaitUntilAsync(() => first.Collector().Bodies().Union(second.Collector().Bodies()).Distinct().Count() >= 2000, Limit,
                () => $"first {first.Collector().Count}, second {second.Collector().Count}\n{second.Logs.Dump()}");

            // The first leaves: the second takes every partition and reads on from the committed offsets.
            var firstCollected = first.Collector().Bodies();
            await first.DisposeAsync();
            firstStopped = true;
            await Kcat.ProduceAsync(kafka.Bootstrap, "in", Records(1000, from: 2000));
            await TestAgent.WaitUntilAsync(() => firstCollected.Union(second.Collector().Bodies()).Distinct().Count() >= 3000, Limit,
                () => $"first {firstCollected.Count}, second {second.Collector().Count}\n{second.Logs.Dump()}");

            var duplicates = Delivered.AssertNoneLost(Records(3000).Select(r => r.Value), [.. firstCollected, .. second.Collector().Bodies()], "two sources of one group");
            Assert.True(duplicates <= 200, $"{duplicates} duplicates: more than the two batches that can be in flight at a rebalance\nFIRST\n{first.Logs.Dump()}\nSECOND\n{second.Logs.Dump()}");
            Assert.True(first.Logs.Contains(Microsoft.Extensions.Logging.LogLevel.Information, "partitions revoked"), first.Logs.Dump());
            Assert.True(second.Collector().Count > 0);
        }
        finally
        {
            if (!firstStopped)
            {
                await first.DisposeAsync();
            }
        }
    }
}
