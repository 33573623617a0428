using Zooflow.Agent.Service;
using Zooflow.Agent.Sinks;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Agent;

/// <summary>The components that need the coordination service (registered beside the built-in ones).</summary>
public static class AgentComponents
{
    /// <summary>Every service-backed component type; <paramref name="agentSession"/> is the agent's own connection when it
    /// runs with <c>-z</c> (null for a file-configured agent, whose zookeeper sinks then need <c>zkConnString</c>).</summary>
    public static IEnumerable<ComponentType> All(ServiceSession? agentSession) => Types(agentSession, agentSession is not null);

    /// <summary>The types for validating a configuration that an agent with <c>-z</c> will run (nothing connects).</summary>
    public static IEnumerable<ComponentType> ForValidation(bool agentUsesService) => Types(null, agentUsesService);

    private static IEnumerable<ComponentType> Types(ServiceSession? agentSession, bool agentUsesService)
    {
        yield return new ComponentType(ComponentKind.Sink, "zookeeper",
            ["io.zooflow.sink.ZooKeeperSink", "znode"],
            (name, context) => new ZooKeeperSink(name, context, agentSession, agentUsesService));
    }
}
