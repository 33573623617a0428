using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Taildir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;
using static Zooflow.Pipeline.Tests.Components.FileSourceTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// TAILDIR with real files, real renames, real truncates (flume.md §1.1 TAILDIR keys; §8 item 4: rotation duplicates and
/// losses are Flume's most reported taildir bugs). Every rotation test counts every line and asserts it arrived exactly once.
/// </summary>
public sealed class TaildirSourceTests : IDisposable
{
    private readonly string _dir = TempDir();
    private readonly string _logs;
    private readonly string _positionFile;
    private readonly ListLoggerFactory _log = new();

    public TaildirSourceTests()
    {
        _logs = Path.Combine(_dir, "logs");
        Directory.CreateDirectory(_logs);
        _positionFile = Path.Combine(_dir, "state", "taildir_position.json");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string LogPath(string name = "app.log") => Path.Combine(_logs, name);

    private TaildirSource Create(string pattern = @"app\.log", params (string Key, string Value)[] extra)
    {
        var errors = new List<ConfigError>();
        var properties = new List<KeyValuePair<string, string>>
        {
            new("filegroups", "f1"),
            new("filegroups.f1", Path.Combine(_logs, pattern)),
            new("positionFile", _positionFile),
            new("backoffSleepIncrement", "5"),
            new("maxBackoffSleep", "20"),
            new("batchSize", "10"),
        };
        foreach (var (key, value) in extra)
        {
            properties.RemoveAll(p => p.Key == key);
            properties.Add(new(key, value));
        }
        var source = new TaildirSource("r1", Context("a1.sources.r1.", properties, errors, _log));
        Assert.Empty(errors);
        return source;
    }

    private static async Task<T> StartAsync<T>(TaildirSource source, T output) where T : IEventSink
    {
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        return output;
    }

    private static async Task WaitForAsync(TaildirSource source, Func<int> count, int expected)
    {
        await WaitUntilAsync(() => count() >= expected || source.Completion.IsCompleted, $"{expected} events (have {count()})");
        await WaitRoundsAsync(source);
    }

    [Fact]
    public async Task Tail_AppendedLines_DeliveredInOrderOnceWithoutTerminators()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.WriteRaw("first\r\nsecond\n\nthird\n");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());

        await WaitForAsync(source, () => output.Events.Count, 4);
        writer.Write(Lines("a", 0, 25));
        await WaitForAsync(source, () => output.Events.Count, 29);

