using Zooflow.Agent.Discovery;
using Zooflow.Agent.Service;
using Zooflow.Agent.Sinks;
using Zooflow.Agent.Spool;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Components.Sources.Spooldir;

namespace Zooflow.Agent;

/// <summary>What the service-backed components of a coordinated agent share.</summary>
/// <param name="Session">The agent's service session.</param>
/// <param name="Group">The agent's group.</param>
/// <param name="AgentId">The agent's registry id.</param>
/// <param name="Discovery">The services its discovery sinks follow.</param>
/// <param name="NewRandom">Randomness for the random discovery policy (one instance per sink).</param>
public sealed record AgentServices(ServiceSession Session, string Group, string AgentId, DiscoveryHub Discovery, Func<Random> NewRandom);

/// <summary>
/// The component catalog of an agent: the pipeline's types with the coordination keys added — <c>discovery</c> on the
/// avro sink, <c>partition</c> on the spooldir source — and the types that need the service (the zookeeper sink).
/// Every entry point builds its registry from <see cref="Catalog"/>, so a configuration that validates in
/// <c>zooflow config push</c> builds the same way in the agent.
/// </summary>
public static class AgentComponents
{
    /// <summary>The key of a spooldir source that shares its directory with the agents of the group.</summary>
    public const string PartitionKey = "partition";

    /// <summary>The catalog over <paramref name="pipelineTypes"/>. <paramref name="services"/> is the running agent's
    /// (null when only validating, or for a file-configured agent); <paramref name="agentUsesService"/> says whether the
    /// agent runs with <c>-z</c> (the coordination keys are errors otherwise).</summary>
    public static IEnumerable<ComponentType> Catalog(IEnumerable<ComponentType> pipelineTypes, AgentServices? services, bool agentUsesService)
    {
        foreach (var type in pipelineTypes)
        {
            var coordinated = (type.Kind, type.Alias) switch
            {
                (ComponentKind.Sink, "avro") => type with
                {
                    Create = (name, context) => context.Properties.ContainsKey(DiscoverySettings.ServiceKey)
                        ? DiscoverySink(name, context, services, agentUsesService)
                        : type.Create(name, context),
                },
                (ComponentKind.Source, "spooldir") => type with
                {
                    Create = (name, context) => context.Properties.ContainsKey(PartitionKey)
                        ? PartitionedSpool(name, context, services, agentUsesService)
                        : type.Create(name, context),
                },
                _ => type,
            };
            yield return type.Kind == ComponentKind.Source && !agentUsesService ? NeedingTheService(coordinated) : coordinated;
        }
        yield return new ComponentType(ComponentKind.Sink, "zookeeper",
            ["io.zooflow.sink.ZooKeeperSink", "znode"],
            (name, context) => new ZooKeeperSink(name, context, services?.Session, agentUsesService));
    }

    /// <summary>A source type of a file-configured agent: <c>singleton</c> and <c>register</c> are errors there (the agent
    /// has no session to elect or register with, and running the source anyway would be silently different).</summary>
    private static ComponentType NeedingTheService(ComponentType type) => type with
    {
        Create = (name, context) =>
        {
            foreach (var key in (string[])[CoordinationRules.SingletonKey, Registration.ServiceKey])
            {
                if (context.GetString(key) is { } value)
                {
                    context.AddError(key, $"'{value}' needs an agent that takes its configuration from the service (zooflow agent -z host:port ...); a file-configured agent has no session to {(key == Registration.ServiceKey ? "register with" : "hold an election in")}");
                }
            }
            return type.Create(name, context);
        },
    };

    private static AvroSink DiscoverySink(string name, ComponentContext context, AgentServices? services, bool agentUsesService)
    {
        var settings = DiscoverySettings.Read(context);
        if (!agentUsesService)
        {
            context.AddError(DiscoverySettings.ServiceKey, $"'{settings.Service}' needs an agent that takes its configuration from the service (zooflow agent -z host:port ...): a file-configured agent has no session to discover instances with (allowed here: hostname and port)");
        }
        var provider = new DiscoveryEndpointProvider(
            () => (services ?? throw new InvalidOperationException($"sink {name}: discovery without a service session")).Discovery.Get(settings.Service),
            settings, services?.NewRandom() ?? new Random(0), context.Clock, context.LoggerFactory.CreateLogger("Zooflow.Agent.Discovery"));
        return new AvroSink(name, context, provider);
    }

    private static SpoolDirectorySource PartitionedSpool(string name, ComponentContext context, AgentServices? services, bool agentUsesService)
    {
        var partition = context.GetString(PartitionKey) ?? "";
        if (ZnodeLayout.ValidateName(partition) is { } problem)
        {
            context.AddError(PartitionKey, $"{problem} (allowed: a name the agents sharing this spooling directory all use, e.g. {name})");
        }
        if (!agentUsesService)
        {
            context.AddError(PartitionKey, $"'{partition}' needs an agent that takes its configuration from the service (zooflow agent -z host:port ...): the agents divide the files through it");
        }
        var share = services is null ? null : new SpoolShare(partition, new SpoolShareContext(services.Session, services.Group, services.AgentId, context.LoggerFactory));
        var source = new SpoolDirectorySource(name, context, share is null
            ? SpoolDirectorySeams.Default
            : new SpoolDirectorySeams(ProgressStore: settings => share.For(settings), Claimer: share));
        if (source.Settings.TrackingPolicy == SpoolTrackingPolicy.TrackerDir && source.Settings.DeletePolicy == SpoolDeletePolicy.Never)
        {
            context.AddError(PartitionKey, "cannot be used with trackingPolicy = tracker_dir and deletePolicy = never: finished files would stay under their names and every agent would need a record of each one (allowed: trackingPolicy = rename, or deletePolicy = immediate)");
        }
        return source;
    }
}
