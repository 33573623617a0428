using System.Net;
using System.Text.Json;
using Xunit;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;
using static Zooflow.Pipeline.Tests.Core.TestUtil;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>The agent runtime: lifecycle order, supervision, drain, reload diff, metrics (flume.md §2 "Startup order",
/// "Reload", "HTTP JSON metrics").</summary>
public sealed class AgentHostTests
{
    private static readonly RunnerOptions FastRunner = new(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100));

    private const string Flow = """
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = manual
        a1.sources.r1.channels = c1
        a1.channels.c1.type = recording
        a1.sinks.k1.type = collect
        a1.sinks.k1.channel = c1

        """;

    private static AgentPlan Plan(TestWorld world, string text, CounterRegistry counters)
    {
        var result = AgentLoader.Load(new ConfigSource(text, "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>()),
            "a1", world.Registry(), BuildSettings.Default with { Counters = counters });
        Assert.Empty(result.Errors);
        return result.Plan;
    }

    private static AgentHost Host(CounterRegistry counters) => new(new AgentHostOptions(FastRunner, TimeSpan.FromSeconds(5)), counters);

    [Fact]
    public async Task StartStop_Order_ChannelsSinksSourcesThenReverse()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        Assert.Equal(["start channel c1", "start sink k1", "start source r1"], world.Log.ToArray());
        await host.StopAsync(TimeSpan.FromSeconds(1), Ct);
        Assert.Equal(["start channel c1", "start sink k1", "start source r1", "stop source r1", "stop sink k1", "stop channel c1"], world.Log.ToArray());
    }

    [Fact]
    public async Task Events_FlowFromSourceThroughChannelToSink_InOrder()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        await world.Sources["r1"].SendAsync("a", "b", "c");
        await EventuallyAsync(() => world.DeliveredBy("k1").Count == 3, "3 events at k1");
        Assert.Equal(["a", "b", "c"], world.DeliveredBy("k1"));
    }

    [Fact]
    public async Task SinkRunner_IdleInLongBackoff_WokenByNewEvents()
    {
        // Backoff of 60 s: delivery within the test timeout proves the channel's signal ended the sleep.
        var world = new TestWorld();
        var counters = new CounterRegistry();
        var slow = new RunnerOptions(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100));
        await using var host = new AgentHost(new AgentHostOptions(slow, TimeSpan.FromSeconds(1)), counters);
        await host.StartAsync(Plan(world, Flow.Replace("recording", "memory"), counters), Ct);
        await EventuallyAsync(() => counters.Channel("c1").EventTakeAttemptCount > 0, "the sink found the channel empty");
        await world.Sources["r1"].SendAsync("late");
        await EventuallyAsync(() => world.DeliveredBy("k1").Count == 1, "delivery after wake-up", timeoutMs: 20000);
    }

    [Fact]
    public async Task PollableSource_RunnerPollsUntilDone()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        var text = Flow.Replace("r1.type = manual", "r1.type = counting\na1.sources.r1.total = 25\na1.sources.r1.batchSize = 5");
        await host.StartAsync(Plan(world, text, counters), Ct);
        await EventuallyAsync(() => world.DeliveredBy("k1").Count == 25, "25 events");
        Assert.Equal(Enumerable.Range(0, 25).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), world.DeliveredBy("k1"));
    }

    [Fact]
    public async Task SinkStartFails_RestartedWithNewInstanceAfterBackoff()
    {
        var world = new TestWorld();
        world.FailStarts["sink k1"] = 2;
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        await world.Sources["r1"].SendAsync("x");
        await EventuallyAsync(() => world.DeliveredBy("k1").Count == 1, "delivery after restarts");
        Assert.Equal(3, world.Log.Count(l => l == "start sink k1"));
        Assert.Equal(2, host.Restarts);
    }

    [Fact]
    public async Task Stop_SinkDown_ReportsUndeliveredAfterDrainTimeout()
    {
        var world = new TestWorld();
        world.FailingSinks["k1"] = true;
        var counters = new CounterRegistry();
        var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        await world.Sources["r1"].SendAsync("1", "2", "3");
        Assert.Equal(3, await host.StopAsync(TimeSpan.FromMilliseconds(200), Ct));
    }

    [Fact]
    public async Task Stop_SinkUp_DrainsChannelBeforeStopping()
    {
        var world = new TestWorld();
        world.FailingSinks["k1"] = true;
        var counters = new CounterRegistry();
        var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        await world.Sources["r1"].SendAsync("1", "2", "3");
        var stopping = host.StopAsync(TimeSpan.FromSeconds(10), Ct);
        world.FailingSinks.TryRemove("k1", out _);
        Assert.Equal(0, await stopping);
        Assert.Equal(["1", "2", "3"], world.DeliveredBy("k1"));
    }

    [Fact]
    public async Task Apply_SinkChanged_ChannelKeptWithItsEventsAndNothingLost()
    {
        var world = new TestWorld();
        world.FailingSinks["k1"] = true;
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        var channel = host.Channels["c1"];
        var source = world.Sources["r1"];
        await source.SendAsync("1", "2", "3");
        Assert.Equal(3, channel.Size);

        // Replace sink k1 by k2 (k1 is down); channel and source settings are unchanged.
        var changed = Flow.Replace("a1.sinks = k1", "a1.sinks = k2").Replace("a1.sinks.k1.", "a1.sinks.k2.");
        await host.ApplyAsync(Plan(world, changed, counters), Ct);
        await source.SendAsync("4");
        await EventuallyAsync(() => world.DeliveredBy("k2").Count == 4, "4 events at k2");

        Assert.Same(channel, host.Channels["c1"]);
        Assert.Same(source, host.Sources["r1"]);
        Assert.Equal(["1", "2", "3", "4"], world.DeliveredBy("k2"));
        Assert.Equal(1, world.Log.Count(l => l == "start channel c1"));
        Assert.Equal(1, world.Log.Count(l => l == "start source r1"));
        Assert.Contains("stop sink k1", world.Log);
    }

    [Fact]
    public async Task Apply_ChannelSettingsChanged_ChannelReplacedAndDependentsRestarted()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        var channel = host.Channels["c1"];
        await host.ApplyAsync(Plan(world, Flow + "a1.channels.c1.capacity = 500\n", counters), Ct);
        Assert.NotSame(channel, host.Channels["c1"]);
        Assert.Equal(500, host.Channels["c1"].Capacity);
        Assert.Equal(2, world.Log.Count(l => l == "start source r1"));
        Assert.Equal(2, world.Log.Count(l => l == "start sink k1"));
        await world.Sources["r1"].SendAsync("after");
        await EventuallyAsync(() => world.DeliveredBy("k1").Contains("after"), "delivery through the new channel");
    }

    [Fact]
    public async Task Reloader_InvalidNewConfig_RefusedAndRunningKept()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        var next = new Queue<string>([Flow.Replace("k1.type = collect", "k1.type = bogus"), Flow.Replace("a1.sinks.k1.", "a1.sinks.kx.").Replace("a1.sinks = k1", "a1.sinks = kx")]);
        var registry = world.Registry();
        var reloader = new ConfigReloader(host,
            _ => Task.FromResult<ConfigSource?>(next.Count == 0 ? null : new ConfigSource(next.Dequeue(), "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>())),
            source => AgentLoader.Load(source, "a1", registry, BuildSettings.Default with { Counters = counters }),
            lenient: false, TimeSpan.FromMilliseconds(10), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.False(await reloader.PollOnceAsync(Ct));
        Assert.Equal(1, reloader.Refused);
        Assert.Equal(["k1"], host.Sinks.Keys);
        Assert.True(await reloader.PollOnceAsync(Ct));
        Assert.Equal(["kx"], host.Sinks.Keys);
        Assert.False(await reloader.PollOnceAsync(Ct));
        Assert.Equal(1, reloader.Applied);
    }

    [Fact]
    public async Task Metrics_HttpJson_FlumeShapeWithStringValues()
    {
        var world = new TestWorld();
        var counters = new CounterRegistry();
        await using var host = Host(counters);
        await host.StartAsync(Plan(world, Flow, counters), Ct);
        await world.Sources["r1"].SendAsync("a", "b", "c");
        await EventuallyAsync(() => world.DeliveredBy("k1").Count == 3, "delivery");
        counters.Sink("k1").AddDrainSuccess(3);

        await using var server = new MetricsServer(new IPEndPoint(IPAddress.Loopback, 0), counters);
        server.Start();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.LocalEndPoint.Port}/") };
        using var response = await http.GetAsync("metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        var root = json.RootElement;
        Assert.Equal(["CHANNEL.c1", "SINK.k1", "SOURCE.r1"], root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var component in root.EnumerateObject())
        {
            Assert.All(component.Value.EnumerateObject(), a => Assert.Equal(JsonValueKind.String, a.Value.ValueKind));
        }
        var channel = root.GetProperty("CHANNEL.c1");
        Assert.Equal("3", channel.GetProperty("EventPutSuccessCount").GetString());
        Assert.Equal("3", channel.GetProperty("EventTakeSuccessCount").GetString());
        Assert.Equal("0", channel.GetProperty("ChannelSize").GetString());
        Assert.Equal("CHANNEL", channel.GetProperty("Type").GetString());
        Assert.Equal("0", channel.GetProperty("StopTime").GetString());
        Assert.True(long.Parse(channel.GetProperty("StartTime").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 1_600_000_000_000);
        Assert.Equal("3", root.GetProperty("SINK.k1").GetProperty("EventDrainSuccessCount").GetString());
        foreach (var name in new[] { "EventReceivedCount", "EventAcceptedCount", "AppendBatchAcceptedCount", "OpenConnectionCount", "ChannelWriteFail" })
        {
            Assert.Equal("0", root.GetProperty("SOURCE.r1").GetProperty(name).GetString());
        }

        var prometheus = await http.GetStringAsync("metrics/prometheus", Ct);
        Assert.Contains("flume_channel_event_put_success_count{name=\"c1\"} 3\n", prometheus);
        Assert.Contains("# TYPE flume_sink_event_drain_success_count gauge", prometheus);
        using var missing = await http.GetAsync("nope", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
