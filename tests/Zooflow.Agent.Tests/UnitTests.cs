using Microsoft.Extensions.Time.Testing;
using Xunit;
using Zooflow.Agent.Configuration;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Registry;

namespace Zooflow.Agent.Tests;

/// <summary>The pieces that need no service: token bucket (fake clock), limits grammar and sharing, health, diffs.</summary>
public sealed class TokenBucketTests
{
    [Fact]
    public async Task AcquireAsync_RateTen_HundredEventsTakeNineSecondsAfterTheBurst()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(clock);
        bucket.SetRate(10);
        var taken = 0;
        var consumer = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await bucket.AcquireAsync(1, TestContext.Current.CancellationToken);
                Interlocked.Increment(ref taken);
            }
        }, TestContext.Current.CancellationToken);

        // The burst (1 s worth = 10 tokens, +1 taken in debt) goes at once; then one token per 100 ms of (fake) time.
        await WaitForAsync(() => Volatile.Read(ref taken) >= 11);
        Assert.Equal(11, Volatile.Read(ref taken));
        var advanced = TimeSpan.Zero;
        while (Volatile.Read(ref taken) < 100)
        {
            Assert.True(advanced < TimeSpan.FromSeconds(20), $"only {taken} taken after {advanced}");
            clock.Advance(TimeSpan.FromMilliseconds(10));
            advanced += TimeSpan.FromMilliseconds(10);
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }
        // 89 more tokens at 10/s: 8.9 s; a step may land before the waiter armed its timer, so allow some slack.
        Assert.InRange(advanced.TotalSeconds, 8.9, 9.8);
        await consumer.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(100, taken);
    }

    [Fact]
    public async Task SetRate_RaisedWhileWaiting_WaiterProceedsAtOnce()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(clock);
        bucket.SetRate(1);
        await bucket.AcquireAsync(50, TestContext.Current.CancellationToken); // deep debt: 49 s at 1/s
        var waiter = bucket.AcquireAsync(1, TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(waiter.IsCompleted);

        bucket.SetRate(null); // limit removed

        await waiter.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AcquireAsync_BatchLargerThanBurst_PassesAndNextCallerPays()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(clock);
        bucket.SetRate(100);
        await bucket.AcquireAsync(1000, TestContext.Current.CancellationToken); // 10 s worth in one batch
        Assert.False(bucket.TryTake(1, out var wait, out _));
        Assert.InRange(wait.TotalSeconds, 8.9, 9.1); // 900 tokens of debt at 100/s
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }
    }
}

public sealed class FlowLimitsTests
{
    [Fact]
    public void Parse_FullGrammar_ReadsTotalsAndSources()
    {
        var errors = new List<string>();
        var limits = FlowLimits.Parse("""{"eventsPerSecond": 1000, "bytesPerSecond": 2048, "sources": {"r1": {"eventsPerSecond": 5}}}"""u8, "/l", errors);
        Assert.Empty(errors);
        Assert.Equal(1000, limits!.Total.EventsPerSecond);
        Assert.Equal(2048, limits.Total.BytesPerSecond);
        Assert.Equal(5, limits.ForSource("r1").EventsPerSecond);
        Assert.True(limits.ForSource("r2").IsUnlimited);
        Assert.Equal(limits.ToJson(), FlowLimits.Parse(System.Text.Encoding.UTF8.GetBytes(limits.ToJson()), "/l", errors)!.ToJson());
    }

