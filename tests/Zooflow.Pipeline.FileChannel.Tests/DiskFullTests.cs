using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.TestKit;
using static Zooflow.Pipeline.FileChannel.Tests.Support;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Disk full on a small tmpfs made for the test (as tests/Zooflow.Storage.Tests/DiskFullTests.cs), unmounted after.
/// Below minimumRequiredSpace puts fail with the channel-full error sources treat as back-pressure (the netcat source
/// stops reading its connection), nothing is corrupted, and puts resume when space returns (flume.md §6 "Disk-space
/// guard", FLUME-1609). Needs root to mount; skipped otherwise.
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task NetcatAgent_BelowMinimumRequiredSpace_StopsReadingThenResumesAndLosesNothing()
    {
        AgentProcess.RequireCli();
        using var dir = new TempDir("zooflow-fc-diskfull");
        var mount = dir.Combine("fs");
        await using var tmpfs = await Tmpfs.MountAsync(mount, "64m");
        var port = FreePort.Next();
        var config = $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = netcat
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.batchSize = 100
            a1.sources.r1.channels = c1
            a1.channels.c1.type = file
            a1.channels.c1.checkpointDir = {Path.Combine(mount, "checkpoint")}
            a1.channels.c1.dataDirs = {Path.Combine(mount, "data")}
            a1.channels.c1.checkpointInterval = 500
            a1.channels.c1.maxFileSize = 4194304
            a1.channels.c1.minimumRequiredSpace = 1048576
            a1.sinks.k1.type = file_roll
            a1.sinks.k1.channel = c1
            a1.sinks.k1.sink.directory = {dir.Combine("out")}
            a1.sinks.k1.sink.rollInterval = 0
            """;
        var filler = Path.Combine(mount, "filler");
        const int lineBytes = 200;
        const long lines = 100_000; // 20 MB: more than the loopback socket buffers can hold
        await using (var agent = AgentProcess.Start(dir.Path, config, "--no-reload-conf"))
        {
            await agent.WaitForTcpAsync(port);
            await using (var first = await LineFeeder.StartAsync(port, "before", 0, 200, lineBytes))
            {
                await E2E.WaitForCountAsync(() => (int)first.Acked, 200, agent, "acks before the disk fills");
            }

            // Leave less than minimumRequiredSpace free: the next put commit is refused.
            Tmpfs.Fill(filler, leaveFreeBytes: 512 * 1024);
            await using var feeder = await LineFeeder.StartAsync(port, "during", 0, lines, lineBytes);
            await agent.WaitForOutputAsync("refusing puts: Usable space exhausted");
            var ackedWhileFull = feeder.Acked;
            await agent.WaitForOutputAsync("holding input until it accepts");
            // The source holds the connection unread: the sender cannot hand over all 20 MB while the disk is full.
            Assert.False(feeder.Sending.IsCompleted, "the whole input was read although the channel refused it");
            Assert.Equal(ackedWhileFull, feeder.Acked);

            File.Delete(filler);
            await E2E.WaitForCountAsync(() => (int)feeder.Acked, (int)lines, agent, "acks after space returned");
            await agent.WaitForOutputAsync("accepting puts again");
            var expected = Enumerable.Range(0, (int)lines).Select(i => LineFeeder.Line("during", i, lineBytes)).ToHashSet();
            await E2E.WaitForCountAsync(() => E2E.ReadLines(dir.Combine("out")).Count(expected.Contains), (int)lines, agent, "lines in the output");
            Assert.Equal(0, await agent.StopAsync());
        }

        // Nothing on disk was damaged: the channel reopens without a repair, empty.
        await using var reopened = await OpenAsync(new FileChannelOptions
        {
            CheckpointDir = Path.Combine(mount, "checkpoint"),
            DataDirs = [Path.Combine(mount, "data")],
            MinimumRequiredSpace = FileChannelOptions.MinimumRequiredSpaceFloor,
        });
        Assert.Empty(reopened.Recovery!.Truncations);
        Assert.Empty(reopened.Recovery.Dropped);
        Assert.Equal(0, reopened.Size);
    }

    [Fact]
    public async Task PutCommit_WriteFailsWithNoSpace_ChannelFullThenResumesWithoutDamage()
    {
        using var dir = new TempDir("zooflow-fc-enospc");
        var mount = dir.Combine("fs");
        await using var tmpfs = await Tmpfs.MountAsync(mount, "8m");
        var options = new FileChannelOptions
        {
            CheckpointDir = Path.Combine(mount, "checkpoint"),
            DataDirs = [Path.Combine(mount, "data")],
            MinimumRequiredSpace = FileChannelOptions.MinimumRequiredSpaceFloor,
            CheckpointInterval = TimeSpan.FromHours(1),
            KeepAlive = TimeSpan.Zero,
        };
        var filler = Path.Combine(mount, "filler");
        var big = new Event(new byte[3 * 1024 * 1024]);
        await using (var channel = await OpenAsync(options))
        {
            await PutRangeAsync(channel, 0, 10);

            // The free-space figure is refreshed at most once a second: filling the disk right after a commit makes the
            // next commit reach the real write, which fails with ENOSPC.
            Tmpfs.Fill(filler, leaveFreeBytes: 0);
            var error = await Assert.ThrowsAsync<ChannelFullException>(() => PutAsync(channel, [big]));
            TestContext.Current.TestOutputHelper?.WriteLine(error.Message);
            Assert.Contains("[channel=c1]", error.Message, StringComparison.Ordinal);

            // Takes still work on a full disk (they use the reserve).
            Assert.Equal(Texts(0, 5), (await TakeAsync(channel, 5)).Select(Text));

            File.Delete(filler);
            await PutAsync(channel, [big]);
            await PutRangeAsync(channel, 10, 5);
        }

        await using var reopened = await OpenAsync(options);
        Assert.Empty(reopened.Recovery!.Truncations);
        Assert.Empty(reopened.Recovery.Dropped);
        var left = await TakeAsync(reopened, 100);
        Assert.Equal(Texts(5, 5).Append(Text(big)).Concat(Texts(10, 5)), left.Select(Text));
    }
}
