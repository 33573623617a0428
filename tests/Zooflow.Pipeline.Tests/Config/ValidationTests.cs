using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Runtime;
using Zooflow.Pipeline.Tests.Core;

namespace Zooflow.Pipeline.Tests.Config;

/// <summary>Validation collects every error with key, file:line, value and what is allowed (STYLE.md 13; flume.md §2 "Validation").</summary>
public sealed class ValidationTests
{
    private const string Valid = """
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = manual
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.type = collect
        a1.sinks.k1.channel = c1

        """;

    private static AgentBuildResult Build(string text, string agent = "a1", bool lenient = false, ComponentRegistry? registry = null) =>
        AgentLoader.Load(new ConfigSource(text, "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>()),
            agent, registry ?? new TestWorld().Registry(), BuildSettings.Default with { Lenient = lenient });

    private static ConfigError Error(AgentBuildResult result, string key) =>
        result.Errors.FirstOrDefault(e => e.Key == key) ?? throw new Xunit.Sdk.XunitException($"no error for {key}; errors:\n{string.Join("\n", result.Errors)}");

    [Fact]
    public void Build_ValidConfig_NoErrorsAndPlanComplete()
    {
        var result = Build(Valid);
        Assert.Empty(result.Errors);
        Assert.Empty(result.Warnings);
        Assert.Equal("r1", Assert.Single(result.Plan.Sources).Name);
        Assert.Equal(["c1"], result.Plan.Sources[0].Channels);
        Assert.Equal("c1", Assert.Single(result.Plan.Sinks).Channel);
    }

    [Fact]
    public void Build_TypeAliasesCaseInsensitiveFqcnAndFriendly_Resolve()
    {
        var result = Build(Valid.Replace("c1.type = memory", "c1.type = org.apache.flume.channel.MemoryChannel")
            .Replace("k1.type = collect", "k1.type = FRIENDLY-COLLECT").Replace("r1.type = manual", "r1.type = Manual"));
        Assert.Empty(result.Errors);
        Assert.Equal("memory", result.Plan.Channels[0].Type.Alias);
        Assert.Equal("collect", result.Plan.Sinks[0].Type.Alias);
    }

    [Fact]
    public void Build_UnknownType_ErrorListsAllowedAliases()
    {
        var result = Build(Valid.Replace("k1.type = collect", "k1.type = hdfs2"));
        var e = Error(result, "a1.sinks.k1.type");
        Assert.Equal("flume.conf:7", e.Location);
        Assert.StartsWith("'hdfs2' is not a known sink type (allowed: collect;", e.Message);
    }

    [Fact]
    public void Build_MissingType_ErrorListsAllowed()
    {
        var result = Build(Valid.Replace("a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10"));
        var e = Error(result, "a1.channels.c1.type");
        Assert.Equal("flume.conf:6", e.Location);
        Assert.Equal("is required: the channel type of 'c1' (allowed: memory, recording)", e.Message);
    }

    [Fact]
    public void Build_SourceWithoutChannels_Error()
    {
        var result = Build(Valid.Replace("a1.sources.r1.channels = c1\n", ""));
        var e = Error(result, "a1.sources.r1.channels");
        Assert.Equal("is required: the channels source 'r1' writes to (allowed: c1)", e.Message);
        Assert.Equal("flume.conf:4", e.Location);
    }

    [Fact]
    public void Build_SinkWithoutChannel_ErrorHintsSingularKey()
    {
        var result = Build(Valid.Replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channels = c1"));
        var e = Error(result, "a1.sinks.k1.channel");
        Assert.Contains("is required: the one channel sink 'k1' drains (allowed: c1)", e.Message);
        Assert.Contains("singular key 'channel'", e.Message);
    }

    [Fact]
    public void Build_SinkWithTwoChannels_Error()
    {
        var result = Build(Valid.Replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channel = c1 c1"));
        Assert.Contains("names 2 channels but a sink drains exactly one", Error(result, "a1.sinks.k1.channel").Message);
    }

    [Fact]
    public void Build_ReferenceToUnknownChannel_ErrorNamesItAndAllowed()
    {
        var result = Build(Valid.Replace("a1.sources.r1.channels = c1", "a1.sources.r1.channels = c1 c9"));
        var e = Error(result, "a1.sources.r1.channels");
        Assert.Equal("flume.conf:5", e.Location);
        Assert.Equal("refers to channel 'c9', which is not listed in a1.channels (allowed: c1)", e.Message);
    }

    [Fact]
    public void Build_ChannelListedButNotConfigured_Error()
    {
        var result = Build(Valid.Replace("a1.channels = c1", "a1.channels = c1 c2"));
        var e = Error(result, "a1.channels");
        Assert.Equal("flume.conf:2", e.Location);
        Assert.StartsWith("lists channel 'c2' but there is no a1.channels.c2.* property (at least a1.channels.c2.type is needed; allowed types: memory", e.Message);
    }

    [Fact]
    public void Build_ComponentConfiguredButNotListed_Warning()
    {
        var result = Build(Valid + "a1.sinks.k2.type = collect\na1.sinks.k2.channel = c1\n");
        Assert.Empty(result.Errors);
        var w = Assert.Single(result.Warnings);
        Assert.Equal("a1.sinks.k2.*", w.Key);
        Assert.Equal("flume.conf:9", w.Location);
        Assert.Contains("sink 'k2' is configured but not listed in a1.sinks = k1 at flume.conf:3, so it is ignored", w.Message);
    }

    [Fact]
    public void Build_SinkInTwoGroups_Error()
    {
        var text = Valid.Replace("a1.sinks = k1", "a1.sinks = k1 k2") + """
            a1.sinks.k2.type = collect
            a1.sinks.k2.channel = c1
            a1.sinkgroups = g1 g2
            a1.sinkgroups.g1.sinks = k1 k2
            a1.sinkgroups.g1.processor.type = failover
            a1.sinkgroups.g2.sinks = k2

            """;
        var result = Build(text);
        var e = Error(result, "a1.sinkgroups.g2.sinks");
        Assert.Equal("flume.conf:14", e.Location);
        Assert.Equal("sink 'k2' is already in sink group 'g1' (a sink may belong to one group only)", e.Message);
    }

    [Fact]
    public void Build_DefaultProcessorWithTwoSinksAndUnknownProcessor_Errors()
    {
        var text = Valid.Replace("a1.sinks = k1", "a1.sinks = k1 k2") + """
            a1.sinks.k2.type = collect
            a1.sinks.k2.channel = c1
            a1.sinkgroups = g1 g2
            a1.sinkgroups.g1.sinks = k1 k2
            a1.sinkgroups.g2.sinks = k9
            a1.sinkgroups.g2.processor.type = roundrobin

            """;
        var result = Build(text);
        Assert.Contains(result.Errors, e => e.Key == "a1.sinkgroups.g1.processor.type" && e.Message.Contains("the default processor drives one sink but the group lists 2"));
        Assert.Contains(result.Errors, e => e.Key == "a1.sinkgroups.g2.processor.type" && e.Message == "'roundrobin' is not a sink processor type (allowed: default, failover, load_balance)");
        Assert.Contains(result.Errors, e => e.Key == "a1.sinkgroups.g2.sinks" && e.Message.Contains("refers to sink 'k9', which is not listed in a1.sinks (allowed: k1, k2)"));
    }

    [Fact]
    public void Build_SourceBatchSizeAboveTransactionCapacity_Error()
    {
        var text = Valid.Replace("r1.type = manual", "r1.type = counting\na1.sources.r1.batchSize = 200")
            .Replace("a1.channels.c1.type = memory", "a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\na1.channels.c1.transactionCapacity = 150");
        var result = Build(text);
        var e = Error(result, "a1.sources.r1.batchSize");
        Assert.Equal("flume.conf:5", e.Location);
        Assert.Equal("batch size 200 is greater than the transactionCapacity 150 of channel 'c1' (flume.conf:9) (allowed: <= 150; raise a1.channels.c1.transactionCapacity or lower the batch size)", e.Message);
    }

    [Fact]
    public void Build_SinkBatchSizeAboveDefaultTransactionCapacity_Error()
    {
        var result = Build(Valid + "a1.sinks.k1.batchSize = 101\n");
        var e = Error(result, "a1.sinks.k1.batchSize");
        Assert.Contains("batch size 101 is greater than the transactionCapacity 100 of channel 'c1' (default)", e.Message);
    }

    [Fact]
    public void Build_BadNumberAndCapacityRule_ErrorsNameValueAndAllowed()
    {
        var result = Build(Valid + "a1.channels.c1.capacity = lots\na1.channels.c1.byteCapacityBufferPercentage = 120\n");
        Assert.Equal("'lots' is not a whole number (allowed: >= 1)", Error(result, "a1.channels.c1.capacity").Message);
        Assert.Equal("120 is out of range (allowed: 0..99)", Error(result, "a1.channels.c1.byteCapacityBufferPercentage").Message);
        Assert.Equal("flume.conf:10", Error(result, "a1.channels.c1.byteCapacityBufferPercentage").Location);
    }

    [Fact]
    public void Build_UnknownInterceptorType_ErrorListsInterceptors()
    {
        var result = Build(Valid + "a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = stamp\n");
        var e = Error(result, "a1.sources.r1.interceptors.i1.type");
        Assert.StartsWith("'stamp' is not a known interceptor type (allowed: timestamp, host, static, remove_header, uuid, regex_filter, regex_extractor, search_replace;", e.Message);
    }

    [Fact]
    public void Build_InvalidKeyUnderAgent_Error()
    {
        var result = Build(Valid + "a1.source.r1.type = manual\n");
        var e = Error(result, "a1.source.r1.type");
        Assert.Contains("is not a valid key", e.Message);
    }

    [Fact]
    public void Build_AgentAbsent_ErrorNamesAgentsPresent()
    {
        var result = Build(Valid + "agent2.channels = c1\n", agent: "a9");
        var e = Error(result, "a9");
        Assert.Equal("agent 'a9' has no properties in this configuration (agents present: a1, agent2; start with -n set to one of them, or rename the keys to start with 'a9.')", e.Message);
    }

    [Fact]
    public void Build_SeveralProblems_AllReportedInOnePass()
    {
        var text = Valid.Replace("k1.type = collect", "k1.type = nope").Replace("a1.sources.r1.channels = c1", "a1.sources.r1.channels = c7") + "a1.channels.c1.keep-alive = soon\n";
        var result = Build(text);
        Assert.Contains(result.Errors, e => e.Key == "a1.sinks.k1.type");
        Assert.Contains(result.Errors, e => e.Key == "a1.sources.r1.channels");
        Assert.Contains(result.Errors, e => e.Key == "a1.channels.c1.keep-alive");
    }

    [Fact]
    public void Build_Lenient_DropsInvalidComponentsKeepsTheRestAndReportsErrors()
    {
        var text = Valid.Replace("a1.sinks = k1", "a1.sinks = k1 k2") + "a1.sinks.k2.type = nope\na1.sinks.k2.channel = c1\n";
        var strict = Build(text);
        Assert.True(strict.HasErrors);
        var lenient = Build(text, lenient: true);
        Assert.Contains(lenient.Errors, e => e.Key == "a1.sinks.k2.type");
        Assert.Equal(["k1"], lenient.Plan.Sinks.Select(s => s.Name));
        Assert.Single(lenient.Plan.Sources);
    }

    [Fact]
    public void Build_Lenient_SourceKeepsItsValidChannels()
    {
        var text = Valid.Replace("a1.channels = c1", "a1.channels = c1 c2").Replace("a1.sources.r1.channels = c1", "a1.sources.r1.channels = c1 c2")
            + "a1.channels.c2.type = memory\na1.channels.c2.capacity = zero\n";
        var result = Build(text, lenient: true);
        Assert.Contains(result.Errors, e => e.Key == "a1.channels.c2.capacity");
        Assert.Equal(["c1"], Assert.Single(result.Plan.Sources).Channels);
        Assert.Equal(["c1"], result.Plan.Channels.Select(c => c.Name));
    }

    /// <summary>The seed configuration of issue 6 (flume.md §3): lists under agent1/agent2, properties under a1.</summary>
    [Fact]
    public void Build_SeedConfig_NamesEveryProblem()
    {
        const string seed = """
            agent1.sources = r1
            agent1.channels = c1
            agent1.sinks = k1
            agent2.sources = r1
            agent2.channels = c1
            agent2.sinks = k1
            a1.sources.r1.type = exec
            a1.sources.r1.command = tail -F /data/logs/access.log
            a1.channels.c1.type = memory
            a1.channels.c1.capacity = 100000
            a1.channels.c1.transactionCapacity = 1000
            a1.sinks.k1.type = kafka
            a1.sinks.k1.kafka.topic = test
            a1.sinks.k1.kafka.producer.required.acks = -1
            a1.sinks.k1.kafka.producer.partition.key = flume
            """;
        var registry = ComponentRegistry.CreateDefault(Zooflow.Pipeline.Components.BuiltInComponents.All());
        var result = Build(seed, registry: registry);

        var lists = Error(result, "a1.sources");
        Assert.Equal("flume.conf:7", lists.Location);
        Assert.Contains("agent 'a1' has no sources/channels/sinks lists", lists.Message);
        Assert.Contains("lists exist for agents agent1 (agent1.sources = r1 at flume.conf:1, agent1.channels = c1 at flume.conf:2, agent1.sinks = k1 at flume.conf:3; no component properties under agent1), agent2 (", lists.Message);
        Assert.Contains("properties exist for a1 (sources r1, channels c1, sinks k1)", lists.Message);
        Assert.Contains("add a1.sources = r1, a1.channels = c1, a1.sinks = k1", lists.Message);

        Assert.Equal("is required: the channels source 'r1' writes to (allowed: c1)", Error(result, "a1.sources.r1.channels").Message);
        Assert.Equal("flume.conf:7", Error(result, "a1.sources.r1.channels").Location);
        Assert.Contains("is required: the one channel sink 'k1' drains (allowed: c1)", Error(result, "a1.sinks.k1.channel").Message);

        var kafka = Error(result, "a1.sinks.k1.type");
        Assert.Equal("flume.conf:12", kafka.Location);
        Assert.Contains("'kafka' is not a known sink type (allowed: ", kafka.Message);
        Assert.Contains("logger", kafka.Message);
        Assert.Contains("org.apache.flume.sink.kafka.KafkaSink", kafka.Message);

        Assert.Contains(result.Warnings, w => w.Key == "a1.sinks.k1.kafka.bootstrap.servers" && w.Message.Contains("Bootstrap Servers must be specified"));
        Assert.Contains(result.Warnings, w => w.Key == "a1.sinks.k1.kafka.producer.required.acks" && w.Location == "flume.conf:14" && w.Message.Contains("kafka.producer.acks"));
        Assert.Contains(result.Warnings, w => w.Key == "a1.sinks.k1.kafka.producer.partition.key" && w.Location == "flume.conf:15" && w.Message.Contains("header 'key'"));

        // Flume would drop agent1/agent2 and a1 silently and start an empty agent; we name each problem instead.
        Assert.True(result.HasErrors);
        Assert.Empty(result.Plan.Sources);
        Assert.Empty(result.Plan.Sinks);
    }
}
