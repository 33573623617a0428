using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Zooflow.Agent.Discovery;
using Zooflow.Agent.Service;
using Zooflow.Agent.Tests.Infrastructure;
using Zooflow.Client;
using Zooflow.Pipeline;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;
using Zooflow.Recipes;

namespace Zooflow.Agent.Tests;

/// <summary>The discovery endpoint provider over a real service, against Apache ZooKeeper 3.8 and against Zooflow.</summary>
public sealed class DiscoveryProviderTests(BackendPool pool)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceInstance Instance(string id, int port) => new("collectors", id, "127.0.0.1", port);

    private static RpcEndpoint Endpoint(int port) => new("127.0.0.1", port);

    private static async Task<List<RpcEndpoint>> PickAsync(DiscoveryEndpointProvider provider, int count)
    {
        var picks = new List<RpcEndpoint>();
        for (var i = 0; i < count; i++)
        {
            picks.Add(await provider.SelectAsync(Token));
        }
        return picks;
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task SelectAsync_InstancesComeFailAndGo_SpreadsOverTheLiveOnes(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        var registry = new ServiceDiscovery(client, ZnodeLayout.ServicesRoot);
        await registry.RegisterAsync(Instance("a", 4001) with { RegistrationTimeUtcMs = 1000 }, Token);
        await registry.RegisterAsync(Instance("b", 4002) with { RegistrationTimeUtcMs = 2000 }, Token);
        await using var session = new ServiceSession(new ServiceOptions { ConnectString = connect, SessionTimeout = TimeSpan.FromSeconds(4) }, NullLogger.Instance);
        session.Start();
        await using var hub = new DiscoveryHub(session, NullLoggerFactory.Instance);
        DiscoveryEndpointProvider Provider(DiscoveryPolicy policy) => new(() => hub.Get("collectors"),
            new DiscoverySettings("collectors", policy, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10)), new Random(7), TimeProvider.System, NullLogger.Instance);
        var roundRobin = Provider(DiscoveryPolicy.RoundRobin);
        var failover = Provider(DiscoveryPolicy.Failover);

        // The first call waits for the first read of the service.
        Assert.Equal([Endpoint(4001), Endpoint(4002), Endpoint(4001), Endpoint(4002)], await PickAsync(roundRobin, 4));
        Assert.Equal([Endpoint(4001), Endpoint(4001), Endpoint(4001)], await PickAsync(failover, 3)); // the oldest

        // A failed instance is put aside; the failover target moves to the next oldest and stays there.
        roundRobin.ReportFailure(Endpoint(4001), new IOException("connection reset"));
        failover.ReportFailure(Endpoint(4001), new IOException("connection reset"));
        Assert.Equal([Endpoint(4002), Endpoint(4002)], await PickAsync(roundRobin, 2));
        Assert.Equal([Endpoint(4002), Endpoint(4002)], await PickAsync(failover, 2));

        // A new instance is used as soon as it is seen; one that leaves is dropped and its connection closed.
        await registry.RegisterAsync(Instance("c", 4003) with { RegistrationTimeUtcMs = 3000 }, Token);
        await registry.UnregisterAsync(Instance("b", 4002), Token);
        var members = hub.Get("collectors");
        await Cli.WaitUntilAsync(() => Task.FromResult(members.Instances.Select(i => i.Id).Order().SequenceEqual(["a", "c"])), "the members to follow");
        Assert.False(roundRobin.IsCurrent(Endpoint(4002)));
        Assert.True(roundRobin.IsCurrent(Endpoint(4003)));
        Assert.Equal([Endpoint(4003), Endpoint(4003)], await PickAsync(roundRobin, 2)); // a is still put aside
        Assert.Equal(Endpoint(4003), await failover.SelectAsync(Token));

        // With every instance put aside, the one whose pause ends first is tried rather than none.
        roundRobin.ReportFailure(Endpoint(4003), new IOException("refused"));
        Assert.Equal(Endpoint(4001), await roundRobin.SelectAsync(Token));

        // No instance at all: the batch fails (nothing is taken from the channel) with a message naming the service.
        await registry.UnregisterAsync(Instance("a", 4001), Token);
        await registry.UnregisterAsync(Instance("c", 4003), Token);
        await Cli.WaitUntilAsync(() => Task.FromResult(members.Instances.Count == 0), "the members to empty");
        var none = new DiscoveryEndpointProvider(() => members, new DiscoverySettings("collectors", DiscoveryPolicy.RoundRobin, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(300)),
            new Random(7), TimeProvider.System, NullLogger.Instance);
        var error = await Assert.ThrowsAsync<NoLiveInstanceException>(async () => await none.SelectAsync(Token));
        Assert.Contains("no live instance of service 'collectors'", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The coordination keys checked with the rest of a configuration (what the agent and <c>config push</c> run).</summary>
public sealed class CoordinationRulesTests
{
    private static (IReadOnlyList<string> Errors, AgentPlan Plan) Load(string text, bool agentUsesService)
    {
        var registry = ComponentRegistry.CreateDefault(AgentComponents.Catalog(BuiltInComponents.All(), null, agentUsesService));
        var settings = new BuildSettings(false, "test.conf", NullLoggerFactory.Instance, new CounterRegistry(), TimeProvider.System);
        var result = AgentLoader.Load(new ConfigSource(text, "test.conf", new Dictionary<string, string>(), new Dictionary<string, string>()), "a1", registry, settings);
        var errors = result.Errors.Concat(CoordinationRules.Check(result.Plan, "g", "host1")).Select(e => e.ToString()).ToList();
        return (errors, result.Plan);
    }

    [Fact]
    public void Check_MisplacedCoordinationKeys_EveryErrorNamesTheKey()
    {
        using var dir = new TestKit.TempDir("zooflow-rules");
        var (errors, _) = Load($"""
            a1.sources = r1 r2 r3
            a1.channels = c1
            a1.sinks = k1 k2
            a1.sources.r1.type = seq
            a1.sources.r1.channels = c1
            a1.sources.r1.register = collectors
            a1.sources.r1.partition = shared
            a1.sources.r2.type = avro
            a1.sources.r2.bind = 0.0.0.0
            a1.sources.r2.port = 0
            a1.sources.r2.channels = c1
            a1.sources.r2.register = collectors
            a1.sources.r2.singleton = one
            a1.sources.r3.type = spooldir
            a1.sources.r3.spoolDir = {dir.Path}
            a1.sources.r3.channels = c1
            a1.sources.r3.partition = shared
            a1.sources.r3.singleton = one2
            a1.channels.c1.type = memory
            a1.sinks.k1.type = avro
            a1.sinks.k1.channel = c1
            a1.sinks.k1.discovery = collectors
            a1.sinks.k1.hostname = 127.0.0.1
            a1.sinks.k2.type = null
            a1.sinks.k2.channel = c1
            a1.sinks.k2.discovery = collectors
            """, agentUsesService: true);

        Assert.Contains(errors, e => e.Contains("a1.sources.r1.register", StringComparison.Ordinal) && e.Contains("no listening endpoint", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r1.partition", StringComparison.Ordinal) && e.Contains("no files to divide", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r2.register", StringComparison.Ordinal) && e.Contains("a1.sources.r2.singleton", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r3.partition", StringComparison.Ordinal) && e.Contains("a1.sources.r3.singleton", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sinks.k1.hostname", StringComparison.Ordinal) && e.Contains("discovery = collectors", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sinks.k2.discovery", StringComparison.Ordinal) && e.Contains("allowed on: avro", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.StartsWith("test.conf:", e, StringComparison.Ordinal)); // each names file:line
        Assert.Equal(6, errors.Count);
    }

    [Fact]
    public void Check_FileConfiguredAgent_EveryCoordinationKeyNeedsTheService()
    {
        using var dir = new TestKit.TempDir("zooflow-rules");
        var (errors, _) = Load($"""
            a1.sources = r1 r2 r3
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = spooldir
            a1.sources.r1.spoolDir = {dir.Path}
            a1.sources.r1.channels = c1
            a1.sources.r1.partition = shared
            a1.sources.r2.type = seq
            a1.sources.r2.channels = c1
            a1.sources.r2.singleton = ticker
            a1.sources.r3.type = avro
            a1.sources.r3.bind = 127.0.0.1
            a1.sources.r3.port = 0
            a1.sources.r3.channels = c1
            a1.sources.r3.register = collectors
            a1.channels.c1.type = memory
            a1.sinks.k1.type = avro
            a1.sinks.k1.channel = c1
            a1.sinks.k1.discovery = collectors
            """, agentUsesService: false);

        Assert.Contains(errors, e => e.Contains("a1.sinks.k1.discovery", StringComparison.Ordinal) && e.Contains("zooflow agent -z", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r1.partition", StringComparison.Ordinal) && e.Contains("zooflow agent -z", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r2.singleton", StringComparison.Ordinal) && e.Contains("zooflow agent -z", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a1.sources.r3.register", StringComparison.Ordinal) && e.Contains("zooflow agent -z", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_ValidCoordinationKeys_NoErrorsAndRegisteredAddressFromBindOrHost()
    {
        var (errors, plan) = Load("""
            a1.sources = r1 r2
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = avro
            a1.sources.r1.bind = 0.0.0.0
            a1.sources.r1.port = 0
            a1.sources.r1.channels = c1
            a1.sources.r1.register = collectors
            a1.sources.r2.type = avro
            a1.sources.r2.bind = 127.0.0.2
            a1.sources.r2.port = 0
            a1.sources.r2.channels = c1
            a1.sources.r2.register = collectors
            a1.sources.r2.register.port = 9000
            a1.channels.c1.type = memory
            a1.sinks.k1.type = avro
            a1.sinks.k1.channel = c1
            a1.sinks.k1.discovery = collectors
            a1.sinks.k1.discovery.policy = failover
            """, agentUsesService: true);

        Assert.Empty(errors);
        var registrations = plan.Sources.Select(s => Registration.Read(s.Section, "host1", [])).ToList();
        Assert.Equal(new Registration("collectors", "host1", null), registrations[0]); // wildcard bind: this host's name
        Assert.Equal(new Registration("collectors", "127.0.0.2", 9000), registrations[1]);
        var sink = Assert.IsType<AvroSink>(plan.Sinks.Single().Instance);
        Assert.Equal("discovery collectors", sink.Endpoints.Description);
    }
}
