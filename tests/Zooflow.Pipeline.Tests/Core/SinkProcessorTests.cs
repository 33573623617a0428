using Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Runtime;
using Zooflow.Pipeline.Sinks;
using static Zooflow.Pipeline.Tests.Core.TestUtil;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>Sink processors (Flume user guide "Flume Sink Processors"; FailoverSinkProcessor.java, LoadBalancingSinkProcessor.java).</summary>
public sealed class SinkProcessorTests
{
    private static async Task<MemoryChannel> FilledAsync(int n)
    {
        var channel = new MemoryChannel("c1", MemoryChannelOptions.Default with { KeepAlive = TimeSpan.Zero });
        await using var tx = channel.BeginTransaction();
        for (var i = 0; i < n; i++)
        {
            tx.Put(Ev(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        await tx.CommitAsync(Ct);
        return channel;
    }

    private static List<CollectingSink> Sinks(TestWorld world, IChannel channel, int batchSize, params string[] names) =>
        names.Select(n => new CollectingSink(n, batchSize, world) { Channel = channel }).ToList();

    [Fact]
    public async Task Failover_HighestPriorityDown_NextSinkDeliversAndFailedIsPenalized()
    {
        var world = new TestWorld();
        var channel = await FilledAsync(4);
        var clock = new ManualClock();
        var sinks = Sinks(world, channel, 2, "k1", "k2");
        var processor = new FailoverSinkProcessor(sinks, new Dictionary<string, int> { ["k1"] = 10, ["k2"] = 5 }, TimeSpan.FromSeconds(30), clock, NullLogger.Instance);
        world.FailingSinks["k1"] = true;

        Assert.Equal(ProcessStatus.Ready, await processor.ProcessAsync(Ct));
        Assert.Equal(["0", "1"], world.DeliveredBy("k2"));
        Assert.Equal(["k1"], processor.FailedSinks);

        // k1 recovers, but stays aside until its penalty (2 s after one failure) expires.
        world.FailingSinks.TryRemove("k1", out _);
        await processor.ProcessAsync(Ct);
        Assert.Equal(["0", "1", "2", "3"], world.DeliveredBy("k2"));
        clock.Advance(TimeSpan.FromSeconds(3));
        await using (var tx = channel.BeginTransaction())
        {
            tx.Put(Ev("4"));
            await tx.CommitAsync(Ct);
        }
        await processor.ProcessAsync(Ct);
        Assert.Equal(["4"], world.DeliveredBy("k1"));
        Assert.Empty(processor.FailedSinks);
    }

    [Fact]
    public async Task Failover_AllSinksDown_ThrowsAndKeepsEvents()
    {
        var world = new TestWorld();
        var channel = await FilledAsync(3);
        var sinks = Sinks(world, channel, 10, "k1", "k2");
        world.FailingSinks["k1"] = true;
        world.FailingSinks["k2"] = true;
        var processor = new FailoverSinkProcessor(sinks, new Dictionary<string, int>(), TimeSpan.FromSeconds(30), new ManualClock(), NullLogger.Instance);
        var ex = await Assert.ThrowsAsync<EventDeliveryException>(() => processor.ProcessAsync(Ct).AsTask());
        Assert.Equal("All sinks failed to process, nothing left to failover to", ex.Message);
        Assert.Equal(3, channel.Size);
    }

    [Fact]
    public async Task LoadBalance_RoundRobin_SpreadsBatches()
    {
        var world = new TestWorld();
        var channel = await FilledAsync(6);
        var sinks = Sinks(world, channel, 1, "k1", "k2", "k3");
        var processor = new LoadBalancingSinkProcessor(sinks, random: false, backoff: false, TimeSpan.FromSeconds(30), new ManualClock(), NullLogger.Instance);
        for (var i = 0; i < 6; i++)
        {
            await processor.ProcessAsync(Ct);
        }
        Assert.Equal(["0", "3"], world.DeliveredBy("k1"));
        Assert.Equal(["1", "4"], world.DeliveredBy("k2"));
        Assert.Equal(["2", "5"], world.DeliveredBy("k3"));
    }

    [Fact]
    public async Task LoadBalance_FailingSinkWithBackoff_SkippedUntilTimeout()
    {
        var world = new TestWorld();
        var channel = await FilledAsync(6);
        var clock = new ManualClock();
        var sinks = Sinks(world, channel, 1, "k1", "k2");
        world.FailingSinks["k1"] = true;
        var processor = new LoadBalancingSinkProcessor(sinks, random: false, backoff: true, TimeSpan.FromSeconds(30), clock, NullLogger.Instance);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(ProcessStatus.Ready, await processor.ProcessAsync(Ct));
        }
        Assert.Equal(["0", "1", "2", "3"], world.DeliveredBy("k2"));
        Assert.Empty(world.DeliveredBy("k1"));
        world.FailingSinks.TryRemove("k1", out _);
        clock.Advance(TimeSpan.FromSeconds(3));
        await processor.ProcessAsync(Ct);
        await processor.ProcessAsync(Ct);
        Assert.Single(world.DeliveredBy("k1"));
    }

    [Fact]
    public async Task LoadBalance_AllFail_Throws()
    {
        var world = new TestWorld();
        var channel = await FilledAsync(1);
        var sinks = Sinks(world, channel, 1, "k1", "k2");
        world.FailingSinks["k1"] = world.FailingSinks["k2"] = true;
        var processor = new LoadBalancingSinkProcessor(sinks, random: true, backoff: false, TimeSpan.FromSeconds(30), new ManualClock(), NullLogger.Instance);
        await Assert.ThrowsAsync<EventDeliveryException>(() => processor.ProcessAsync(Ct).AsTask());
        Assert.Equal(1, channel.Size);
    }

    [Fact]
    public void RunnerOptions_BackoffSleep_CappedLinear()
    {
        var o = RunnerOptions.Default;
        Assert.Equal(TimeSpan.FromSeconds(1), o.BackoffSleep(1));
        Assert.Equal(TimeSpan.FromSeconds(3), o.BackoffSleep(3));
        Assert.Equal(TimeSpan.FromSeconds(5), o.BackoffSleep(50));
        Assert.Equal(TimeSpan.FromSeconds(1), o.RestartDelay(1));
        Assert.Equal(TimeSpan.FromSeconds(8), o.RestartDelay(4));
        Assert.Equal(TimeSpan.FromSeconds(30), o.RestartDelay(30));
    }
}
