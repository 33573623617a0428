using System.Collections.Concurrent;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;
using static Zooflow.Pipeline.Tests.Components.FileSourceTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// spooldir with real files (flume.md §1.1 spooldir keys; §8 item 8: Flume stops the source for a modified or re-used
/// file, Zooflow sets the file aside and goes on). Every delivery test counts every line.
/// </summary>
public sealed class SpooldirSourceTests : IDisposable
{
    private readonly string _dir = TempDir();
    private readonly string _spool;
    private readonly ListLoggerFactory _log = new();

    public SpooldirSourceTests()
    {
        _spool = Path.Combine(_dir, "spool");
        Directory.CreateDirectory(_spool);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SpoolPath(string name) => Path.Combine(_spool, name);

    /// <summary>Drops a file the way producers must: written under a hidden name, then renamed into place.</summary>
    private async Task DropAsync(string name, string content, DateTime? modified = null)
    {
        var hidden = SpoolPath("." + name.Replace('/', '_') + ".tmp");
        await WriteTextAsync(hidden, content);
        if (modified is { } time)
        {
            File.SetLastWriteTimeUtc(hidden, time);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(SpoolPath(name))!);
        File.Move(hidden, SpoolPath(name));
    }

    private static string Text(IEnumerable<string> lines) => string.Concat(lines.Select(l => l + "\n"));

    private SpoolDirectorySource Create(SpoolDirectorySeams? seams = null, params (string Key, string Value)[] extra)
    {
        var errors = new List<ConfigError>();
        var properties = new Dictionary<string, string>
        {
            ["spoolDir"] = _spool,
            ["pollDelay"] = "20",
            ["batchSize"] = "10",
        };
        foreach (var (key, value) in extra)
        {
            properties[key] = value;
        }
        var source = new SpoolDirectorySource("r1", Context("a1.sources.r1.", properties, errors, _log), seams ?? SpoolDirectorySeams.Default);
        Assert.Empty(errors);
        return source;
    }

    private static async Task<T> StartAsync<T>(SpoolDirectorySource source, T output) where T : IEventSink
    {
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        return output;
    }

    private static async Task WaitFilesAsync(SpoolDirectorySource source, int completed, int setAside = 0)
    {
        await WaitUntilAsync(() => source.FilesCompleted >= completed && source.FilesSetAside >= setAside || source.Completion.IsCompleted,
            $"{completed} completed and {setAside} set-aside files (have {source.FilesCompleted} and {source.FilesSetAside})");
        await WaitIdlePollsAsync(source);
    }

    [Fact]
    public async Task File_LinesDelivered_ThenRenamedCompleted()
    {
        await DropAsync("a.log", "one\r\n\ntwo\nlast without newline");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        // As Flume's LineDeserializer: \n only ends a line, \r stays, an empty line is an empty event, the last line counts.
        Assert.Equal(["one\r", "", "two", "last without newline"], output.Texts());
        Assert.True(File.Exists(SpoolPath("a.log.COMPLETED")));
        Assert.False(File.Exists(SpoolPath("a.log")));
        Assert.False(File.Exists(Path.Combine(_spool, ".flumespool", ".flumespool-main.meta")), "the meta file is removed with the finished file");
    }

    [Fact]
    public async Task BurstOfSmallFiles_EveryLineExactlyOnce_AllCompleted()
    {
        await using var source = Create(extra: ("batchSize", "7"));
        var output = await StartAsync(source, new RecordingOutput());
        var expected = new List<string>();
        for (var f = 0; f < 150; f++)
        {
            var lines = Lines($"f{f:D3}", 0, 1 + f % 13).ToList();
            expected.AddRange(lines);
            await DropAsync($"burst-{f:D3}.log", Text(lines));
        }
        await WaitFilesAsync(source, 150);

        AssertExactlyOnce(expected, output.Texts());
        Assert.Equal(150, Directory.GetFiles(_spool, "*.COMPLETED").Length);
        Assert.DoesNotContain(Directory.GetFiles(_spool), f => !f.EndsWith(".COMPLETED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeletePolicyImmediate_FileDeletedAfterItsEventsCommitted()
    {
        await DropAsync("a.log", Text(Lines("a", 0, 25)));
        await using var source = Create(extra: ("deletePolicy", "immediate"));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        Assert.Equal(Lines("a", 0, 25), output.Texts());
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task TrackerDirPolicy_FileLeftAlone_MarkerRecorded_NotReadAgain()
    {
        await DropAsync("sub/a.log", Text(Lines("a", 0, 5)));
        var output = new RecordingOutput();
        await using (var first = Create(extra: [("trackingPolicy", "tracker_dir"), ("recursiveDirectorySearch", "true")]))
        {
            await StartAsync(first, output);
            await WaitFilesAsync(first, 1);
        }
        await using var second = Create(extra: [("trackingPolicy", "tracker_dir"), ("recursiveDirectorySearch", "true")]);
        await StartAsync(second, output);
        await WaitIdlePollsAsync(second, 3);

        Assert.Equal(Lines("a", 0, 5), output.Texts());
        Assert.True(File.Exists(SpoolPath("sub/a.log")));
        Assert.True(File.Exists(Path.Combine(_spool, ".flumespool", "sub", "a.log.COMPLETED")));
    }

    [Fact]
    public async Task Patterns_HiddenIgnoredAndUnincludedFilesStay_SubdirectoriesOnlyWhenRecursive()
    {
        await DropAsync("take.log", "t\n");
        await DropAsync("skip.tmp", "s\n");
        await DropAsync("not-included.txt", "n\n");
        await WriteTextAsync(SpoolPath(".hidden.log"), "h\n");
        await DropAsync("nested/deep.log", "d\n");
        await using var source = Create(extra: [("includePattern", @".*\.(log|tmp)"), ("ignorePattern", @".*\.tmp")]);
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        Assert.Equal(["t"], output.Texts());
        Assert.True(File.Exists(SpoolPath("skip.tmp")));
        Assert.True(File.Exists(SpoolPath("not-included.txt")));
        Assert.True(File.Exists(SpoolPath(".hidden.log")));
        Assert.True(File.Exists(SpoolPath("nested/deep.log")));
    }

    [Theory]
    [InlineData("oldest", "b,c,a")]
    [InlineData("youngest", "a,b,c")]
    public async Task ConsumeOrder_ByModificationTime_TiesByName(string order, string expected)
    {
        var t0 = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        await DropAsync("a.log", "a\n", t0.AddMinutes(5));
        await DropAsync("c.log", "c\n", t0);
        await DropAsync("b.log", "b\n", t0);
        await using var source = Create(extra: ("consumeOrder", order));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 3);

        Assert.Equal(expected.Split(','), output.Texts());
    }

    [Fact]
    public async Task ConsumeOrder_Random_SeededRandomnessDecides_EveryFileOnce()
    {
        for (var i = 0; i < 12; i++)
        {
            await DropAsync($"f{i:D2}.log", $"{i}\n");
        }
        await using var first = Create(new SpoolDirectorySeams(Random: new Random(7)), ("consumeOrder", "random"), ("trackingPolicy", "tracker_dir"), ("trackerDir", Path.Combine(_dir, "t1")));
        var firstOutput = await StartAsync(first, new RecordingOutput());
        await WaitFilesAsync(first, 12);
        await first.StopAsync(TestContext.Current.CancellationToken);
        await using var second = Create(new SpoolDirectorySeams(Random: new Random(7)), ("consumeOrder", "random"), ("trackingPolicy", "tracker_dir"), ("trackerDir", Path.Combine(_dir, "t2")));
        var secondOutput = await StartAsync(second, new RecordingOutput());
        await WaitFilesAsync(second, 12);

        AssertExactlyOnce(Enumerable.Range(0, 12).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), firstOutput.Texts());
        Assert.Equal(firstOutput.Texts(), secondOutput.Texts());
        Assert.NotEqual(firstOutput.Texts().Order(StringComparer.Ordinal), firstOutput.Texts());
    }

    [Fact]
    public async Task Headers_FileAndBasename()
    {
        await DropAsync("a.log", "x\n");
        await using var source = Create(extra: [("fileHeader", "true"), ("basenameHeader", "true"), ("basenameHeaderKey", "name")]);
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        var e = Assert.Single(output.Events);
        Assert.Equal(SpoolPath("a.log"), e.Headers["file"]);
        Assert.Equal("a.log", e.Headers["name"]);
    }

    [Fact]
    public async Task MaxLineLength_LongLineCutIntoEventsOfThatManyCharacters()
    {
        await DropAsync("a.log", "abcdefghij\nabc\nabcd\n\u00e9\u00e9\u00e9\u00e9\u00e9\n");
        await using var source = Create(extra: ("deserializer.maxLineLength", "4"));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        // Flume cuts after maxLineLength characters and goes on with the rest of the line; a line of exactly that
        // length is one event (Flume adds an empty one for its newline).
        Assert.Equal(["abcd", "efgh", "ij", "abc", "abcd", "\u00e9\u00e9\u00e9\u00e9", "\u00e9"], output.Texts());
    }

    [Fact]
    public async Task Charsets_Latin1InUtf16Out_AndUtf16WithBom()
    {
        await File.WriteAllBytesAsync(SpoolPath("latin1.log"), Encoding.Latin1.GetBytes("caf\u00e9\nna\u00efve\n"), TestContext.Current.CancellationToken);
        await using (var source = Create(extra: [("inputCharset", "ISO-8859-1"), ("deserializer.outputCharset", "UTF-16BE")]))
        {
            var output = await StartAsync(source, new RecordingOutput());
            await WaitFilesAsync(source, 1);
            Assert.Equal(["caf\u00e9", "na\u00efve"], output.Events.Select(e => Encoding.BigEndianUnicode.GetString(e.Body.Span)));
        }
        var utf16 = new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes("\u0a0a\u4e00\nzwei\n")).ToArray();
        await File.WriteAllBytesAsync(SpoolPath("utf16.log"), utf16, TestContext.Current.CancellationToken);
        await using (var source = Create(extra: ("inputCharset", "UTF-16")))
        {
            var output = await StartAsync(source, new RecordingOutput());
            await WaitFilesAsync(source, 1);
            // U+0A0A U+4E00 is 0A 0A 00 4E: "0A 00" appears at an odd offset; only a whole code unit ends a line.
            Assert.Equal(["\u0a0a\u4e00", "zwei"], output.Texts());
        }
    }

    [Theory]
    [InlineData("REPLACE", "ok,b\ufffdd,after")]
    [InlineData("IGNORE", "ok,bd,after")]
    public async Task DecodeErrorPolicy_ReplaceOrIgnore_FileCompleted(string policy, string expected)
    {
        await File.WriteAllBytesAsync(SpoolPath("a.log"), [.. "ok\nb"u8, 0xFF, .. "d\nafter\n"u8], TestContext.Current.CancellationToken);
        await using var source = Create(extra: ("decodeErrorPolicy", policy));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        Assert.Equal(expected.Split(','), output.Texts());
    }

    [Fact]
    public async Task DecodeErrorPolicyFail_FileSetAsideWithOffset_NextFileStillRead()
    {
        var t0 = DateTime.UtcNow.AddMinutes(-5);
        var bad = SpoolPath(".bad.tmp");
        await File.WriteAllBytesAsync(bad, [.. "good line\nbad "u8, 0xC3, 0x28, .. "\n"u8], TestContext.Current.CancellationToken);
        File.SetLastWriteTimeUtc(bad, t0);
        File.Move(bad, SpoolPath("bad.log"));
        await DropAsync("next.log", "next\n", t0.AddMinutes(1));
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1, setAside: 1);

        Assert.Equal(["good line", "next"], output.Texts());
        Assert.True(File.Exists(SpoolPath("bad.log.FAILED")));
        Assert.True(File.Exists(SpoolPath("next.log.COMPLETED")));
        Assert.Contains(_log.Messages, m => m.Contains("set aside", StringComparison.Ordinal) && m.Contains("offset 14", StringComparison.Ordinal) && m.Contains("bad.log", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FileModifiedAfterPickup_SetAside_SourceGoesOn()
    {
        await DropAsync("growing.log", Text(Lines("g", 0, 30)), DateTime.UtcNow.AddMinutes(-2));
        await using var source = Create();
        var output = await StartAsync(source, new GatedOutput());
        output.Block();
        await WaitUntilAsync(() => output.Arrived == 1, "the first batch");
        await File.AppendAllTextAsync(SpoolPath("growing.log"), "appended\n", TestContext.Current.CancellationToken);
        await DropAsync("after.log", "after\n");
        output.Unblock();
        await WaitFilesAsync(source, 1, setAside: 1);

        Assert.Equal(Lines("g", 0, 10).Append("after"), output.Texts());
        Assert.True(File.Exists(SpoolPath("growing.log.FAILED")));
        Assert.Contains(_log.Messages, m => m.Contains("File has changed size since being read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnreadableFile_DanglingLink_SetAside_SourceGoesOn()
    {
        File.CreateSymbolicLink(SpoolPath("broken.log"), Path.Combine(_dir, "nowhere"));
        await DropAsync("fine.log", "fine\n");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1, setAside: 1);

        Assert.Equal(["fine"], output.Texts());
        Assert.NotNull(new FileInfo(SpoolPath("broken.log.FAILED")).LinkTarget);
    }

    [Fact]
    public async Task ReusedName_CompletedTwice_SecondKeptUnderAnUnusedName()
    {
        await DropAsync("a.log", "first\n");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);
        await DropAsync("a.log", "second\n");
        await WaitFilesAsync(source, 2);

        Assert.Equal(["first", "second"], output.Texts());
        Assert.Equal("first\n", await ReadTextAsync(SpoolPath("a.log.COMPLETED")));
        Assert.Equal("second\n", await ReadTextAsync(SpoolPath("a.log.1.COMPLETED")));
    }

    [Fact]
    public async Task Restart_MidFile_ResumesAfterTheLastCommittedBatch()
    {
        await DropAsync("a.log", Text(Lines("a", 0, 45)));
        var output = new GatedOutput();
        output.Block();
        output.Allow(2);
        await using (var first = Create())
        {
            await StartAsync(first, output);
            await WaitUntilAsync(() => output.Arrived == 3, "the third batch held");
        }
        Assert.Equal(20, output.Events.Count);
        // The held batch was never committed; the meta file says 20 lines.
        var meta = SpoolMetaFile.Read(Path.Combine(_spool, ".flumespool", ".flumespool-main.meta"));
        Assert.NotNull(meta);
        Assert.Equal(SpoolPath("a.log"), meta.Path);
        output.Unblock();
        await using var second = Create();
        await StartAsync(second, output);
        await WaitFilesAsync(second, 1);

        AssertExactlyOnce(Lines("a", 0, 45), output.Texts());
    }

    [Fact]
    public async Task FlumeMetaFile_WrittenByAvroLibrary_ResumedAtItsOffset()
    {
        var content = Text(Lines("a", 0, 10));
        await DropAsync("a.log", content);
        var trackerDir = Path.Combine(_spool, ".flumespool");
        Directory.CreateDirectory(trackerDir);
        // What Flume's DurablePositionTracker writes: an Avro container with schema TransferStateFileMeta {long offset},
        // metadata "file" = the target, one record per commit (written here by the Apache.Avro library).
        var schema = (Avro.RecordSchema)Avro.Schema.Parse("{\"type\":\"record\",\"name\":\"TransferStateFileMeta\",\"namespace\":\"org.apache.flume.serialization\",\"fields\":[{\"name\":\"offset\",\"type\":\"long\"}]}");
        var lineBytes = Encoding.UTF8.GetByteCount(Lines("a", 0, 1).Single() + "\n");
        using (var writer = Avro.File.DataFileWriter<Avro.Generic.GenericRecord>.OpenWriter(new Avro.Generic.GenericDatumWriter<Avro.Generic.GenericRecord>(schema), Path.Combine(trackerDir, ".flumespool-main.meta")))
        {
            writer.SetMeta("file", SpoolPath("a.log"));
            foreach (var lines in new[] { 3, 6 })
            {
                var record = new Avro.Generic.GenericRecord(schema);
                record.Add("offset", (long)(lines * lineBytes));
                writer.Append(record);
                writer.Sync();
            }
        }
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);

        Assert.Equal(Lines("a", 6, 4), output.Texts());
    }

    [Fact]
    public async Task Seams_ClaimerRefusesFiles_TheyStayUntouched_StoreSeesEveryCommit()
    {
        await DropAsync("mine-1.log", Text(Lines("m", 0, 25)));
        await DropAsync("theirs-1.log", "t\n");
        var claimer = new PrefixClaimer("mine-");
        RecordingStore? store = null;
        await using var source = Create(new SpoolDirectorySeams(ProgressStore: settings => store = new RecordingStore(), Claimer: claimer));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitFilesAsync(source, 1);
        await WaitIdlePollsAsync(source, 2);

        Assert.Equal(Lines("m", 0, 25), output.Texts());
        Assert.True(File.Exists(SpoolPath("theirs-1.log")));
        Assert.Contains("theirs-1.log", claimer.Refused);
        Assert.Equal(["mine-1.log"], claimer.Released);
        var lineBytes = Lines("m", 0, 1).Single().Length + 1;
        Assert.Equal(["begin mine-1.log", $"save mine-1.log byte {10 * lineBytes}", $"save mine-1.log byte {20 * lineBytes}", $"save mine-1.log byte {25 * lineBytes}", "complete mine-1.log"], store!.Calls);
    }

    [Fact]
    public void Configure_BadKeys_EveryErrorNamesKeyAndLocation()
    {
        var errors = new List<ConfigError>();
        _ = new SpoolDirectorySource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["spoolDir"] = Path.Combine(_dir, "missing"),
            ["deletePolicy"] = "later",
            ["consumeOrder"] = "newest",
            ["includePattern"] = "([a-z",
            ["inputCharset"] = "EBCDIC",
            ["decodeErrorPolicy"] = "SKIP",
            ["deserializer"] = "BLOB",
            ["deserializer.maxLineLength"] = "0",
            ["pollDelay"] = "-1",
        }, errors));

        var keys = errors.Select(e => e.Key.Replace("a1.sources.r1.", "", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["consumeOrder", "decodeErrorPolicy", "deletePolicy", "deserializer", "deserializer.maxLineLength", "includePattern", "inputCharset", "pollDelay", "spoolDir"], keys);
        Assert.All(errors, e => Assert.StartsWith("test.conf:", e.Location, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void Configure_TrackerDirCannotBeCreated_IsAnError()
    {
        var fileInTheWay = Path.Combine(_dir, "file");
        File.WriteAllText(fileInTheWay, "");
        var errors = new List<ConfigError>();
        _ = new SpoolDirectorySource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["spoolDir"] = _spool,
            ["trackerDir"] = Path.Combine(fileInTheWay, "tracker"),
        }, errors));

        var error = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.trackerDir", error.Key);
    }

    private sealed class PrefixClaimer(string prefix) : ISpoolFileClaimer
    {
        public readonly ConcurrentBag<string> Refused = [];
        public readonly List<string> Released = [];

        public ValueTask<bool> TryClaimAsync(SpoolFile file, CancellationToken cancellationToken)
        {
            var mine = file.RelativePath.StartsWith(prefix, StringComparison.Ordinal);
            if (!mine)
            {
                Refused.Add(file.RelativePath);
            }
            return ValueTask.FromResult(mine);
        }

        public ValueTask ReleaseAsync(SpoolFile file, CancellationToken cancellationToken)
        {
            Released.Add(file.RelativePath);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class RecordingStore : ISpoolProgressStore
    {
        public readonly List<string> Calls = [];

        public ValueTask<SpoolProgress?> InProgressAsync(CancellationToken cancellationToken) => ValueTask.FromResult<SpoolProgress?>(null);

        public ValueTask<IReadOnlySet<string>> FinishedAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IReadOnlySet<string>>(new HashSet<string>());

        public ValueTask<SpoolPosition> BeginAsync(SpoolFile file, CancellationToken cancellationToken)
        {
            Calls.Add("begin " + file.RelativePath);
            return ValueTask.FromResult(SpoolPosition.Start);
        }

        public ValueTask SaveAsync(SpoolFile file, SpoolPosition position, CancellationToken cancellationToken)
        {
            Calls.Add($"save {file.RelativePath} {position}");
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(SpoolFile file, CancellationToken cancellationToken)
        {
            Calls.Add("complete " + file.RelativePath);
            return ValueTask.CompletedTask;
        }

        public ValueTask SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken)
        {
            Calls.Add("set aside " + file.RelativePath);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
