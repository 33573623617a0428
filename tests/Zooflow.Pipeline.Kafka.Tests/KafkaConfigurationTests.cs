using Xunit;
using Zooflow.Pipeline.Kafka.Tests.Infrastructure;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// Validation of the Kafka components' keys (flume.md §1 tables, FlumeUserGuide "Kafka Sink/Source/Channel"): Flume's
/// names and defaults, the deprecated keys Flume maps with a warning, and every kafka.producer./kafka.consumer. key
/// judged by librdkafka at validation time and reported with file:line.
/// </summary>
public sealed class KafkaConfigurationTests
{
    private const string Head = """
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.channel = c1

        """; // 7 lines: the sink's own keys start at line 8

    [Theory]
    [InlineData("org.apache.flume.sink.kafka.KafkaSink")]
    [InlineData("kafka")]
    [InlineData("KAFKA")]
    public void Registry_SinkTypeNames_ResolveToKafkaSink(string type)
    {
        var result = TestAgent.Validate(Head + $"a1.sinks.k1.type = {type}\na1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:9092\n");

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var sink = Assert.IsType<KafkaSink>(result.Plan.Sinks.Single().Instance);
        Assert.Equal(100, sink.Options.BatchSize);
        Assert.Equal("default-flume-topic", sink.Options.Topic.Template);
        Assert.Contains(new KeyValuePair<string, string>("acks", "1"), sink.Options.ProducerConfig);
        Assert.True(sink.Options.AllowTopicOverride);
        Assert.Equal("topic", sink.Options.TopicHeader);
    }

    [Fact]
    public void Validate_MisspeltKafkaClassName_NamesTheRightOnes()
    {
        var result = TestAgent.Validate(Head + "a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSinc\na1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:9092\n");

        var error = Assert.Single(result.Errors, e => e.Key == "a1.sinks.k1.type");
        Assert.Equal("flume.conf:8", error.Location);
        Assert.Contains("'org.apache.flume.sink.kafka.KafkaSinc' is not a known sink type", error.Message);
        Assert.Contains("org.apache.flume.sink.kafka.KafkaSink", error.Message);
    }

