using System.Globalization;
using Xunit;
using Zooflow.Pipeline.Kafka.Tests.Infrastructure;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// Flows through the Kafka channel on the mock cluster. Flume semantics checked: FlumeUserGuide "Kafka Channel" (the
/// three uses: source and sink, source only, sink only; parseAsFlumeEvent) and KafkaChannel's transactions (puts sent
/// and acknowledged at commit, offsets committed at take commit, rolled-back takes taken again).
/// </summary>
public sealed class KafkaChannelTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Flow(string bootstrap, int events, string sinkExtra = "", string channelExtra = "") => $"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = {events}
        a1.sources.r1.batchSize = 100
        a1.sources.r1.channels = c1
        a1.sources.r1.interceptors = h
        a1.sources.r1.interceptors.h.type = static
        a1.sources.r1.interceptors.h.key = origin
        a1.sources.r1.interceptors.h.value = seq-r1
        a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
        a1.channels.c1.kafka.bootstrap.servers = {bootstrap}
        a1.channels.c1.kafka.topic = chan
        a1.channels.c1.pollTimeout = 100
        {channelExtra}
        a1.sinks.k1.type = collect
        a1.sinks.k1.channel = c1
        a1.sinks.k1.batchSize = 100
        {sinkExtra}
        """;

    private static IEnumerable<string> Numbers(int count) => Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public async Task Channel_SeqToCollect_EveryEventArrivesOnceWithItsHeaders()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(3, "chan:3");
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, 2000));
        var sink = agent.Collector();

        await TestAgent.WaitUntilAsync(() => sink.Count >= 2000, Limit, () => $"collected {sink.Count}\n{agent.Logs.Dump()}");

        Assert.Equal(0, Delivered.AssertNoneLost(Numbers(2000), sink.Bodies(), "kafka channel"));
        Assert.All(sink.Events, e => Assert.Equal("seq-r1", e.Headers["origin"])); // parseAsFlumeEvent keeps headers
        var counter = agent.Counters.Channel("c1");
        Assert.Equal(2000, counter.EventPutSuccessCount);
        await TestAgent.WaitUntilAsync(() => counter.EventTakeSuccessCount == 2000, Limit, () => $"{counter.EventTakeSuccessCount}");
        // Independent check: the topic holds 2000 AvroFlumeEvent datums, and the group committed past all of them.
        var records = await Kcat.ConsumeAllAsync(kafka.Bootstrap, "chan");
        Assert.Equal(2000, records.Count);
        Assert.All(records, r => Assert.Equal("seq-r1", AvroFlumeEventCodec.Decode(r.Value).Headers["origin"]));
        Assert.Equal(2000, Delivered.CommittedOffsets(kafka.Bootstrap, "flume", "chan", 3).Values.Sum());
    }

    [Fact]
    public async Task Channel_SinkRollsBack_TheSameEventsAreTakenAgain()
    {
        await using var kafka = await MockKafka.StartAsync(1, "chan:2");
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, 500, "a1.sinks.k1.failBatches = 4"));
        var sink = agent.Collector();

        await TestAgent.WaitUntilAsync(() => sink.Count >= 500, Limit, () => $"collected {sink.Count}\n{agent.Logs.Dump()}");

        // Four batches were rolled back; seeking back made them available again, in order, and nothing doubled.
        Assert.True(Interlocked.Read(ref sink.RolledBack) >= 4);
        Assert.Equal(Interlocked.Read(ref sink.RolledBack), agent.Counters.Channel("c1").Attribute("RollbackCount").Value);
        Assert.Equal(0, Delivered.AssertNoneLost(Numbers(500), sink.Bodies(), "kafka channel after rollbacks"));
    }

    [Fact]
    public async Task Channel_WithoutSourceAndParseAsFlumeEventFalse_DeliversWhatOtherProducersWrote()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(1, "chan:2");
        await Kcat.ProduceAsync(kafka.Bootstrap, "chan", Numbers(300).Select(n => ("id-" + n, "plain " + n)));
        var config = $"""
            a1.channels = c1
            a1.sinks = k1
            a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
            a1.channels.c1.kafka.bootstrap.servers = {kafka.Bootstrap}
            a1.channels.c1.kafka.topic = chan
            a1.channels.c1.parseAsFlumeEvent = false
            a1.channels.c1.pollTimeout = 100
            a1.sinks.k1.type = collect
            a1.sinks.k1.channel = c1
            """;
        await using var agent = await TestAgent.StartAsync(config);
        var sink = agent.Collector();

        await TestAgent.WaitUntilAsync(() => sink.Count >= 300, Limit, () => $"collected {sink.Count}\n{agent.Logs.Dump()}");

        Assert.Equal(0, Delivered.AssertNoneLost(Numbers(300).Select(n => "plain " + n), sink.Bodies(), "plain records"));
        Assert.All(sink.Events, e => Assert.Equal("id-" + System.Text.Encoding.UTF8.GetString(e.Body.Span)["plain ".Length..], e.Headers["key"]));
    }

    [Fact]
    public async Task Channel_ParseAsFlumeEventOnPlainRecords_FailsTheTakeNamingTheRecord()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(1, "chan:1");
        await Kcat.ProduceAsync(kafka.Bootstrap, "chan", [("k", "not avro at all, \u00ff")]);
        var config = $"""
            a1.channels = c1
            a1.sinks = k1
            a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
            a1.channels.c1.kafka.bootstrap.servers = {kafka.Bootstrap}
            a1.channels.c1.kafka.topic = chan
            a1.channels.c1.pollTimeout = 100
            a1.sinks.k1.type = collect
            a1.sinks.k1.channel = c1
            """;
        await using var agent = await TestAgent.StartAsync(config);

        await TestAgent.WaitUntilAsync(() => agent.Logs.Contains(Microsoft.Extensions.Logging.LogLevel.Error, "record chan[0]@0 is not a Flume event"), Limit, () => agent.Logs.Dump());

        Assert.Equal(0, agent.Collector().Count);
        Assert.True(agent.Logs.Contains(Microsoft.Extensions.Logging.LogLevel.Error, "set parseAsFlumeEvent = false"), agent.Logs.Dump());
    }
}
