using Xunit;
using System.Diagnostics;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>exec with real child processes (flume.md §1.1: command, shell, restart, restartThrottle, batchSize 20, batchTimeout 3000).</summary>
public sealed class ExecSourceTests
{
    [Fact]
    public async Task Command_ThroughShell_EachStdoutLineIsOneEventInOrder()
    {
        await using var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "printf 'a\\nb b\\r\\nc\\n'; echo err >&2"), ("shell", "/bin/sh -c")));
        var output = new RecordingOutput();
        source.Output = output;

        await source.StartAsync(TestContext.Current.CancellationToken);
        await source.Completion.WaitAsync(WaitLimit, TestContext.Current.CancellationToken);

        Assert.Equal(["a", "b b", "c"], output.Texts());
        Assert.Equal(1, source.Runs);
    }

    [Fact]
    public async Task Command_WithoutShell_IsSplitOnWhitespace()
    {
        await using var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "echo  one   two")));
        var output = new RecordingOutput();
        source.Output = output;

        await source.StartAsync(TestContext.Current.CancellationToken);
        await source.Completion.WaitAsync(WaitLimit, TestContext.Current.CancellationToken);

        Assert.Equal(["one two"], output.Texts());
    }

    [Fact]
    public async Task PartialBatch_AfterBatchTimeout_IsDeliveredWhileCommandRuns_AndStopKillsIt()
    {
        var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "echo one; exec sleep 60"), ("shell", "/bin/sh -c"), ("batchTimeout", "100")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        var pid = source.ProcessId!.Value;

        await WaitUntilAsync(() => !output.Events.IsEmpty, "the partial batch");
        await source.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["one"], output.Texts());
        Assert.True(ProcessGone(pid), $"PID {pid} still runs after stop");
    }

    [Fact]
    public async Task Restart_True_RunsTheCommandAgainAfterThrottle()
    {
        await using var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "echo hi"), ("restart", "true"), ("restartThrottle", "20")));
        var output = new RecordingOutput();
        source.Output = output;

        await source.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => output.Events.Count >= 3, "three runs");

        Assert.All(output.Texts(), text => Assert.Equal("hi", text));
        Assert.True(source.Runs >= 3);
    }

    [Fact]
    public async Task ChannelRefusal_BatchIsRetriedNotDropped()
    {
        await using var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "seq 1 50"), ("batchSize", "10")));
        var output = new RecordingOutput { FailFirst = 3 };
        source.Output = output;

        await source.StartAsync(TestContext.Current.CancellationToken);
        await source.Completion.WaitAsync(WaitLimit, TestContext.Current.CancellationToken);

        Assert.Equal(Enumerable.Range(1, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), output.Texts());
    }

    [Fact]
    public void Construct_WithoutCommand_RecordsRequiredError()
    {
        var errors = new List<ConfigError>();
        _ = new ExecSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("charset", "no-such-charset")], errors));

        Assert.Contains(errors, e => e.Key == "a1.sources.r1.command" && e.Message.Contains("required"));
        Assert.Contains(errors, e => e.Key == "a1.sources.r1.charset" && e.Message.Contains("UTF-8"));
    }

    [Fact]
    public void Defaults_AreFlumes()
    {
        var source = new ExecSource("r1", Context("a1.sources.r1.", ("command", "true")));

        Assert.Equal(20, source.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(3000), source.BatchTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(10000), source.RestartThrottle);
        Assert.False(source.Restart);
        Assert.False(source.LogStdErr);
    }

    private static bool ProcessGone(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
