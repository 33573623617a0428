using System.IO.Compression;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sinks.Hdfs;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// Flume's BucketPath escapes (table-driven, flume.md §1.8) and the hdfs sink on the local file system: rolling by count,
/// size, interval and idle time, in-use names, buckets, maxOpenFiles, gzip members, validation, and recovery of leftover
/// in-use files.
/// </summary>
public sealed class HdfsSinkTests
{
    private static readonly AgentHost Host = new("agenthost", "10.1.2.3", "agenthost.example.com");
    private static readonly long June12 = new DateTimeOffset(2012, 6, 12, 11, 54, 34, 567, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly long January5 = new DateTimeOffset(2012, 1, 5, 21, 7, 9, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static EscapeSettings Utc(bool round = false, int value = 1, RoundUnit unit = RoundUnit.Second) =>
        new(TimeZoneInfo.Utc, round, value, unit, UseLocalTimeStamp: false);

    public static TheoryData<string, long, string> Escapes() => new()
    {
        { "%a|%A|%b|%B|%c", June12, "Tue|Tuesday|Jun|June|Tue Jun 12 11:54:34 2012" },
        { "%d|%e|%D|%H|%I|%j|%k|%l|%m|%M|%n|%p|%s|%S|%y|%Y|%z", June12, "12|12|06/12/12|11|11|164|11|11|06|54|6|AM|1339502074|34|12|2012|+0000" },
        { "%d|%e|%I|%j|%k|%l|%m|%n|%p", January5, "05|5|09|005|21|9|01|1|PM" },
        { "%t", June12, "1339502074567" },
        { "100%%|%q|%1|%{host}|%{missing}|%{a.b-c}|%[localhost]|%[IP]|%[FQDN]", June12, "100%|||web01||dotted|agenthost|10.1.2.3|agenthost.example.com" },
        { "/flume/events/%Y-%m-%d/%H%M/%S", June12, "/flume/events/2012-06-12/1154/34" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public void BucketPath_EveryEscape_FormatsAsFlume(string template, long timestamp, string expected)
    {
        var path = BucketPath.Parse(template, Host, out var error);
        var headers = new Dictionary<string, string> { ["timestamp"] = timestamp.ToString(), ["host"] = "web01", ["a.b-c"] = "dotted" };

        Assert.Null(error);
        Assert.Equal(expected, path.Resolve(headers, Utc(), nowMs: 0));
    }

    public static TheoryData<int, RoundUnit, string> Rounding() => new()
    {
        // The user guide's example: 11:54:34 rounded to 10 minutes is 11:50:00.
        { 10, RoundUnit.Minute, "2012-06-12/1150/00 1339501800 1339502074567" },
        { 15, RoundUnit.Second, "2012-06-12/1154/30 1339502070 1339502074567" },
        { 2, RoundUnit.Hour, "2012-06-12/1000/00 1339495200 1339502074567" },
        { 1, RoundUnit.Minute, "2012-06-12/1154/00 1339502040 1339502074567" },
    };

    [Theory]
    [MemberData(nameof(Rounding))]
    public void BucketPath_Round_DownToMultipleButNotForPercentT(int value, RoundUnit unit, string expected)
    {
        var path = BucketPath.Parse("%Y-%m-%d/%H%M/%S %s %t", Host, out _);

        Assert.Equal(expected, path.Resolve(new Dictionary<string, string> { ["timestamp"] = June12.ToString() }, Utc(true, value, unit), 0));
    }

    [Fact]
    public void BucketPath_TimeZoneAndLocalTimeStamp_UsedForTimeEscapes()
    {
        var path = BucketPath.Parse("%H:%M %z %t", Host, out _);
        var pacific = TimeZoneInfo.CreateCustomTimeZone("GMT-08:00", TimeSpan.FromHours(-8), "GMT-08:00", "GMT-08:00");

        Assert.Equal("03:54 -0800 1339502074567", path.Resolve(new Dictionary<string, string> { ["timestamp"] = June12.ToString() }, Utc() with { TimeZone = pacific }, 0));
        Assert.Equal("11:54 +0000 1339502074567", path.Resolve(new Dictionary<string, string>(), Utc() with { UseLocalTimeStamp = true }, June12));
    }

    [Theory]
    [InlineData(null, "Expected timestamp in the Flume event headers")]
    [InlineData("yesterday", "wasn't able to parse timestamp header 'yesterday'")]
    public void BucketPath_TimeEscapeWithoutUsableTimestamp_ThrowsNamingTheFix(string? timestamp, string message)
    {
        var path = BucketPath.Parse("/data/%Y", Host, out _);
        var headers = timestamp is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["timestamp"] = timestamp };

        var ex = Assert.Throws<BucketPathException>(() => path.Resolve(headers, Utc(), 0));

        Assert.Contains(message, ex.Message);
    }

    private static async Task<(HdfsEventSink Sink, IChannel Channel)> StartAsync(string directory, TimeProvider? clock = null, params (string Key, string Value)[] extra)
    {
        var properties = new List<(string, string)> { ("hdfs.path", "file://" + directory), ("hdfs.fileType", "DataStream"), ("hdfs.rollInterval", "0"), ("hdfs.rollSize", "0"), ("hdfs.rollCount", "0") };
        properties.RemoveAll(p => extra.Any(e => e.Key == p.Item1));
        properties.AddRange(extra);
        var errors = new List<ConfigError>();
        var sink = new HdfsEventSink("k1", Context("a1.sinks.k1.", properties.Select(p => KeyValuePair.Create(p.Item1, p.Item2)), errors, clock: clock));
        Assert.Empty(errors);
        var channel = Channel();
        sink.Channel = channel;
        await sink.StartAsync(TestContext.Current.CancellationToken);
        return (sink, channel);
    }

    private static async Task DrainAsync(HdfsEventSink sink)
    {
        while (await sink.ProcessAsync(TestContext.Current.CancellationToken) == ProcessStatus.Ready)
        {
        }
    }

    private static string[] Files(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f)).Order(StringComparer.Ordinal).ToArray();

    private static string[] LinesOf(string directory, string pattern = "*") =>
        Directory.GetFiles(directory, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .SelectMany(f => File.ReadAllLines(f)).ToArray();

    [Fact]
    public async Task Process_RollCount_ThreeFilesInUseUntilClosedThenRenamed()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.rollCount", "3"), ("hdfs.batchSize", "2"));
        await PutAsync(channel, Enumerable.Range(0, 7).Select(i => TextEvent($"line-{i}")).ToArray());

        await DrainAsync(sink);
        var whileOpen = Files(dir);
        await sink.StopAsync(TestContext.Current.CancellationToken);
        var afterStop = Files(dir);

        Assert.Equal(3, whileOpen.Length);
        Assert.Equal(2, whileOpen.Count(f => !f.EndsWith(".tmp")));
        Assert.Matches(@"^FlumeData\.\d+\.tmp$", whileOpen.Single(f => f.EndsWith(".tmp")));
        Assert.All(afterStop, f => Assert.Matches(@"^FlumeData\.\d+$", f));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"line-{i}"), LinesOf(dir));
        Assert.Equal([3, 3, 1], afterStop.Select(f => File.ReadAllLines(Path.Combine(dir, f)).Length));
    }

