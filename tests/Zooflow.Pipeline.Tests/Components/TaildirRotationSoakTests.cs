using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Taildir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;
using static Zooflow.Pipeline.Tests.Components.FileSourceTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// Seeded random sequences of appends, partial lines, rename-and-create rotations (with writes to the old descriptor),
/// copytruncate rotations, deletions of fully read rotated files and source restarts, on real files; every line must
/// arrive exactly once. CI runs a few seeds; <c>ZOOFLOW_SOAK=1</c> runs 40 seeds of 150 steps (a failure prints its seed).
/// </summary>
public sealed class TaildirRotationSoakTests
{
    public static TheoryData<int, int> Seeds()
    {
        var soak = Environment.GetEnvironmentVariable("ZOOFLOW_SOAK") == "1";
        var data = new TheoryData<int, int>();
        var only = Environment.GetEnvironmentVariable("ZOOFLOW_SOAK_SEED");
        foreach (var seed in only is not null ? [int.Parse(only, System.Globalization.CultureInfo.InvariantCulture)] : soak ? Enumerable.Range(1, 40) : [11, 23, 42])
        {
            data.Add(seed, soak ? 150 : 30);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task RandomRotations_Seeded_EveryLineExactlyOnce(int seed, int steps)
    {
        var dir = TempDir();
        var logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(logs);
        var log = Path.Combine(logs, "app.log");
        var random = new Random(seed);
        // Odd seeds: the pattern also matches rotated names (renames within the pattern); even: the live name only.
        var pattern = seed % 2 == 1 ? @"app\.log.*" : @"app\.log";
        var expected = new List<string>();
        var output = new RecordingOutput();
        var log2 = new ListLoggerFactory();
        var trace = new List<string>();
        var next = 0;
        var rotations = 0;
        var liveRead = false;
        TaildirSource Create()
        {
            var errors = new List<ConfigError>();
            var source = new TaildirSource("r1", Context("a1.sources.r1.", new Dictionary<string, string>
            {
                ["filegroups"] = "f1",
                ["filegroups.f1"] = Path.Combine(logs, pattern),
                ["positionFile"] = Path.Combine(dir, "pos.json"),
                ["batchSize"] = (1 + random.Next(20)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["backoffSleepIncrement"] = "2",
                ["maxBackoffSleep"] = "10",
            }, errors, log2));
            Assert.Empty(errors);
            source.Output = output;
            return source;
        }
        async Task SettleAsync(TaildirSource s)
        {
            var deadline = DateTime.UtcNow + WaitLimit;
            // Every expected line present (a count alone could be reached by duplicates while a line is still missing).
            while (output.Events.Count < expected.Count || !output.Texts().ToHashSet().IsSupersetOf(expected))
            {
                if (DateTime.UtcNow > deadline)
                {
                    var missing = expected.Except(output.Texts()).Take(5);
                    var files = string.Join(", ", Directory.GetFiles(logs).Select(f => $"{Path.GetFileName(f)}={Zooflow.Pipeline.Components.Sources.Files.FileStatus.TryGet(f)?.Key.Inode}:{new FileInfo(f).Length}"));
                    Assert.Fail($"seed {seed}: {output.Events.Count} of {expected.Count} lines; missing e.g. {string.Join(", ", missing)}; " +
                        $"trace: {string.Join(" ", trace)}\nfiles: {files}\npositions: {await ReadTextAsync(Path.Combine(dir, "pos.json"))}\nlog:\n{string.Join("\n", log2.Messages.TakeLast(40))}");
                }
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }
            await WaitRoundsAsync(s, 2);
            liveRead = new FileInfo(log).Length > 0;
        }
        var writer = new AppLogWriter(log);
        var source = Create();
        try
        {
            await source.StartAsync(TestContext.Current.CancellationToken);
            for (var step = 0; step < steps; step++)
            {
                var choice = random.Next(100);
                if (choice < 45)
                {
                    var count = 1 + random.Next(40);
                    var lines = Lines($"s{seed}", next, count).ToList();
                    next += count;
                    if (random.Next(4) == 0)
                    {
                        // A line written in two parts.
                        var last = lines[^1];
                        writer.Write(lines.Take(count - 1));
                        writer.WriteRaw(last[..5]);
                        writer.WriteRaw(last[5..] + "\n");
                    }
                    else
                    {
                        writer.Write(lines);
                    }
                    expected.AddRange(lines);
                    trace.Add($"w{count}");
                }
                else if (choice < 60)
                {
                    // logrotate "create": shift the rotated names, rename the live file, the application writes a little
                    // more to its old descriptor, then reopens. A file that is renamed out of a live-name-only pattern
                    // before any scan saw it is invisible to a poller (docs/operations.md), so that pattern waits first.
                    if (pattern == @"app\.log")
                    {
                        await SettleAsync(source);
                    }
                    rotations++;
                    for (var i = rotations; i >= 1; i--)
                    {
                        if (File.Exists($"{log}.{i}"))
                        {
                            File.Move($"{log}.{i}", $"{log}.{i + 1}");
                        }
                    }
                    File.Move(log, log + ".1");
                    var count = random.Next(10);
                    var lines = Lines($"s{seed}", next, count).ToList();
                    next += count;
                    writer.Write(lines);
                    expected.AddRange(lines);
                    writer.Reopen();
                    liveRead = false;
                    trace.Add($"rot+{count}");
                }
                else if (choice < 70)
                {
                    // logrotate "copytruncate" (nothing is written between the copy and the truncate: those lines would be
                    // in neither file). Lines written to a file the source has not looked at yet and truncated away before
                    // it does are invisible to a poller (docs/operations.md), so a live file nothing was read from yet is
                    // settled first.
                    if (!liveRead)
                    {
                        await SettleAsync(source);
                    }
                    liveRead = false;
                    rotations++;
                    var copy = $"{log}.c{rotations}";
                    await RunAsync("cp", log, copy);
                    await RunAsync("truncate", "-s", "0", log);
                    trace.Add("ct");
                }
                else if (choice < 80)
                {
                    await SettleAsync(source);
                    trace.Add("settle");
                }
                else if (choice < 88)
                {
                    await SettleAsync(source);
                    // Rotated files are deleted only once read (logrotate's "rotate N" deletes days later).
                    foreach (var rotated in Directory.GetFiles(logs).Where(f => f != log && random.Next(2) == 0))
                    {
                        File.Delete(rotated);
                    }
                    trace.Add("rm");
                }
                else
                {
                    await source.StopAsync(TestContext.Current.CancellationToken);
                    await source.DisposeAsync();
                    source = Create();
                    await source.StartAsync(TestContext.Current.CancellationToken);
                    trace.Add("restart");
                }
            }
            await SettleAsync(source);

            try
            {
                AssertExactlyOnce(expected, output.Texts());
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                var firstDuplicate = output.Texts().GroupBy(t => t).FirstOrDefault(g => g.Count() > 1)?.Key;
                var index = firstDuplicate is null ? -1 : Array.IndexOf(output.Texts(), firstDuplicate, Array.IndexOf(output.Texts(), firstDuplicate) + 1);
                Assert.Fail($"seed {seed}, trace: {string.Join(" ", trace)}\n{ex.Message}\nsecond copy of {firstDuplicate} at event {index} of {output.Events.Count}\nlog:\n{string.Join("\n", log2.Messages)}");
            }
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"seed {seed}, trace: {string.Join(" ", trace)}", ex);
        }
        finally
        {
            writer.Dispose();
            await source.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }
}
