using Xunit;
using System.Text.RegularExpressions;
using Avro.File;
using Avro.Generic;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sinks;
using Zooflow.Pipeline.Instrumentation;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>logger, null and file_roll (flume.md §1.3, serializers §1.7) against the real memory channel.</summary>
public sealed class SinkTests
{
    private static async Task<RollingFileSink> StartFileRollAsync(IChannel channel, string directory, ManualClock? clock = null, CounterRegistry? counters = null, params (string Key, string Value)[] extra)
    {
        var properties = new List<KeyValuePair<string, string>> { new("sink.directory", directory) };
        properties.AddRange(extra.Select(p => KeyValuePair.Create(p.Key, p.Value)));
        var errors = new List<ConfigError>();
        var sink = new RollingFileSink("k1", Context("a1.sinks.k1.", properties, errors, clock: clock, counters: counters));
        Assert.Empty(errors);
        sink.Channel = channel;
        await sink.StartAsync(TestContext.Current.CancellationToken);
        return sink;
    }

    [Fact]
    public async Task FileRoll_TextSerializer_WritesBodiesWithNewlineAndEmptiesChannel()
    {
        var dir = TempDir();
        var channel = Channel();
        var counters = new CounterRegistry();
        var sink = await StartFileRollAsync(channel, dir, counters: counters);
        await PutAsync(channel, TextEvent("a", ("h", "v")), TextEvent("b"), TextEvent("c"));

        var first = await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var file = sink.CurrentFile!;
        var contentBeforeStop = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
        var second = await sink.ProcessAsync(TestContext.Current.CancellationToken);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ProcessStatus.Ready, first);
        Assert.Equal(ProcessStatus.Backoff, second);
        Assert.Equal("a\nb\nc\n", contentBeforeStop);
        Assert.Matches(new Regex(@"^\d{13}-1$"), Path.GetFileName(file));
        Assert.Equal(0, channel.Size);
        Assert.Equal(3, counters.Sink("k1").EventDrainSuccessCount);
    }

    [Fact]
    public async Task FileRoll_RollIntervalElapsed_StartsNextNumberedFileWithPrefixAndExtension()
    {
        var dir = TempDir();
        var clock = new ManualClock();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, clock, null, ("sink.rollInterval", "30"), ("sink.pathManager.prefix", "events-"), ("sink.pathManager.extension", "log"));
        var start = clock.GetUtcNow().ToUnixTimeMilliseconds();

        await PutAsync(channel, TextEvent("one"));
        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        clock.Advance(TimeSpan.FromSeconds(29));
        await PutAsync(channel, TextEvent("two"));
        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        clock.Advance(TimeSpan.FromSeconds(1));
        await PutAsync(channel, TextEvent("three"));
        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal("one\ntwo\n", await File.ReadAllTextAsync(Path.Combine(dir, $"events-{start}-1.log"), TestContext.Current.CancellationToken));
        Assert.Equal("three\n", await File.ReadAllTextAsync(Path.Combine(dir, $"events-{start}-2.log"), TestContext.Current.CancellationToken));
        Assert.Equal(2, Directory.GetFiles(dir).Length);
    }

    [Fact]
    public async Task FileRoll_RollIntervalZero_NeverRolls()
    {
        var dir = TempDir();
        var clock = new ManualClock();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, clock, null, ("sink.rollInterval", "0"));

        for (var i = 0; i < 3; i++)
        {
            await PutAsync(channel, TextEvent($"e{i}"));
            await sink.ProcessAsync(TestContext.Current.CancellationToken);
            clock.Advance(TimeSpan.FromHours(1));
        }
        await sink.StopAsync(TestContext.Current.CancellationToken);

        var file = Assert.Single(Directory.GetFiles(dir));
        Assert.Equal("e0\ne1\ne2\n", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task FileRoll_BatchSize_LimitsEventsPerTransaction()
    {
        var dir = TempDir();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, null, null, ("sink.batchSize", "2"), ("sink.serializer.appendNewline", "false"));
        await PutAsync(channel, TextEvent("a"), TextEvent("b"), TextEvent("c"));

        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var sizeAfterOne = channel.Size;
        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var path = sink.CurrentFile!;
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, sizeAfterOne);
        Assert.Equal("abc", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(2, sink.BatchSize);
        Assert.Equal("sink.batchSize", ((IBatchSized)sink).BatchSizeKey);
    }

    [Fact]
    public async Task FileRoll_HeaderAndText_WritesJavaMapThenBody()
    {
        var dir = TempDir();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, null, null, ("sink.serializer", "header_and_text"));
        await PutAsync(channel, TextEvent("body1", ("host", "h1"), ("n", "2")), TextEvent("body2"));

        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var path = sink.CurrentFile!;
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal("{host=h1, n=2} body1\n{} body2\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task FileRoll_AvroEvent_WritesContainerFileReadableByAvro()
    {
        var dir = TempDir();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, null, null, ("sink.serializer", "AVRO_EVENT"));
        await PutAsync(channel, TextEvent("first", ("k", "v")), new Event(new byte[] { 0, 1, 255 }));

        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        await PutAsync(channel, TextEvent("third"));
        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var path = sink.CurrentFile!;
        await sink.StopAsync(TestContext.Current.CancellationToken);

        using var reader = DataFileReader<GenericRecord>.OpenReader(path);
        var records = reader.NextEntries.ToList();
        Assert.Equal("Event", reader.GetSchema().Name);
        Assert.Equal(3, records.Count);
        Assert.Equal("first"u8.ToArray(), (byte[])records[0]["body"]);
        Assert.Equal("v", ((IDictionary<string, object>)records[0]["headers"])["k"]);
        Assert.Equal(new byte[] { 0, 1, 255 }, (byte[])records[1]["body"]);
        Assert.Equal("third"u8.ToArray(), (byte[])records[2]["body"]);
    }

    [Fact]
    public async Task FileRoll_AvroEventDeflate_ContainerFileUsesDeflateCodec()
    {
        var dir = TempDir();
        var channel = Channel();
        var sink = await StartFileRollAsync(channel, dir, null, null, ("sink.serializer", "avro_event"), ("sink.serializer.compressionCodec", "deflate"), ("sink.batchSize", "1000"));
        var bodies = Enumerable.Range(0, 500).Select(i => $"compressible line {i % 7}").ToArray();
        await PutAsync(channel, bodies.Select(b => TextEvent(b)).ToArray());

        await sink.ProcessAsync(TestContext.Current.CancellationToken);
        var path = sink.CurrentFile!;
        await sink.StopAsync(TestContext.Current.CancellationToken);

        using var reader = DataFileReader<GenericRecord>.OpenReader(path);
        Assert.Equal("deflate", reader.GetMetaString("avro.codec"));
        Assert.Equal(bodies, reader.NextEntries.Select(r => System.Text.Encoding.UTF8.GetString((byte[])r["body"])));
    }

    [Fact]
    public async Task FileRoll_DirectoryCannotBeCreated_ThrowsDeliveryExceptionAndKeepsEventsInChannel()
    {
        var dir = TempDir();
        var blocker = Path.Combine(dir, "a-file");
        await File.WriteAllTextAsync(blocker, "not a directory", TestContext.Current.CancellationToken);
        var channel = Channel();
        var counters = new CounterRegistry();
        var sink = await StartFileRollAsync(channel, Path.Combine(blocker, "out"), counters: counters);
        await PutAsync(channel, TextEvent("kept"));

        await Assert.ThrowsAsync<EventDeliveryException>(async () => await sink.ProcessAsync(TestContext.Current.CancellationToken));

        Assert.Equal(1, channel.Size);
        Assert.Equal(["kept"], (await DrainAsync(channel)).Select(Text));
        Assert.Contains(counters.Sink("k1").Snapshot(), kv => kv.Key == "ConnectionFailedCount" && kv.Value != "0");
    }

    [Fact]
    public void FileRoll_UnknownSerializerAndMissingDirectory_RecordErrorsNamingAllowedValues()
    {
        var errors = new List<ConfigError>();
        _ = new RollingFileSink("k1", Context("a1.sinks.k1.", [KeyValuePair.Create("sink.serializer", "json")], errors));

        Assert.Contains(errors, e => e.Key == "a1.sinks.k1.sink.directory" && e.Message.Contains("required"));
        Assert.Contains(errors, e => e.Key == "a1.sinks.k1.sink.serializer" && e.Message.Contains("TEXT, HEADER_AND_TEXT, AVRO_EVENT"));
    }

    [Fact]
    public void LoggerDump_FlumeExample_MatchesEventHelperFormat()
    {
        // The body "aa\r" as logged by Flume 1.9's LoggerSink for a telnet line.
        var dump = LoggerSink.DumpEvent(new Event("aa\r"u8.ToArray()), 16);

        Assert.Equal("{ headers:{} body: 61 61 0D                                        aa. }", dump);
    }

    [Fact]
    public void LoggerDump_LongBodyAndHeaders_TruncatesToMaxBytes()
    {
        var dump = LoggerSink.DumpEvent(TextEvent("0123456789abcdefXYZ", ("k", "v")), 16);

        Assert.Equal("{ headers:{k=v} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 0123456789abcdef }", dump);
    }

    [Fact]
    public async Task LoggerSink_Process_LogsOneEventPerTransaction()
    {
        var logs = new ListLoggerFactory();
        var sink = new LoggerSink("k1", Context("a1.sinks.k1.", [], loggerFactory: logs)) { Channel = Channel() };
        await sink.StartAsync(TestContext.Current.CancellationToken);
        await PutAsync(sink.Channel, TextEvent("hi"), TextEvent("there"));

        await sink.ProcessAsync(TestContext.Current.CancellationToken);

        Assert.Contains("Event: { headers:{} body: 68 69", Assert.Single(logs.Messages, m => m.StartsWith("Event:", StringComparison.Ordinal)));
        Assert.Equal(1, sink.Channel.Size);
    }

    [Fact]
    public async Task NullSink_Process_DiscardsUpToBatchSize()
    {
        var sink = new NullSink("k1", Context("a1.sinks.k1.", ("batchSize", "2"))) { Channel = Channel() };
        await sink.StartAsync(TestContext.Current.CancellationToken);
        await PutAsync(sink.Channel, TextEvent("1"), TextEvent("2"), TextEvent("3"));

        var statuses = new[]
        {
            await sink.ProcessAsync(TestContext.Current.CancellationToken),
            await sink.ProcessAsync(TestContext.Current.CancellationToken),
            await sink.ProcessAsync(TestContext.Current.CancellationToken),
        };

        Assert.Equal([ProcessStatus.Ready, ProcessStatus.Ready, ProcessStatus.Backoff], statuses);
        Assert.Equal(0, sink.Channel.Size);
        Assert.Equal(3, sink.EventsDrained);
    }

    [Fact]
    public void NullSink_DefaultBatchSize_Is100()
    {
        var sink = new NullSink("k1", Context("a1.sinks.k1."));

        Assert.Equal(100, sink.BatchSize);
    }
}