    [Fact]
    public void Registry_SourceAndChannelClassNames_ResolveWithFlumeDefaults()
    {
        var result = TestAgent.Validate("""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sources.r1.kafka.topics = t1, t2
            a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
            a1.channels.c1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var source = Assert.IsType<KafkaSource>(result.Plan.Sources.Single().Instance);
        Assert.Equal(["t1", "t2"], source.Options.Topics);
        Assert.Equal("flume", source.Options.GroupId);
        Assert.Equal(1000, source.Options.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(1), source.Options.BatchDuration);
        Assert.Contains(new KeyValuePair<string, string>("enable.auto.commit", "false"), source.Options.ConsumerConfig);
        var channel = Assert.IsType<KafkaChannel>(result.Plan.Channels.Single().Instance);
        Assert.Equal("flume-channel", channel.Options.Topic);
        Assert.True(channel.Options.ParseAsFlumeEvent);
        Assert.Equal(TimeSpan.FromMilliseconds(500), channel.Options.PollTimeout);
        Assert.Contains(new KeyValuePair<string, string>("acks", "all"), channel.Options.ProducerConfig);
        Assert.Contains(new KeyValuePair<string, string>("auto.offset.reset", "earliest"), channel.Options.ConsumerConfig);
    }

    [Fact]
    public void Validate_UnknownProducerKey_IsAnErrorWithFileAndLine()
    {
        var result = TestAgent.Validate(Head + """
            a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
            a1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sinks.k1.kafka.producer.lingerms = 5
            a1.sinks.k1.kafka.producer.acks = bogus
            """);

        var unknown = Assert.Single(result.Errors, e => e.Key == "a1.sinks.k1.kafka.producer.lingerms");
        Assert.Equal("flume.conf:10", unknown.Location);
        Assert.Contains("is not a Kafka client setting librdkafka", unknown.Message);
        var invalid = Assert.Single(result.Errors, e => e.Key == "a1.sinks.k1.kafka.producer.acks");
        Assert.Equal("flume.conf:11", invalid.Location);
        Assert.Contains("'bogus' is not accepted by librdkafka", invalid.Message);
    }

    [Fact]
    public void Validate_JavaClientKeys_AreTranslatedOrIgnoredWithWarnings()
    {
        var result = TestAgent.Validate(Head + """
            a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
            a1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sinks.k1.kafka.producer.max.request.size = 2000000
            a1.sinks.k1.kafka.producer.buffer.memory = 33554432
            a1.sinks.k1.kafka.producer.key.serializer = org.apache.kafka.common.serialization.StringSerializer
            a1.sinks.k1.kafka.producer.group.id = nonsense-on-a-producer
            a1.sinks.k1.kafka.producer.linger.ms = 1
            a1.sinks.k1.kafka.producer.compression.type = snappy
            a1.sinks.k1.kafka.producer.security.protocol = SASL_PLAINTEXT
            a1.sinks.k1.kafka.producer.sasl.mechanism = PLAIN
            a1.sinks.k1.kafka.producer.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var sink = Assert.IsType<KafkaSink>(result.Plan.Sinks.Single().Instance);
        var config = sink.Options.ProducerConfig;
        Assert.Contains(new KeyValuePair<string, string>("message.max.bytes", "2000000"), config);
        Assert.Contains(new KeyValuePair<string, string>("linger.ms", "1"), config);
        Assert.DoesNotContain(config, c => c.Key == "linger.ms" && c.Value == "0");
        Assert.Contains(new KeyValuePair<string, string>("sasl.username", "alice"), config);
        Assert.Contains(new KeyValuePair<string, string>("sasl.password", "s3cret"), config);
        Assert.DoesNotContain(config, c => c.Key is "buffer.memory" or "key.serializer" or "max.request.size" or "sasl.jaas.config");
        Warning(result, "a1.sinks.k1.kafka.producer.max.request.size", "flume.conf:10", "translated to librdkafka's message.max.bytes");
        Warning(result, "a1.sinks.k1.kafka.producer.buffer.memory", "flume.conf:11", "no librdkafka counterpart and is ignored");
        Warning(result, "a1.sinks.k1.kafka.producer.key.serializer", "flume.conf:12", "StringSerializer");
        Warning(result, "a1.sinks.k1.kafka.producer.group.id", "flume.conf:13", "is a consumer setting; the producer ignores it");
        Warning(result, "a1.sinks.k1.kafka.producer.sasl.jaas.config", "flume.conf:18", "sasl.username and sasl.password");
    }

    [Fact]
    public void Validate_DeprecatedSinkKeys_AreMappedWithWarnings()
    {
        var result = TestAgent.Validate(Head + """
            a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
            a1.sinks.k1.brokerList = 127.0.0.1:9092
            a1.sinks.k1.topic = old-topic
            a1.sinks.k1.batchSize = 50
            a1.sinks.k1.requiredAcks = -1
            a1.sinks.k1.kafka.flumeBatchSize = 20
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var sink = Assert.IsType<KafkaSink>(result.Plan.Sinks.Single().Instance);
        Assert.Equal("127.0.0.1:9092", sink.Options.BootstrapServers);
        Assert.Equal("old-topic", sink.Options.Topic.Template);
        Assert.Equal(50, sink.BatchSize);
        Assert.Contains(new KeyValuePair<string, string>("acks", "-1"), sink.Options.ProducerConfig);
        Warning(result, "a1.sinks.k1.brokerList", "flume.conf:9", "use kafka.bootstrap.servers");
        Warning(result, "a1.sinks.k1.topic", "flume.conf:10", "use kafka.topic");
        Warning(result, "a1.sinks.k1.batchSize", "flume.conf:11", "use flumeBatchSize");
        Warning(result, "a1.sinks.k1.requiredAcks", "flume.conf:12", "use kafka.producer.acks");
        Warning(result, "a1.sinks.k1.kafka.flumeBatchSize", "flume.conf:13", "Flume reads flumeBatchSize");
    }

    [Fact]
    public void Validate_DeprecatedSourceKeys_AreMappedOrReported()
    {
        var result = TestAgent.Validate("""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sources.r1.topic = legacy
            a1.sources.r1.groupId = old-group
            a1.sources.r1.zookeeperConnect = 127.0.0.1:2181
            a1.sources.r1.migrateZookeeperOffsets = true
            a1.sources.r1.kafka.consumer.enable.auto.commit = true
            a1.channels.c1.type = memory
            a1.channels.c1.capacity = 10000
            a1.channels.c1.transactionCapacity = 1000
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var source = Assert.IsType<KafkaSource>(result.Plan.Sources.Single().Instance);
        Assert.Equal(["legacy"], source.Options.Topics);
        Assert.Equal("old-group", source.Options.GroupId);
        Assert.Contains(new KeyValuePair<string, string>("enable.auto.commit", "false"), source.Options.ConsumerConfig);
        Warning(result, "a1.sources.r1.topic", "flume.conf:7", "use kafka.topics");
        Warning(result, "a1.sources.r1.groupId", "flume.conf:8", "use kafka.consumer.group.id");
        Warning(result, "a1.sources.r1.zookeeperConnect", "flume.conf:9", "is ignored");
        Warning(result, "a1.sources.r1.migrateZookeeperOffsets", "flume.conf:10", "obsolete");
        Warning(result, "a1.sources.r1.kafka.consumer.enable.auto.commit", "flume.conf:11", "the component sets enable.auto.commit itself (always false)");
    }

    [Fact]
    public void Validate_MissingBootstrapAndTopics_AreErrorsNamingTheKeys()
    {
        var result = TestAgent.Validate("""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.channels.c1.type = memory
            a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
            a1.sinks.k1.channel = c1
            a1.sinks.k1.kafka.bootstrap.servers = localhost
            """);

        Assert.Contains(result.Errors, e => e.Key == "a1.sources.r1.kafka.bootstrap.servers" && e.Message.Contains("Bootstrap Servers must be specified"));
        Assert.Contains(result.Errors, e => e.Key == "a1.sources.r1.kafka.topics" && e.Message.Contains("at least one Kafka topic"));
        Assert.Contains(result.Errors, e => e.Key == "a1.sinks.k1.kafka.bootstrap.servers" && e.Location == "flume.conf:9" && e.Message.Contains("'localhost'"));
    }

    [Fact]
    public void Validate_KafkaSourceBatchAboveChannelTransactionCapacity_IsAnError()
    {
        // Flume 1.9+ (FLUME-3246): a source's batch size above the channel's transactionCapacity is refused.
        var result = TestAgent.Validate("""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sources.r1.kafka.topics = t
            a1.channels.c1.type = memory
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            """);

        Assert.Contains(result.Errors, e => e.Key == "a1.sources.r1.batchSize" && e.Message.Contains("batch size 1000 is greater than the transactionCapacity 100"));
    }

    [Fact]
    public void Options_TopicsRegex_WinsAndMatchesWholeNames()
    {
        var result = TestAgent.Validate("""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
            a1.sources.r1.channels = c1
            a1.sources.r1.batchSize = 100
            a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.sources.r1.kafka.topics = ignored
            a1.sources.r1.kafka.topics.regex = topic[0-9]
            a1.sources.r1.kafka.consumer.partition.assignment.strategy = org.apache.kafka.clients.consumer.RoundRobinAssignor
            a1.channels.c1.type = memory
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var source = Assert.IsType<KafkaSource>(result.Plan.Sources.Single().Instance);
        Assert.Equal(["^(topic[0-9])$"], source.Options.Subscription);
        Assert.Contains(new KeyValuePair<string, string>("partition.assignment.strategy", "roundrobin"), source.Options.ConsumerConfig);
        Warning(result, "a1.sources.r1.kafka.topics", "flume.conf:8", "kafka.topics.regex is set");
    }

    [Fact]
    public void Validate_ChannelPollTimeoutAndReadSmallestOffset_FollowFlume()
    {
        var result = TestAgent.Validate("""
            a1.channels = c1
            a1.sinks = k1
            a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
            a1.channels.c1.kafka.bootstrap.servers = 127.0.0.1:9092
            a1.channels.c1.kafka.pollTimeout = 250
            a1.channels.c1.readSmallestOffset = false
            a1.channels.c1.parseAsFlumeEvent = false
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            """);

        Assert.False(result.HasErrors, string.Join("\n", result.Errors));
        var channel = Assert.IsType<KafkaChannel>(result.Plan.Channels.Single().Instance);
        Assert.Equal(TimeSpan.FromMilliseconds(250), channel.Options.PollTimeout);
        Assert.False(channel.Options.ParseAsFlumeEvent);
        Assert.Contains(new KeyValuePair<string, string>("auto.offset.reset", "latest"), channel.Options.ConsumerConfig);
        Warning(result, "a1.channels.c1.readSmallestOffset", "flume.conf:6", "kafka.consumer.auto.offset.reset = latest");
    }

    [Theory]
    [InlineData("t-%{svc}", "api", "t-api")]
    [InlineData("%{svc}", null, "")]
    [InlineData("static", "x", "static")]
    [InlineData("a%{svc", "x", "a%{svc")]
    public void TopicTemplate_HeaderEscapes_AreReplacedAsFlume(string template, string? header, string expected)
    {
        var headers = header is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["svc"] = header };

        Assert.Equal(expected, TopicTemplate.Parse(template).Resolve(headers));
    }

    private static void Warning(Configuration.AgentBuildResult result, string key, string location, string text)
    {
        Assert.True(result.Warnings.Any(w => w.Key == key && w.Location == location && w.Message.Contains(text, StringComparison.Ordinal)),
            $"no warning for {key} at {location} containing '{text}'; warnings:\n{string.Join("\n", result.Warnings)}");
    }

}