    [Fact]
    public void Parse_EveryProblem_ReportedWithPathAndField()
    {
        var errors = new List<string>();
        var limits = FlowLimits.Parse("""{"eventsPerSecond": -1, "burst": 3, "sources": {"r1": {"bytesPerSecond": "fast"}}}"""u8, "/zooflow/limits/agents/a1", errors);
        Assert.Null(limits);
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e => Assert.StartsWith("/zooflow/limits/agents/a1", e, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("eventsPerSecond: '-1' is not a positive number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown field 'burst'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("sources.r1: bytesPerSecond", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_EmptyOrNotJson_NoLimitOrError()
    {
        var errors = new List<string>();
        Assert.Same(FlowLimits.None, FlowLimits.Parse(""u8, "/l", errors));
        Assert.Null(FlowLimits.Parse("nope"u8, "/l", errors));
        Assert.Single(errors);
    }

    [Fact]
    public void Effective_GroupLimitSharedByLiveMembers_StricterOfAgentAndShareWins()
    {
        var agent = new FlowLimits(new RateLimit(100, null), new Dictionary<string, RateLimit> { ["r1"] = new(50, null) });
        var group = new FlowLimits(new RateLimit(300, 9000), new Dictionary<string, RateLimit> { ["r1"] = new(60, null), ["r2"] = new(30, null) });

        var effective = FlowLimits.Effective(agent, group, liveMembers: 3);

        Assert.Equal(100, effective.Total.EventsPerSecond); // min(100, 300/3)
        Assert.Equal(3000, effective.Total.BytesPerSecond); // 9000/3
        Assert.Equal(20, effective.ForSource("r1").EventsPerSecond); // min(50, 60/3)
        Assert.Equal(10, effective.ForSource("r2").EventsPerSecond); // 30/3
        Assert.Equal(150, FlowLimits.Effective(FlowLimits.None, group, 2).Total.EventsPerSecond);
    }
}

public sealed class FleetHealthTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    private static AgentStatus Healthy() => new()
    {
        Agent = "a1", Id = "a1", Group = "g", UpdateTime = Now.ToUnixTimeMilliseconds(), StatusIntervalMs = 1000, State = "running",
        Config = new ConfigStatus { Path = "/flume/a1", State = "applied", Version = 2 },
        Components = [new ComponentStatus { Kind = "source", Name = "r1", State = "running" }, new ComponentStatus { Kind = "sink", Name = "k1", State = "running" }],
        Channels = [new ChannelStatus { Name = "c1", Size = 10, Capacity = 100, FillPercent = 10 }],
    };

    [Fact]
    public void Classify_RunningAndFresh_Ok()
    {
        Assert.Equal("ok", Fleet.Classify("g", "a1", (Healthy(), null), null, Now).Health);
    }

    [Fact]
    public void Classify_RefusedConfig_DegradedNamingTheError()
    {
        var status = Healthy() with { ConfigError = new ConfigErrorStatus { Version = 3, Errors = ["x@v3:2: a1.sources.r1.type: 'nope' is not a known source type"] } };
        var entry = Fleet.Classify("g", "a1", (status, null), null, Now);
        Assert.Equal("degraded", entry.Health);
        Assert.Contains("config v3 refused", entry.Reasons[0], StringComparison.Ordinal);
        Assert.Contains("'nope' is not a known source type", entry.Reasons[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_FullChannelStaleOrBlocked_Degraded()
    {
        Assert.Equal("degraded", Fleet.Classify("g", "a1", (Healthy() with { Channels = [new ChannelStatus { Name = "c1", FillPercent = 95 }] }, null), null, Now).Health);
        Assert.Equal("degraded", Fleet.Classify("g", "a1", (Healthy() with { UpdateTime = Now.ToUnixTimeMilliseconds() - 5000 }, null), null, Now).Health);
        var blocked = Healthy() with { Components = [new ComponentStatus { Kind = "source", Name = "r1", State = "blocked", Detail = "channel refused 3 batches (full)" }] };
        Assert.Contains("channel refused", Fleet.Classify("g", "a1", (blocked, null), null, Now).Reasons[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_EverythingFailingOrNoConfig_Failing()
    {
        var failing = Healthy() with { Components = [new ComponentStatus { Kind = "sink", Name = "k1", State = "failing" }, new ComponentStatus { Kind = "source", Name = "r1", State = "standby" }] };
        Assert.Equal("failing", Fleet.Classify("g", "a1", (failing, null), null, Now).Health);
        var missing = Healthy() with { State = "no-config", Config = new ConfigStatus { Path = "/flume/a1", State = "missing" } };
        Assert.Contains("/flume/a1 does not exist", Fleet.Classify("g", "a1", (missing, null), null, Now).Reasons[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_NoLiveNode_GoneUnlessStoppedCleanly()
    {
        Assert.Equal("gone", Fleet.Classify("g", "a1", null, new KnownAgent { StartTime = 1 }, Now).Health);
        Assert.Equal("stopped", Fleet.Classify("g", "a1", null, new KnownAgent { StartTime = 1, StopTime = 2 }, Now).Health);
    }
}

public sealed class ConfigDiffTests
{
    [Fact]
    public void Unified_OneLineChanged_HunkWithContext()
    {
        var diff = ConfigDiff.Unified("a\nb\nc\nd\n", "a\nb\nX\nd\n", "old", "new");
        Assert.Contains("--- old", diff, StringComparison.Ordinal);
        Assert.Contains("+++ new", diff, StringComparison.Ordinal);
        Assert.Contains("-c", diff, StringComparison.Ordinal);
        Assert.Contains("+X", diff, StringComparison.Ordinal);
        Assert.Contains(" b", diff, StringComparison.Ordinal);
    }

    [Fact]
    public void Unified_SameTextDifferentLineEnds_Empty()
    {
        Assert.Equal("", ConfigDiff.Unified("a\r\nb\r\n", "a\nb\n", "old", "new"));
    }
}
