using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Xunit;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Kafka.Tests.Infrastructure;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// seq → memory → Kafka sink against librdkafka's mock cluster in its own process, read back with kcat (an independent
/// client). Flume semantics checked: FlumeUserGuide "Kafka Sink" (topic/key headers, partitionIdHeader,
/// useFlumeEventFormat) and KafkaSink.process (commit only after every future completed, rollback otherwise).
/// </summary>
public sealed class KafkaSinkTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Flow(string bootstrap, int events, string sinkExtra = "", string sourceExtra = "") => $"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = {events}
        a1.sources.r1.batchSize = 100
        a1.sources.r1.channels = c1
        {sourceExtra}
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 1000
        a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
        a1.sinks.k1.channel = c1
        a1.sinks.k1.kafka.bootstrap.servers = {bootstrap}
        a1.sinks.k1.kafka.topic = events
        a1.sinks.k1.flumeBatchSize = 100
        a1.sinks.k1.kafka.producer.acks = all
        {sinkExtra}
        """;

    [Fact]
    public async Task Process_SeqThroughMemory_KcatReadsEveryEventOnce()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(3, "events:3");
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, 2000));
        var counter = agent.Counters.Sink("k1");

        await TestAgent.WaitUntilAsync(() => counter.EventDrainSuccessCount == 2000, Limit, () => $"drained {counter.EventDrainSuccessCount}\n{agent.Logs.Dump()}");

        var records = await Kcat.ConsumeAllAsync(kafka.Bootstrap, "events");
        var bodies = records.Select(r => r.ValueText).ToList();
        Assert.Equal(2000, bodies.Count);
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), bodies.Order());
        Assert.Equal(3, records.Select(r => r.Partition).Distinct().Count());
        Assert.Equal(0, agent.Host.Channels["c1"].Size);
        Assert.Equal(0, counter.EventWriteFail);
    }

    [Fact]
    public async Task Process_TopicKeyPartitionHeadersAndFlumeEventFormat_FollowFlume()
    {
        Kcat.Require();
        await using var kafka = await MockKafka.StartAsync(3, "events:3", "routed:4");
        var interceptors = """
            a1.sources.r1.interceptors = t k p
            a1.sources.r1.interceptors.t.type = static
            a1.sources.r1.interceptors.t.key = topic
            a1.sources.r1.interceptors.t.value = routed
            a1.sources.r1.interceptors.k.type = static
            a1.sources.r1.interceptors.k.key = key
            a1.sources.r1.interceptors.k.value = user-7
            a1.sources.r1.interceptors.p.type = static
            a1.sources.r1.interceptors.p.key = part
            a1.sources.r1.interceptors.p.value = 3
            """;
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, 50, "a1.sinks.k1.useFlumeEventFormat = true\na1.sinks.k1.partitionIdHeader = part", interceptors));
        var counter = agent.Counters.Sink("k1");

        await TestAgent.WaitUntilAsync(() => counter.EventDrainSuccessCount == 50, Limit, () => agent.Logs.Dump());

        // The topic header overrides kafka.topic (allowTopicOverride defaults to true), the key header is the key,
        // partitionIdHeader picks the partition, and the value is the AvroFlumeEvent datum with every header.
        var records = await Kcat.ConsumeAllAsync(kafka.Bootstrap, "routed");
        Assert.Equal(50, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal(3, r.Partition);
            Assert.Equal("user-7", r.KeyText);
            var @event = AvroFlumeEventCodec.Decode(r.Value);
            Assert.Equal("routed", @event.Headers["topic"]);
            Assert.Equal("user-7", @event.Headers["key"]);
        });
        var bodies = records.Select(r => System.Text.Encoding.UTF8.GetString(AvroFlumeEventCodec.Decode(r.Value).Body.Span)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), bodies);
        Assert.Empty(await Kcat.ConsumeAllAsync(kafka.Bootstrap, "events"));
    }

    [Fact]
    public async Task Process_TopicDoesNotExist_FailsWithAnErrorNamingIt()
    {
        // The brokers do not create topics here: allow.auto.create.topics=false makes the client ask them not to, as a
        // cluster with auto.create.topics.enable=false would refuse.
        await using var kafka = await MockKafka.StartAsync(1, "events:1");
        var extra = """
            a1.sinks.k1.kafka.topic = no-such-topic
            a1.sinks.k1.kafka.producer.allow.auto.create.topics = false
            a1.sinks.k1.kafka.producer.topic.metadata.propagation.max.ms = 500
            """;
        await using var agent = await TestAgent.StartAsync(Flow(kafka.Bootstrap, 10, extra.Replace("a1.sinks.k1.kafka.topic = events", "")));
        var counter = agent.Counters.Sink("k1");

        await TestAgent.WaitUntilAsync(() => counter.EventWriteFail > 0 && agent.Logs.Contains(LogLevel.Error, "topic 'no-such-topic' does not exist"), Limit, () => agent.Logs.Dump());

        Assert.True(agent.Logs.Contains(LogLevel.Error, "topic no-such-topic does not exist on the Kafka cluster"), agent.Logs.Dump());
        Assert.Equal(0, counter.EventDrainSuccessCount);
        Assert.True(counter.Attribute("RollbackCount").Value > 0);
        Assert.Equal(10, agent.Host.Channels["c1"].Size); // nothing left the channel
    }

    [Fact]
    public async Task Start_BrokerUnreachable_AgentRunsReportsFailingAndDeliversOnceABrokerAnswers()
    {
        Kcat.Require();
        var port = FreePort.Next(); // nothing listens here yet
        var extra = """
            a1.sinks.k1.kafka.producer.delivery.timeout.ms = 1500
            a1.sinks.k1.kafka.producer.reconnect.backoff.max.ms = 300
            """;
        await using var agent = await TestAgent.StartAsync(Flow($"127.0.0.1:{port}", 300, extra));
        await using var metrics = new MetricsServer(new IPEndPoint(IPAddress.Loopback, 0), agent.Counters);
        metrics.Start();
        using var http = new HttpClient();
        var url = $"http://127.0.0.1:{metrics.LocalEndPoint.Port}/metrics";

        // The agent started; the sink shows as failing in Flume's metrics JSON and the log says why.
        JsonElement sink = default;
        await TestAgent.WaitUntilAsync(async () =>
        {
            sink = JsonDocument.Parse(await http.GetStringAsync(url)).RootElement.GetProperty("SINK.k1");
            return long.Parse(sink.GetProperty("ConnectionFailedCount").GetString()!) > 0
                && long.Parse(sink.GetProperty("EventWriteFail").GetString()!) > 0
                && long.Parse(sink.GetProperty("RollbackCount").GetString()!) > 0;
        }, Limit, () => sink.ToString() + "\n" + agent.Logs.Dump());
        Assert.Equal("0", sink.GetProperty("EventDrainSuccessCount").GetString());
        Assert.True(agent.Logs.Contains(LogLevel.Error, $"no Kafka broker of 127.0.0.1:{port} can be reached"), agent.Logs.Dump());

        // A broker appears behind the bootstrap address: the retried batches are delivered, nothing was lost.
        await using var kafka = await MockKafka.StartAsync(1, "events:2");
        await using var forwarder = new TcpForwarder(port, kafka.FirstBroker);
        var counter = agent.Counters.Sink("k1");
        await TestAgent.WaitUntilAsync(() => counter.EventDrainSuccessCount == 300, Limit, () => agent.Logs.Dump());
        var bodies = (await Kcat.ConsumeAllAsync(kafka.Bootstrap, "events")).Select(r => r.ValueText).ToList();
        Assert.Equal(Enumerable.Range(0, 300).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), bodies.Distinct().Order());
        Assert.True(agent.Logs.Contains(LogLevel.Information, "reachable again"), agent.Logs.Dump());
    }
}
