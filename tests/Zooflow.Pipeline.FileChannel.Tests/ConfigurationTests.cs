using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;
using Zooflow.TestKit;
using static Zooflow.Pipeline.FileChannel.Tests.Support;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// <c>type = file</c> with Flume's keys and defaults (Flume 1.11 FileChannelConfiguration; flume.md §1.2), every error
/// with key and line, two channels that share a directory refused, and reload keeping a file channel's events.
/// </summary>
public sealed class ConfigurationTests
{
    private const string Home = "/home/flume";

    private static ComponentRegistry Registry() =>
        ComponentRegistry.CreateDefault(BuiltInComponents.All().Concat(FileChannelComponents.All(Home)));

    private static AgentBuildResult Build(string text, CounterRegistry? counters = null) =>
        AgentLoader.Load(new ConfigSource(text, "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>()),
            "a1", Registry(), BuildSettings.Default with { Counters = counters ?? new CounterRegistry() });

    private static string Flow(string channelKeys, string channelType = "file") => $"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.channels = c1
        a1.sinks.k1.type = null
        a1.sinks.k1.channel = c1
        a1.channels.c1.type = {channelType}
        {channelKeys}
        """;

    private static ConfigError Error(AgentBuildResult result, string key) =>
        result.Errors.FirstOrDefault(e => e.Key == key) ?? throw new Xunit.Sdk.XunitException($"no error for {key}; errors:\n{string.Join("\n", result.Errors)}");

    [Fact]
    public void Build_NoKeys_FlumesDefaults()
    {
        var result = Build(Flow(""));
        Assert.Empty(result.Errors);
        var channel = Assert.IsType<FileChannel>(result.Plan.Channels[0].Instance);
        var o = channel.Options;
        Assert.Equal(Path.Combine(Home, ".flume", "file-channel", "checkpoint"), o.CheckpointDir);
        Assert.Equal([Path.Combine(Home, ".flume", "file-channel", "data")], o.DataDirs);
        Assert.False(o.UseDualCheckpoints);
        Assert.Equal(1_000_000, o.Capacity);
        Assert.Equal(10_000, o.TransactionCapacity);
        Assert.Equal(TimeSpan.FromSeconds(30), o.CheckpointInterval);
        Assert.Equal(2_146_435_071, o.MaxFileSize);
        Assert.Equal(524_288_000, o.MinimumRequiredSpace);
        Assert.Equal(TimeSpan.FromSeconds(3), o.KeepAlive);
        Assert.True(o.CheckpointOnClose);
        Assert.True(o.FsyncPerTransaction);
        Assert.Equal(TimeSpan.FromSeconds(5), o.FsyncInterval);
        Assert.False(Directory.Exists(o.CheckpointDir), "validation must not touch the disk");
    }

    [Fact]
    public void Build_FlumeClassNameAndEveryKey_Parsed()
    {
        var result = Build(Flow("""
            a1.channels.c1.checkpointDir = /var/fc/cp
            a1.channels.c1.useDualCheckpoints = true
            a1.channels.c1.backupCheckpointDir = /var/fc/backup
            a1.channels.c1.dataDirs = /disk1/fc, /disk2/fc ,,/disk3/fc
            a1.channels.c1.capacity = 5000
            a1.channels.c1.transactionCapacity = 500
            a1.channels.c1.checkpointInterval = 1500
            a1.channels.c1.maxFileSize = 1048576
            a1.channels.c1.minimumRequiredSpace = 2097152
            a1.channels.c1.keep-alive = 7
            a1.channels.c1.checkpointOnClose = false
            a1.channels.c1.fsyncPerTransaction = false
            a1.channels.c1.fsyncInterval = 2
            a1.channels.c1.use-fast-replay = true
            """, "org.apache.flume.channel.file.FileChannel"));
        Assert.Empty(result.Errors);
        var o = Assert.IsType<FileChannel>(result.Plan.Channels[0].Instance).Options;
        Assert.Equal("/var/fc/cp", o.CheckpointDir);
        Assert.True(o.UseDualCheckpoints);
        Assert.Equal("/var/fc/backup", o.BackupCheckpointDir);
        Assert.Equal(["/disk1/fc", "/disk2/fc", "/disk3/fc"], o.DataDirs);
        Assert.Equal(5000, o.Capacity);
        Assert.Equal(500, o.TransactionCapacity);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.CheckpointInterval);
        Assert.Equal(1_048_576, o.MaxFileSize);
        Assert.Equal(2_097_152, o.MinimumRequiredSpace);
        Assert.Equal(TimeSpan.FromSeconds(7), o.KeepAlive);
        Assert.False(o.CheckpointOnClose);
        Assert.False(o.FsyncPerTransaction);
        Assert.Equal(TimeSpan.FromSeconds(2), o.FsyncInterval);
    }

    [Fact]
    public void Build_BadValues_EveryErrorWithKeyAndLine()
    {
        var result = Build(Flow("""
            a1.channels.c1.capacity = 100
            a1.channels.c1.transactionCapacity = 1000
            a1.channels.c1.useDualCheckpoints = true
            a1.channels.c1.minimumRequiredSpace = 1000
            a1.channels.c1.maxFileSize = 3000000000
            a1.channels.c1.checkpointInterval = 0
            a1.channels.c1.encryption.activeKey = key-0
            """));
        var tx = Error(result, "a1.channels.c1.transactionCapacity");
        Assert.Equal("flume.conf:10", tx.Location);
        Assert.Contains("File Channel transaction capacity cannot be greater than the capacity of the channel (100)", tx.Message, StringComparison.Ordinal);
        Assert.Contains("Dual checkpointing is enabled, but the backup directory is not set", Error(result, "a1.channels.c1.backupCheckpointDir").Message, StringComparison.Ordinal);
        Assert.Contains("allowed: >= 1048576", Error(result, "a1.channels.c1.minimumRequiredSpace").Message, StringComparison.Ordinal);
        Assert.Contains("allowed: 4096..2146435071", Error(result, "a1.channels.c1.maxFileSize").Message, StringComparison.Ordinal);
        Assert.Contains("allowed: >= 1", Error(result, "a1.channels.c1.checkpointInterval").Message, StringComparison.Ordinal);
        Assert.Contains("encryption is not supported", Error(result, "a1.channels.c1.encryption.activeKey").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_BackupSameAsCheckpointDir_Refused()
    {
        var result = Build(Flow("""
            a1.channels.c1.checkpointDir = /var/fc/cp
            a1.channels.c1.useDualCheckpoints = true
            a1.channels.c1.backupCheckpointDir = /var/fc/cp/
            """));
        Assert.Contains("configured to be the same", Error(result, "a1.channels.c1.backupCheckpointDir").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_TwoFileChannelsShareADirectory_RefusedNamingBothKeys()
    {
        var result = Build("""
            a1.sources = r1
            a1.channels = c1 c2
            a1.sinks = k1 k2
            a1.sources.r1.type = seq
            a1.sources.r1.channels = c1 c2
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            a1.sinks.k2.type = null
            a1.sinks.k2.channel = c2
            a1.channels.c1.type = file
            a1.channels.c1.checkpointDir = /var/fc/c1/cp
            a1.channels.c1.dataDirs = /var/fc/shared
            a1.channels.c2.type = file
            a1.channels.c2.checkpointDir = /var/fc/c2/cp
            a1.channels.c2.dataDirs = /var/fc/other,/var/fc/shared
            """);
        var error = Error(result, "a1.channels.c2.dataDirs");
        Assert.Equal("flume.conf:15", error.Location);
        Assert.Contains("'/var/fc/shared' is also used by channel 'c1' (a1.channels.c1.dataDirs at flume.conf:12)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_TwoFileChannelsWithDefaultDirectories_Refused()
    {
        var result = Build("""
            a1.sources = r1
            a1.channels = c1 c2
            a1.sinks = k1 k2
            a1.sources.r1.type = seq
            a1.sources.r1.channels = c1 c2
            a1.sinks.k1.type = null
            a1.sinks.k1.channel = c1
            a1.sinks.k2.type = null
            a1.sinks.k2.channel = c2
            a1.channels.c1.type = file
            a1.channels.c2.type = file
            """);
        var error = Error(result, "a1.channels.c2.checkpointDir");
        Assert.Contains("(the default) is also used by channel 'c1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("a1.channels.c2.dataDirs", result.Errors.Select(e => e.Key));
    }

    [Fact]
    public async Task Reload_FileChannelSettingsChanged_ReopensTheSameDirectoriesAndKeepsEvents()
    {
        using var dir = new TempDir();
        var keys = $"""
            a1.channels.c1.checkpointDir = {dir.Combine("cp")}
            a1.channels.c1.dataDirs = {dir.Combine("data")}
            a1.channels.c1.capacity = 1000
            a1.channels.c1.transactionCapacity = 100
            """;
        // A source that receives nothing and no sink: the channel's events stay put while the configuration changes.
        var text = $"""
            a1.sources = r1
            a1.channels = c1
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = 0
            a1.sources.r1.channels = c1
            a1.channels.c1.type = file
            {keys}
            """;
        var counters = new CounterRegistry();
        var before = Build(text, counters);
        Assert.Empty(before.Errors);
        await using var host = new AgentHost(AgentHostOptions.Default, counters);
        await host.StartAsync(before.Plan, Ct);
        var first = host.Channels["c1"];
        await PutRangeAsync(first, 0, 42);

        var changed = Build(text.Replace("capacity = 1000", "capacity = 2000"), counters);
        Assert.Empty(changed.Errors);
        await host.ApplyAsync(changed.Plan, Ct);
        var second = Assert.IsType<FileChannel>(host.Channels["c1"]);
        Assert.NotSame(first, second);
        Assert.Equal(2000, second.Capacity);
        Assert.Equal(Texts(0, 42), await DrainAsync(second));

        // Unchanged settings: the same instance keeps running.
        await host.ApplyAsync(Build(text.Replace("capacity = 1000", "capacity = 2000"), counters).Plan, Ct);
        Assert.Same(second, host.Channels["c1"]);
    }
}
