using System.Globalization;
using Xunit;
using Zooflow.Pipeline.Kafka.Tests.Infrastructure;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// Brokers fail mid-stream; nothing the source acknowledged (sink side: nothing the channel handed over) may be lost,
/// and duplicates are counted and reported.
/// </summary>
/// <remarks>
/// <para>The fault injected: librdkafka's mock cluster runs every broker inside one process
/// (tests/Zooflow.Kafka.MockCluster), so a broker cannot be killed alone. <c>rd_kafka_mock_broker_set_down</c> is the
/// closest thing: it closes every connection of that broker and refuses new ones, so clients see exactly what they see
/// when a broker process dies (connection reset, then connection refused). It does not move partition leadership:
/// the test then moves it with <c>rd_kafka_mock_partition_set_leader</c>, as a controller would after the broker's
/// session expired. What it cannot show: a real broker losing acknowledged data — the mock keeps one log per
/// partition shared by all replicas, so acks=all versus acks=1 makes no difference here.</para>
/// </remarks>
public sealed class KafkaFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    /// <summary>Events of the sink run; ZOOFLOW_KAFKA_SOAK_EVENTS=1000000 makes it a soak (CI runs the bounded default).</summary>
    private static readonly int SinkEvents = int.TryParse(Environment.GetEnvironmentVariable("ZOOFLOW_KAFKA_SOAK_EVENTS"), out var n) && n > 0 ? n : 20_000;

    [Fact]
    public async Task Sink_LeaderBrokerDownMidStream_NothingIsLostAndFailedBatchesAreRetried()
    {
        Kcat.Require();
        var events = SinkEvents;
        await using var kafka = await MockKafka.StartAsync(3, "events:3");
        for (var partition = 0; partition < 3; partition++)
        {
            await kafka.SetLeaderAsync("events", partition, partition + 1);
        }
        var config = $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = seq
            a1.sources.r1.totalEvents = {events}
            a1.sources.r1.batchSize = 100
            a1.sources.r1.channels = c1
            a1.channels.c1.type = memory
            a1.channels.c1.capacity = 5000
            a1.channels.c1.transactionCapacity = 100
            a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
            a1.sinks.k1.channel = c1
            a1.sinks.k1.kafka.bootstrap.servers = {kafka.Bootstrap}
            a1.sinks.k1.kafka.topic = events
            a1.sinks.k1.flumeBatchSize = 100
            a1.sinks.k1.kafka.producer.acks = all
            a1.sinks.k1.kafka.producer.delivery.timeout.ms = 1000
            a1.sinks.k1.kafka.producer.reconnect.backoff.max.ms = 200
            """;
        await using var agent = await TestAgent.StartAsync(config);
        var sink = agent.Counters.Sink("k1");
        await TestAgent.WaitUntilAsync(() => sink.EventDrainSuccessCount >= 2000, Limit, () => agent.Logs.Dump());

        // Broker 1 (leader of partition 0) goes down with no leader change: batches with events for partition 0 cannot
        // be acknowledged within delivery.timeout.ms, are rolled back and retried.
        await kafka.BrokerDownAsync(1);
        var rollbacks = sink.Attribute("RollbackCount");
        await TestAgent.WaitUntilAsync(() => rollbacks.Value >= 2, Limit, () => agent.Logs.Dump());
        // The "controller" elects broker 2 for partition 0: the retried batches go through.
        await kafka.SetLeaderAsync("events", 0, 2);
        var afterElection = sink.EventDrainSuccessCount;
        await TestAgent.WaitUntilAsync(() => sink.EventDrainSuccessCount >= afterElection + 2000, Limit, () => agent.Logs.Dump());
        // A second broker fails and its partitions move at once; then broker 1 comes back.
        await kafka.BrokerDownAsync(2);
        await kafka.SetLeaderAsync("events", 0, 3);
        await kafka.SetLeaderAsync("events", 1, 3);
        await kafka.BrokerUpAsync(1);
        await TestAgent.WaitUntilAsync(() => sink.EventDrainSuccessCount == events, Limit, () => $"drained {sink.EventDrainSuccessCount}\n{agent.Logs.Dump()}");

        var bodies = (await Kcat.ConsumeAllAsync(kafka.Bootstrap, "events")).Select(r => r.ValueText).ToList();
        Delivered.AssertNoneLost(Enumerable.Range(0, events).Select(i => i.ToString(CultureInfo.InvariantCulture)), bodies, "sink across broker failures");
        Assert.True(rollbacks.Value >= 2);
        Assert.True(sink.EventWriteFail >= 2);
        Assert.Equal(0, agent.Host.Channels["c1"].Size);
    }

    [Fact]
    public async Task Source_LeaderBrokerDownMidStream_EveryRecordArrives()
    {
        Kcat.Require();
        const int Records = 6000;
        await using var kafka = await MockKafka.StartAsync(3, "in:3");
        for (var partition = 0; partition < 3; partition++)
        {
            await kafka.SetLeaderAsync("in", partition, partition + 1);
        }
        // Records are produced in three thirds: before, during the first failure and during the second.
        Task ProduceThirdAsync(int third) => Kcat.ProduceAsync(kafka.Bootstrap, "in",
            Enumerable.Range(third * Records / 3, Records / 3).Select(i => ("k" + (i % 7), "r" + i.ToString(CultureInfo.InvariantCulture))));
        await ProduceThirdAsync(0);
        var config = $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.sources.r1.kafka.bootstrap.servers = {kafka.Bootstrap}
            a1.sources.r1.kafka.topics = in
            a1.sources.r1.batchSize = 100
            a1.sources.r1.batchDurationMillis = 100
            a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
            a1.sources.r1.kafka.consumer.max.partition.fetch.bytes = 4096
            a1.sources.r1.kafka.consumer.session.timeout.ms = 6000
            a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 300
            a1.sources.r1.kafka.consumer.reconnect.backoff.max.ms = 200
            a1.channels.c1.type = memory
            a1.channels.c1.capacity = 10000
            a1.channels.c1.transactionCapacity = 100
            a1.sinks.k1.type = collect
            a1.sinks.k1.channel = c1
            a1.sinks.k1.batchSize = 100
            """;
        await using var agent = await TestAgent.StartAsync(config);
        var sink = agent.Collector();
        await TestAgent.WaitUntilAsync(() => sink.Count >= 600, Limit, () => State(agent));

        // Broker 1 leads partition 0 and coordinates the group; it goes down, and (as a real cluster's controller
        // would) partition 0 and the group's coordinator move to broker 2. Then broker 2 fails the same way.
        await kafka.SetCoordinatorAsync("flume", 1);
        await kafka.BrokerDownAsync(1);
        await kafka.SetLeaderAsync("in", 0, 2);
        await kafka.SetCoordinatorAsync("flume", 2);
        await ProduceThirdAsync(1);
        await TestAgent.WaitUntilAsync(() => sink.Bodies().Distinct().Count() >= 2 * Records / 3, Limit, () => State(agent));
        await kafka.BrokerUpAsync(1);
        await kafka.BrokerDownAsync(2);
        await kafka.SetLeaderAsync("in", 0, 3);
        await kafka.SetLeaderAsync("in", 1, 3);
        await kafka.SetCoordinatorAsync("flume", 3);
        await ProduceThirdAsync(2);
        await kafka.BrokerUpAsync(2);
        await TestAgent.WaitUntilAsync(() => sink.Bodies().Distinct().Count() >= Records, Limit, () => $"collected {sink.Count}\n{agent.Logs.Dump()}");

        Delivered.AssertNoneLost(Enumerable.Range(0, Records).Select(i => "r" + i.ToString(CultureInfo.InvariantCulture)), sink.Bodies(), "source across broker failures");
        await TestAgent.WaitUntilAsync(() => Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 3).Values.Sum() == Records, Limit,
            () => string.Join(", ", Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "in", 3)) + "\n" + agent.Logs.Dump());
    }

    private static string State(TestAgent agent) =>
        $"collected {agent.Collector().Count}, source {string.Join(", ", agent.Counters.Source("r1").Snapshot().Select(p => p.Key + "=" + p.Value))}\n{agent.Logs.Dump()}";
}
