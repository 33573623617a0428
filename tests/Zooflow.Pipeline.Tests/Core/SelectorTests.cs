using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using static Zooflow.Pipeline.Tests.Core.TestUtil;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>Channel selectors and the channel processor (Flume user guide "Flume Channel Selectors"; ChannelProcessor.java).</summary>
public sealed class SelectorTests
{
    private static MemoryChannel Mem(string name, long capacity = 100) =>
        new(name, new MemoryChannelOptions(capacity, Math.Min(100, (int)capacity), 1_000_000, 20, TimeSpan.Zero));

    private static SelectorSettings Settings(IReadOnlyList<string> channels, out List<ConfigError> errors, params (string Key, string Value)[] props)
    {
        errors = [];
        var ctx = new ComponentContext("a1.sources.r1.", props.ToDictionary(p => p.Key, p => new ConfigValue(p.Value, "f:1")), errors,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        return SelectorSettings.FromContext(ctx, channels);
    }

    private static async Task<List<string>> DrainAsync(IChannel c)
    {
        // One event per transaction: a take beyond transactionCapacity throws, as in Flume.
        var list = new List<string>();
        while (true)
        {
            await using var tx = c.BeginTransaction();
            var e = tx.Take();
            await tx.CommitAsync(Ct);
            if (e is null)
            {
                return list;
            }
            list.Add(Body(e));
        }
    }

    [Fact]
    public async Task Replicating_OptionalChannelFull_FailureIgnored()
    {
        var c1 = Mem("c1");
        var c2 = Mem("c2", capacity: 1);
        var settings = Settings(["c1", "c2"], out var errors, ("selector.optional", "c2"));
        Assert.Empty(errors);
        var processor = new ChannelProcessor([], settings.Create(new Dictionary<string, IChannel> { ["c1"] = c1, ["c2"] = c2 }));
        await processor.ProcessBatchAsync([Ev("a")], Ct);
        await processor.ProcessBatchAsync([Ev("b")], Ct); // c2 is full now: ignored
        Assert.Equal(["a", "b"], await DrainAsync(c1));
        Assert.Equal(["a"], await DrainAsync(c2));
    }

    [Fact]
    public async Task Replicating_RequiredChannelFull_ThrowsChannelException()
    {
        var c1 = Mem("c1", capacity: 1);
        var settings = Settings(["c1"], out _);
        var processor = new ChannelProcessor([], settings.Create(new Dictionary<string, IChannel> { ["c1"] = c1 }));
        await processor.ProcessBatchAsync([Ev("a")], Ct);
        await Assert.ThrowsAsync<ChannelFullException>(() => processor.ProcessBatchAsync([Ev("b")], Ct).AsTask());
        Assert.Equal(["a"], await DrainAsync(c1));
    }

    [Fact]
    public async Task Multiplexing_MappingDefaultAndOptional_Routed()
    {
        var channels = new[] { "c1", "c2", "c3" }.ToDictionary(n => n, n => (IChannel)Mem(n));
        var settings = Settings(["c1", "c2", "c3"], out var errors,
            ("selector.type", "multiplexing"), ("selector.header", "state"),
            ("selector.mapping.CZ", "c1"), ("selector.mapping.US", "c2 c3"),
            ("selector.optional.CZ", "c3"), ("selector.default", "c3"));
        Assert.Empty(errors);
        var processor = new ChannelProcessor([], settings.Create(channels));
        await processor.ProcessBatchAsync([Ev("cz", ("state", "CZ")), Ev("us", ("state", "US")), Ev("other", ("state", "XX")), Ev("none")], Ct);
        Assert.Equal(["cz"], await DrainAsync(channels["c1"]));
        Assert.Equal(["us"], await DrainAsync(channels["c2"]));
        Assert.Equal(["us", "other", "none", "cz"], await DrainAsync(channels["c3"]));
    }

    [Fact]
    public void Multiplexing_MappingToUnknownChannel_Error()
    {
        Settings(["c1"], out var errors, ("selector.type", "multiplexing"), ("selector.mapping.X", "c9"));
        var e = Assert.Single(errors);
        Assert.Equal("a1.sources.r1.selector.mapping.X", e.Key);
        Assert.Contains("'c9', which is not one of this source's channels (allowed: c1)", e.Message);
    }

    [Fact]
    public async Task LoadBalancing_RoundRobin_SpreadsEvents()
    {
        var channels = new[] { "c1", "c2" }.ToDictionary(n => n, n => (IChannel)Mem(n));
        var settings = Settings(["c1", "c2"], out _, ("selector.type", "load_balancing"));
        var processor = new ChannelProcessor([], settings.Create(channels));
        await processor.ProcessBatchAsync([Ev("1"), Ev("2"), Ev("3"), Ev("4")], Ct);
        Assert.Equal(2, (await DrainAsync(channels["c1"])).Count);
        Assert.Equal(2, (await DrainAsync(channels["c2"])).Count);
    }

    [Fact]
    public void UnknownSelectorType_ErrorListsAllowed()
    {
        Settings(["c1"], out var errors, ("selector.type", "fanout"));
        Assert.Contains(errors, e => e.Message == "'fanout' is not a channel selector type (allowed: replicating, multiplexing, load_balancing)");
    }

    [Fact]
    public async Task ChannelProcessor_InterceptorChain_RunsInOrderAndDrops()
    {
        var c1 = Mem("c1");
        var errors = new List<ConfigError>();
        var interceptors = new IInterceptor[]
        {
            Interceptors.RegexFilterInterceptor.Create(InterceptorTests.Ctx(errors, null, ("regex", "keep"))),
            Interceptors.StaticInterceptor.Create(InterceptorTests.Ctx(errors, null, ("key", "k"), ("value", "v"))),
        };
        var processor = new ChannelProcessor(interceptors, new ReplicatingChannelSelector([c1], []));
        await processor.ProcessBatchAsync([Ev("keep 1"), Ev("drop"), Ev("keep 2")], Ct);
        await using var tx = c1.BeginTransaction();
        var first = tx.Take()!;
        Assert.Equal("keep 1", Body(first));
        Assert.Equal("v", first.Headers["k"]);
        Assert.Equal("keep 2", Body(tx.Take()!));
        Assert.Null(tx.Take());
        await tx.CommitAsync(Ct);
    }
}