    [Fact]
    public async Task Process_RollSizeAndPrefixSuffix_RollsBeforeTheAppendThatWouldExceed()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.rollSize", "10"), ("hdfs.filePrefix", "events"), ("hdfs.fileSuffix", ".log"),
            ("hdfs.inUsePrefix", "_"), ("hdfs.inUseSuffix", ".inprogress"));
        await PutAsync(channel, TextEvent("12345"), TextEvent("67890"), TextEvent("abc"));

        await DrainAsync(sink);
        var whileOpen = Files(dir);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Contains(whileOpen, f => f.StartsWith("_events.") && f.EndsWith(".log.inprogress"));
        var files = Files(dir);
        Assert.All(files, f => Assert.Matches(@"^events\.\d+\.log$", f));
        Assert.Equal(["12345\n67890\n", "abc\n"], files.Select(f => File.ReadAllText(Path.Combine(dir, f))));
    }

    [Fact]
    public async Task Process_HeaderAndTimeEscapes_OneBucketPerResolvedPath()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.path", "file://" + dir + "/%{host}/%Y-%m-%d"), ("hdfs.timeZone", "UTC"),
            ("hdfs.filePrefix", "%{app}-%H"));
        await PutAsync(channel,
            TextEvent("a", ("host", "web1"), ("app", "api"), ("timestamp", June12.ToString())),
            TextEvent("b", ("host", "web2"), ("app", "api"), ("timestamp", June12.ToString())),
            TextEvent("c", ("host", "web1"), ("app", "api"), ("timestamp", January5.ToString())));

        await DrainAsync(sink);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        var files = Files(dir);
        Assert.Equal(3, files.Length);
        Assert.Matches(@"^web1/2012-01-05/api-21\.\d+$", files[0]);
        Assert.Matches(@"^web1/2012-06-12/api-11\.\d+$", files[1]);
        Assert.Matches(@"^web2/2012-06-12/api-11\.\d+$", files[2]);
        Assert.Equal(["c", "a", "b"], files.Select(f => File.ReadAllText(Path.Combine(dir, f)).TrimEnd('\n')));
    }

    [Fact]
    public async Task Timers_RollIntervalAndIdleTimeout_CloseByTheSinksClock()
    {
        var dir = TempDir();
        var clock = new ManualClock();
        var (sink, channel) = await StartAsync(dir, clock, ("hdfs.rollInterval", "30"), ("hdfs.idleTimeout", "5"), ("hdfs.filePrefix", "%{k}"));
        await PutAsync(channel, TextEvent("x", ("k", "busy")), TextEvent("y", ("k", "idle")));
        await DrainAsync(sink);

        clock.Advance(TimeSpan.FromSeconds(4));
        await PutAsync(channel, TextEvent("x2", ("k", "busy")));
        await DrainAsync(sink);
        clock.Advance(TimeSpan.FromSeconds(2));
        await sink.CloseExpiredAsync(TestContext.Current.CancellationToken);
        var afterIdle = Files(dir);
        clock.Advance(TimeSpan.FromSeconds(24));
        await sink.CloseExpiredAsync(TestContext.Current.CancellationToken);
        var afterInterval = Files(dir);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Contains(afterIdle, f => f.StartsWith("idle.") && !f.EndsWith(".tmp"));
        Assert.Contains(afterIdle, f => f.StartsWith("busy.") && f.EndsWith(".tmp"));
        Assert.All(afterInterval, f => Assert.False(f.EndsWith(".tmp"), f));
    }

    [Fact]
    public async Task Timers_RealClockRollInterval_FileRenamedWithoutNewEvents()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.rollInterval", "1"));
        await PutAsync(channel, TextEvent("only"));
        await DrainAsync(sink);

        await WaitUntilAsync(() => Files(dir) is [var f] && !f.EndsWith(".tmp"), "the timed roll");
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["only"], LinesOf(dir));
    }

    [Fact]
    public async Task Process_MaxOpenFilesOne_LeastRecentlyUsedClosed()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.maxOpenFiles", "1"), ("hdfs.filePrefix", "%{k}"), ("hdfs.batchSize", "1"));
        await PutAsync(channel, TextEvent("1", ("k", "a")), TextEvent("2", ("k", "b")));

        await DrainAsync(sink);

        Assert.Single(sink.OpenFiles);
        Assert.Contains(Files(dir), f => f.StartsWith("a.") && !f.EndsWith(".tmp"));
        await sink.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Process_CompressedStreamGzip_ReadableAfterEveryBatchAndOnClose()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.fileType", "CompressedStream"), ("hdfs.codeC", "gzip"), ("hdfs.batchSize", "2"));
        await PutAsync(channel, TextEvent("a"), TextEvent("b"), TextEvent("c"));

        await DrainAsync(sink);
        var inUse = Assert.Single(Directory.GetFiles(dir));
        var whileOpen = Gunzip(inUse);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.EndsWith(".gz.tmp", inUse);
        Assert.Equal("a\nb\nc\n", whileOpen);
        var closed = Assert.Single(Directory.GetFiles(dir));
        Assert.Matches(@"FlumeData\.\d+\.gz$", closed);
        Assert.Equal("a\nb\nc\n", Gunzip(closed));
    }

    private static string Gunzip(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [Fact]
    public async Task Process_MissingTimestamp_BatchRolledBackEventsStayInChannel()
    {
        var dir = TempDir();
        var (sink, channel) = await StartAsync(dir, null, ("hdfs.path", "file://" + dir + "/%Y"));
        await PutAsync(channel, TextEvent("no timestamp"));

        var ex = await Assert.ThrowsAsync<EventDeliveryException>(async () => await sink.ProcessAsync(TestContext.Current.CancellationToken));
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.Contains("hdfs.useLocalTimeStamp", ex.Message);
        Assert.Equal(1, channel.Size);
    }

    [Fact]
    public void Configuration_HdfsUriSequenceFileAndMore_EveryErrorNamesItsKey()
    {
        var errors = new List<ConfigError>();
        _ = new HdfsEventSink("k1", Context("a1.sinks.k1.", [KeyValuePair.Create("hdfs.path", "hdfs://namenode:8020/flume/%[nohost]")], errors));
        _ = new HdfsEventSink("k2", Context("a1.sinks.k2.", [KeyValuePair.Create("hdfs.path", "/data"), KeyValuePair.Create("hdfs.fileType", "DataStream"),
            KeyValuePair.Create("hdfs.codeC", "gzip"), KeyValuePair.Create("hdfs.timeZone", "Mars/Olympus"), KeyValuePair.Create("hdfs.round", "true"),
            KeyValuePair.Create("hdfs.roundUnit", "hour"), KeyValuePair.Create("hdfs.roundValue", "25")], errors));
        _ = new HdfsEventSink("k3", Context("a1.sinks.k3.", [KeyValuePair.Create("hdfs.path", "relative/dir"), KeyValuePair.Create("hdfs.fileType", "CompressedStream"),
            KeyValuePair.Create("hdfs.codeC", "snappy")], errors));

        Assert.Equal(
            ["a1.sinks.k1.hdfs.path", "a1.sinks.k1.hdfs.fileType", "a1.sinks.k2.hdfs.codeC", "a1.sinks.k2.hdfs.roundValue", "a1.sinks.k2.hdfs.timeZone",
             "a1.sinks.k3.hdfs.path", "a1.sinks.k3.hdfs.codeC"],
            errors.Select(e => e.Key));
        Assert.Contains("HDFS itself", errors[0].Message);
        Assert.Contains("it is Flume's default", errors[1].Message);
    }

    [Fact]
    public async Task Start_LeftoverInUseFiles_ClosedWithPartialLineCutButLiveWriterLeftAlone()
    {
        var dir = TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "2012"));
        var crashed = Path.Combine(dir, "2012", "FlumeData.1339502074568.tmp");
        await File.WriteAllTextAsync(crashed, "complete-1\ncomplete-2\npartia", TestContext.Current.CancellationToken);
        var live = Path.Combine(dir, "2012", "FlumeData.1339502074999.tmp");
        await using var liveWriter = new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var foreign = Path.Combine(dir, "2012", "Other.1339502074568.tmp");
        await File.WriteAllTextAsync(foreign, "not ours\n", TestContext.Current.CancellationToken);
        var logs = new ListLoggerFactory();

        var sink = new HdfsEventSink("k1", Context("a1.sinks.k1.", [KeyValuePair.Create("hdfs.path", "file://" + dir + "/%Y"),
            KeyValuePair.Create("hdfs.fileType", "DataStream")], loggerFactory: logs));
        sink.Channel = Channel();
        await sink.StartAsync(TestContext.Current.CancellationToken);
        await sink.StopAsync(TestContext.Current.CancellationToken);

        Assert.False(File.Exists(crashed));
        Assert.Equal("complete-1\ncomplete-2\n", await File.ReadAllTextAsync(Path.Combine(dir, "2012", "FlumeData.1339502074568"), TestContext.Current.CancellationToken));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(foreign));
        Assert.Contains(logs.Messages, m => m.Contains("closed leftover in-use file") && m.Contains("cut a partial last line of 6 bytes"));
    }
}