        Assert.Equal(new[] { "first", "second", "", "third" }.Concat(Lines("a", 0, 25)), output.Texts());
        Assert.All(output.BatchSizes, size => Assert.InRange(size, 1, 10));
    }

    [Fact]
    public async Task PartialLastLine_NotDeliveredUntilItsNewlineArrives()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.WriteRaw("complete\nhalf of a li");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());

        await WaitForAsync(source, () => output.Events.Count, 1);
        await WaitRoundsAsync(source, 5);
        Assert.Equal(["complete"], output.Texts());

        writer.WriteRaw("ne\nnext\n");
        await WaitForAsync(source, () => output.Events.Count, 3);
        Assert.Equal(["complete", "half of a line", "next"], output.Texts());
    }

    [Fact]
    public async Task IdleTimeout_PartialLineDeliveredAndFileClosed_ReopenedWhenItGrows()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.WriteRaw("one\ntwo wit");
        await using var source = Create(extra: ("idleTimeout", "300"));
        var output = await StartAsync(source, new RecordingOutput());

        // As Flume: once idle, the unterminated last line is delivered and the file closed.
        await WaitForAsync(source, () => output.Events.Count, 2);
        Assert.Equal(["one", "two wit"], output.Texts());
        await WaitUntilAsync(() => _log.Messages.Any(m => m.Contains("closed idle file", StringComparison.Ordinal)), "the idle close");

        writer.WriteRaw("hout newline\nthree\n");
        await WaitForAsync(source, () => output.Events.Count, 4);
        Assert.Equal(["one", "two wit", "hout newline", "three"], output.Texts());
        Assert.Contains(_log.Messages, m => m.Contains("reopened", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RenameAndCreate_PatternMatchesLiveNameOnly_EveryLineOnce()
    {
        // logrotate's default "create": rename app.log to app.log.1, the application keeps writing to its open
        // descriptor until it reopens app.log (a new inode).
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 100));
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 100);

        writer.Write(Lines("b", 0, 50));
        File.Move(LogPath(), LogPath("app.log.1"));
        writer.Write(Lines("c", 0, 30));
        writer.Reopen();
        writer.Write(Lines("d", 0, 70));
        await WaitForAsync(source, () => output.Events.Count, 250);

        AssertExactlyOnce(Lines("a", 0, 100).Concat(Lines("b", 0, 50)).Concat(Lines("c", 0, 30)).Concat(Lines("d", 0, 70)), output.Texts());
    }

    [Fact]
    public async Task RenameAndCreate_PatternMatchesRotatedNames_NothingReadTwice()
    {
        // Flume re-reads a file renamed to a name its pattern also matches (FLUME-3219, FLUME-3094).
        using var writer = new AppLogWriter(LogPath());
        await using var source = Create(@"app\.log.*");
        var output = await StartAsync(source, new RecordingOutput());
        var expected = new List<string>();
        for (var rotation = 0; rotation < 3; rotation++)
        {
            var lines = Lines($"r{rotation}", 0, 40).ToList();
            writer.Write(lines.Take(25));
            for (var i = rotation; i >= 1; i--)
            {
                File.Move(LogPath($"app.log.{i}"), LogPath($"app.log.{i + 1}"));
            }
            File.Move(LogPath(), LogPath("app.log.1"));
            writer.Write(lines.Skip(25));
            writer.Reopen();
            expected.AddRange(lines);
            await WaitForAsync(source, () => output.Events.Count, expected.Count);
        }

        AssertExactlyOnce(expected, output.Texts());
        Assert.Equal(3, Directory.GetFiles(_logs).Count(f => Path.GetFileName(f).StartsWith("app.log.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CopyTruncate_LinesWrittenBeforeTheCopyButNotYetRead_ComeFromTheCopy()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 20));
        await using var source = Create();
        var output = await StartAsync(source, new GatedOutput());
        await WaitForAsync(source, () => output.Events.Count, 20);

        // The source reads a batch and is held before committing it; meanwhile more lines arrive and logrotate's
        // copytruncate copies the file and truncates it, and the application goes on writing at the new end.
        output.Block();
        writer.Write(Lines("b", 0, 10));
        await WaitUntilAsync(() => output.Arrived == 1, "the held batch");
        writer.Write(Lines("b", 10, 40));
        await RunAsync("cp", LogPath(), LogPath("app.log.1"));
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("c", 0, 30));
        output.Unblock();
        await WaitForAsync(source, () => output.Events.Count, 100);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 50)).Concat(Lines("c", 0, 30)), output.Texts());
        Assert.Equal(1, source.Truncations);
        Assert.Equal(1, source.CopiesAdopted);
    }

    [Fact]
    public async Task CopyTruncate_RewrittenPastTheOldPositionBeforeTheNextRead_DetectedByContent()
    {
        // After the truncate the application writes more than the old position: the size alone no longer shows the
        // truncation (Flume misses it and skips the new lines before the old position).
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 20));
        await using var source = Create();
        var output = await StartAsync(source, new GatedOutput());
        await WaitForAsync(source, () => output.Events.Count, 20);

        output.Block();
        writer.Write(Lines("b", 0, 10));
        await WaitUntilAsync(() => output.Arrived == 1, "the held batch");
        await RunAsync("cp", LogPath(), LogPath("app.log.1"));
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("c", 0, 200));
        output.Unblock();
        await WaitForAsync(source, () => output.Events.Count, 230);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 10)).Concat(Lines("c", 0, 200)), output.Texts());
        Assert.Equal(1, source.Truncations);
    }

    [Fact]
    public async Task CopyTruncate_CopyMatchesThePattern_HeldThenSuppliesTheUnreadLines()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 20));
        await using var source = Create(@"app\.log.*", ("maxBatchCount", "1"));
        var output = await StartAsync(source, new GatedOutput());
        await WaitForAsync(source, () => output.Events.Count, 20);

        output.Block();
        writer.Write(Lines("b", 0, 10));
        await WaitUntilAsync(() => output.Arrived == 1, "the first held batch");
        writer.Write(Lines("b", 10, 40));
        await RunAsync("cp", LogPath(), LogPath("app.log.1"));
        // One batch through: the next round scans (the copy appears) and holds the next batch of app.log.
        output.Allow(1);
        await WaitUntilAsync(() => output.Arrived == 2, "the second held batch");
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("c", 0, 30));
        output.Unblock();
        await WaitForAsync(source, () => output.Events.Count, 100);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 50)).Concat(Lines("c", 0, 30)), output.Texts());
        Assert.Contains(_log.Messages, m => m.Contains("holding it as a possible copy", StringComparison.Ordinal));
        Assert.Equal(1, source.CopiesAdopted);
    }

    [Fact]
    public async Task CopyOfAFullyReadFile_MatchingThePattern_IsNotReadAgain()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 30));
        await using var source = Create(@"app\.log.*");
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 30);

        await RunAsync("cp", LogPath(), LogPath("app.log.1"));
        await WaitRoundsAsync(source, 5);
        writer.Write(Lines("b", 0, 10));
        await WaitForAsync(source, () => output.Events.Count, 40);
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("c", 0, 10));
        await WaitForAsync(source, () => output.Events.Count, 50);

        AssertExactlyOnce(Lines("a", 0, 30).Concat(Lines("b", 0, 10)).Concat(Lines("c", 0, 10)), output.Texts());
    }

    [Fact]
    public async Task UnrelatedFileStartingLikeTheTailedOne_IsReadFromTheStart()
    {
        // Log files often start alike (same date prefix); a new file is held as a possible copy only until a byte differs.
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("same-prefix", 0, 20));
        await using var source = Create(@"app\.log.*");
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 20);

        using (var other = new AppLogWriter(LogPath("app.log.other")))
        {
            other.Write(Lines("same-prefix", 0, 3).Concat(Lines("other", 0, 20)));
        }
        await WaitForAsync(source, () => output.Events.Count, 43);

        Assert.Equal(43, output.Events.Count);
        Assert.Equal(Lines("same-prefix", 0, 3).Concat(Lines("other", 0, 20)), output.Texts().Skip(20));
    }

    [Fact]
    public async Task TruncatedByAWriterWithoutAppend_HoleOfNulBytesSkipped()
    {
        using var writer = new AppLogWriter(LogPath(), append: false);
        writer.Write(Lines("a", 0, 20));
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 20);

        // copytruncate with an application that keeps its offset: the next write leaves zeros before it.
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("b", 0, 5));
        await WaitForAsync(source, () => output.Events.Count, 25);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 5)), output.Texts());
        Assert.True(new FileInfo(LogPath()).Length > Encoding.UTF8.GetByteCount(string.Concat(Lines("b", 0, 5).Select(l => l + "\n"))), "the file has a hole");
    }

    [Fact]
    public async Task DeletedWhileTailed_RestIsRead_ThenDroppedWhenIdle()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 10));
        await using var source = Create(extra: ("idleTimeout", "500"));
        var output = await StartAsync(source, new GatedOutput());
        await WaitForAsync(source, () => output.Events.Count, 10);

        output.Block();
        writer.Write(Lines("b", 0, 10));
        await WaitUntilAsync(() => output.Arrived == 1, "the held batch");
        writer.Write(Lines("b", 10, 15));
        File.Delete(LogPath());
        writer.Write(Lines("c", 0, 5)); // the application still writes to the deleted file
        output.Unblock();
        await WaitForAsync(source, () => output.Events.Count, 40);
        await WaitUntilAsync(() => _log.Messages.Any(m => m.Contains("deleted and idle", StringComparison.Ordinal)), "the deleted file to be dropped");

        AssertExactlyOnce(Lines("a", 0, 10).Concat(Lines("b", 0, 25)).Concat(Lines("c", 0, 5)), output.Texts());
        await WaitRoundsAsync(source);
        Assert.Equal("[]", (await ReadTextAsync(_positionFile)).Trim());
    }

    [Fact]
    public async Task Restart_ResumesAtThePositionFile_NoLineTwice()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 35));
        var output = new RecordingOutput();
        await using (var first = Create())
        {
            await StartAsync(first, output);
            await WaitForAsync(first, () => output.Events.Count, 35);
        }
        writer.Write(Lines("b", 0, 15));
        await using var second = Create();
        await StartAsync(second, output);
        await WaitForAsync(second, () => output.Events.Count, 50);

        AssertExactlyOnce(Lines("a", 0, 35).Concat(Lines("b", 0, 15)), output.Texts());
        var positions = TaildirPositionFile.Parse(await ReadBytesAsync(_positionFile), _positionFile);
        var entry = Assert.Single(positions);
        Assert.Equal(new FileInfo(LogPath()).Length, entry.Position);
        Assert.Equal(LogPath(), entry.Path);
    }

    [Fact]
    public async Task Restart_FileRotatedAwayWhileStopped_ItsUnreadLinesAreRead()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 20));
        var output = new RecordingOutput();
        await using (var first = Create())
        {
            await StartAsync(first, output);
            await WaitForAsync(first, () => output.Events.Count, 20);
        }
        writer.Write(Lines("b", 0, 10));
        File.Move(LogPath(), LogPath("app.log-20240101"));
        writer.Reopen();
        writer.Write(Lines("c", 0, 10));
        await using var second = Create();
        await StartAsync(second, output);
        await WaitForAsync(second, () => output.Events.Count, 40);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 10)).Concat(Lines("c", 0, 10)), output.Texts());
    }

    [Theory]
    [InlineData(@"app\.log")]
    [InlineData(@"app\.log.*")]
    public async Task Restart_CopytruncateWhileStopped_UnreadLinesComeFromTheCopy_NoneTwice(string pattern)
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 20));
        var output = new RecordingOutput();
        await using (var first = Create(pattern))
        {
            await StartAsync(first, output);
            await WaitForAsync(first, () => output.Events.Count, 20);
        }
        writer.Write(Lines("b", 0, 15));
        await RunAsync("cp", LogPath(), LogPath("app.log.1"));
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("c", 0, 10));
        await using var second = Create(pattern);
        await StartAsync(second, output);
        await WaitForAsync(second, () => output.Events.Count, 45);

        AssertExactlyOnce(Lines("a", 0, 20).Concat(Lines("b", 0, 15)).Concat(Lines("c", 0, 10)), output.Texts());
        Assert.Equal(1, second.CopiesAdopted);
    }

    [Fact]
    public async Task Restart_TruncatedAndRewrittenPastThePositionWhileStopped_NoNewLineSkipped()
    {
        // Flume resumes such a file at the old position and skips the new lines before it.
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("a", 0, 10));
        var output = new RecordingOutput();
        await using (var first = Create())
        {
            await StartAsync(first, output);
            await WaitForAsync(first, () => output.Events.Count, 10);
        }
        await RunAsync("truncate", "-s", "0", LogPath());
        writer.Write(Lines("new", 0, 30));
        await using var second = Create();
        await StartAsync(second, output);
        await WaitForAsync(second, () => output.Events.Count, 40);

        AssertExactlyOnce(Lines("a", 0, 10).Concat(Lines("new", 0, 30)), output.Texts());
    }

    [Fact]
    public async Task Restart_InodeNowBelongsToAnotherFile_ItIsReadFromTheStart()
    {
        // The position file names this inode at byte 56 with what was read there; the file now holding the inode has
        // other bytes (a file deleted while stopped and its inode reused): it is a new file, read whole.
        await WriteTextAsync(LogPath(), string.Concat(Lines("reused", 0, 5).Select(l => l + "\n")));
        var inode = (long)Zooflow.Pipeline.Components.Sources.Files.FileStatus.TryGet(LogPath())!.Value.Key.Inode;
        Directory.CreateDirectory(Path.GetDirectoryName(_positionFile)!);
        await WriteTextAsync(_positionFile, $"[{{\"inode\":{inode},\"pos\":56,\"file\":\"{LogPath()}\"}}]");
        var old = Encoding.UTF8.GetBytes(string.Concat(Lines("gone", 0, 2).Select(l => l + "\n")));
        await File.WriteAllBytesAsync(_positionFile + ".fingerprints", TaildirPositionFile.SerializeFingerprints([new TaildirFingerprint(inode, 56, old, old)]), TestContext.Current.CancellationToken);
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 5);

        Assert.Equal(Lines("reused", 0, 5), output.Texts());
    }

    [Fact]
    public async Task SkipToEnd_FilesWithoutPosition_StartAtTheirEnd()
    {
        using var writer = new AppLogWriter(LogPath());
        writer.Write(Lines("old", 0, 10));
        await using var source = Create(extra: ("skipToEnd", "true"));
        var output = await StartAsync(source, new RecordingOutput());
        await WaitRoundsAsync(source);
        writer.Write(Lines("new", 0, 5));
        await WaitForAsync(source, () => output.Events.Count, 5);

        Assert.Equal(Lines("new", 0, 5), output.Texts());
    }

    [Fact]
    public async Task Headers_GroupHeadersFileHeaderAndByteOffset()
    {
        Directory.CreateDirectory(Path.Combine(_logs, "other"));
        await WriteTextAsync(LogPath(), "x1\nx2\n");
        await WriteTextAsync(Path.Combine(_logs, "other", "b.txt"), "y1\n");
        var errors = new List<ConfigError>();
        await using var source = new TaildirSource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["filegroups"] = "f1 f2",
            ["filegroups.f1"] = Path.Combine(_logs, @"app\.log"),
            ["filegroups.f2"] = Path.Combine(_logs, "other", @".*\.txt"),
            ["headers.f1.topic"] = "apps",
            ["headers.f2.topic"] = "others",
            ["headers.f2.dc"] = "eu",
            ["fileHeader"] = "true",
            ["fileHeaderKey"] = "path",
            ["byteOffsetHeader"] = "true",
            ["positionFile"] = _positionFile,
            ["backoffSleepIncrement"] = "5",
        }, errors));
        Assert.Empty(errors);
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 3);

        var byBody = output.Events.ToDictionary(Text);
        Assert.Equal("apps", byBody["x2"].Headers["topic"]);
        Assert.Equal("3", byBody["x2"].Headers["byteoffset"]);
        Assert.Equal(LogPath(), byBody["x2"].Headers["path"]);
        Assert.Equal("0", byBody["y1"].Headers["byteoffset"]);
        Assert.Equal("eu", byBody["y1"].Headers["dc"]);
        Assert.Equal("others", byBody["y1"].Headers["topic"]);
    }

    [Fact]
    public async Task ChannelFull_BatchRetried_PositionOnlyAfterCommit()
    {
        await WriteTextAsync(LogPath(), string.Concat(Lines("a", 0, 10).Select(l => l + "\n")));
        await using var source = Create();
        var output = new RecordingOutput { FailFirst = 3 };
        await StartAsync(source, output);
        await WaitForAsync(source, () => output.Events.Count, 10);

        Assert.Equal(Lines("a", 0, 10), output.Texts());
        Assert.Equal(new FileInfo(LogPath()).Length, TaildirPositionFile.Parse(await ReadBytesAsync(_positionFile), _positionFile).Single().Position);
    }

    [Fact]
    public async Task FlumePositionFile_IsUsed_AndWrittenBackInFlumesShape()
    {
        await WriteTextAsync(LogPath(), "skip-me\nread-me\n");
        var inode = Zooflow.Pipeline.Components.Sources.Files.FileStatus.TryGet(LogPath())!.Value.Key.Inode;
        Directory.CreateDirectory(Path.GetDirectoryName(_positionFile)!);
        // As Gson writes it (HTML-safe escapes), with the entry for a file that no longer exists.
        await WriteTextAsync(_positionFile, $"[{{\"inode\":{inode},\"pos\":8,\"file\":\"{LogPath()}\"}},{{\"inode\":1,\"pos\":5,\"file\":\"/gone/a\\u003db.log\"}}]");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 1);
        await source.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["read-me"], output.Texts());
        Assert.Equal($"[{{\"inode\":{inode},\"pos\":16,\"file\":\"{LogPath()}\"}}]", await ReadTextAsync(_positionFile));
    }

    [Fact]
    public async Task CorruptPositionFile_LoggedAndIgnored_FilesReadFromTheStart()
    {
        await WriteTextAsync(LogPath(), "l1\n");
        Directory.CreateDirectory(Path.GetDirectoryName(_positionFile)!);
        await WriteTextAsync(_positionFile, "[{\"inode\":12,\"pos\":");
        await using var source = Create();
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 1);

        Assert.Equal(["l1"], output.Texts());
        Assert.Contains(_log.Messages, m => m.Contains("is malformed at byte", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TornPositionFile_TheCheckpointCopyIsUsed()
    {
        await WriteTextAsync(LogPath(), "one\ntwo\nthree\n");
        var output = new RecordingOutput();
        await using (var first = Create())
        {
            await StartAsync(first, output);
            await WaitForAsync(first, () => output.Events.Count, 3);
        }
        // The checkpoint at stop wrote both; a kill inside a multi-page rewrite leaves the file unparsable.
        Assert.True(File.Exists(_positionFile + ".checkpoint"));
        await WriteTextAsync(_positionFile, "[{\"inode\":1,\"po");
        await File.AppendAllTextAsync(LogPath(), "four\n", TestContext.Current.CancellationToken);
        await using var second = Create();
        await StartAsync(second, output);
        await WaitForAsync(second, () => output.Events.Count, 4);

        Assert.Equal(["one", "two", "three", "four"], output.Texts());
        Assert.Contains(_log.Messages, m => m.Contains("using the last checkpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PositionFileInsideATailedDirectory_IsNotTailed()
    {
        await WriteTextAsync(LogPath("a.log"), "a\n");
        var errors = new List<ConfigError>();
        await using var source = new TaildirSource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["filegroups"] = "f1",
            ["filegroups.f1"] = Path.Combine(_logs, ".*"),
            ["positionFile"] = Path.Combine(_logs, "pos.json"),
            ["backoffSleepIncrement"] = "5",
            ["idleTimeout"] = "300",
        }, errors, _log));
        Assert.Empty(errors);
        var output = await StartAsync(source, new RecordingOutput());
        await WaitForAsync(source, () => output.Events.Count, 1);
        await WriteTextAsync(LogPath("b.log"), "b\n");
        await WaitForAsync(source, () => output.Events.Count, 2);
        // Once idle, an unterminated last line is delivered: a tailed position file would show up now.
        await WaitUntilAsync(() => _log.Messages.Any(m => m.Contains("closed idle file", StringComparison.Ordinal) && m.Contains("b.log", StringComparison.Ordinal)), "b.log to go idle");
        await WaitRoundsAsync(source, 5);

        Assert.Equal(["a", "b"], output.Texts().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Configure_BadKeys_EveryErrorNamesKeyAndLocation()
    {
        var fileInTheWay = Path.Combine(_dir, "not-a-dir");
        File.WriteAllText(fileInTheWay, "");
        var errors = new List<ConfigError>();
        _ = new TaildirSource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["filegroups"] = "f1 f2 f3 f4",
            ["filegroups.f1"] = Path.Combine(_dir, "missing-dir", ".*"),
            ["filegroups.f2"] = Path.Combine(_logs, "app[.log"),
            ["filegroups.f4"] = Path.Combine(_logs, ".*"),
            ["positionFile"] = Path.Combine(fileInTheWay, "pos.json"),
            ["batchSize"] = "0",
            ["idleTimeout"] = "soon",
            ["headers.f4"] = "x",
        }, errors));

        Assert.Contains(errors, e => e.Key == "a1.sources.r1.filegroups.f1" && e.Message.Contains("does not exist", StringComparison.Ordinal) && e.Location.StartsWith("test.conf:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.filegroups.f2" && e.Message.Contains("not a valid regular expression", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.filegroups.f3" && e.Message.Contains("is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.positionFile" && e.Message.Contains("cannot be created", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.batchSize");
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.idleTimeout");
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.headers.f4");
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void Configure_MissingFilegroups_IsRequired()
    {
        var errors = new List<ConfigError>();
        _ = new TaildirSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("positionFile", _positionFile)], errors));

        var error = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.filegroups", error.Key);
    }
}
