using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Sinks;

namespace Zooflow.Pipeline.Configuration;

/// <summary>What the builder needs besides the configuration.</summary>
/// <param name="Lenient">Flume's drop-and-warn: invalid components are dropped (errors are still reported).</param>
/// <param name="ConfigName">Names the configuration in locations (usually the file name).</param>
/// <param name="LoggerFactory">Logger factory handed to components.</param>
/// <param name="Counters">The agent's counters handed to components.</param>
/// <param name="Clock">The clock handed to components.</param>
public sealed record BuildSettings(bool Lenient, string ConfigName, ILoggerFactory LoggerFactory, CounterRegistry Counters, TimeProvider Clock)
{
    /// <summary>Strict, no logging, fresh counters, system clock.</summary>
    public static BuildSettings Default { get; } = new(false, "flume.conf", NullLoggerFactory.Instance, new CounterRegistry(), TimeProvider.System);
}

/// <summary>A validated channel: its settings, a created (not started) instance and a factory for restarts.</summary>
public sealed record ChannelPlan(ComponentSection Section, ComponentType Type, IChannel Instance, Func<IChannel> Factory)
{
    /// <summary>The channel name.</summary>
    public string Name => Section.Name;
}

/// <summary>A validated source with its channels, selector settings and interceptors.</summary>
public sealed record SourcePlan(ComponentSection Section, ComponentType Type, ISource Instance, Func<ISource> Factory,
    IReadOnlyList<string> Channels, SelectorSettings Selector, IReadOnlyList<IInterceptor> Interceptors)
{
    /// <summary>The source name.</summary>
    public string Name => Section.Name;
}

/// <summary>A validated sink and the one channel it drains.</summary>
public sealed record SinkPlan(ComponentSection Section, ComponentType Type, ISink Instance, Func<ISink> Factory, string Channel)
{
    /// <summary>The sink name.</summary>
    public string Name => Section.Name;
}

/// <summary>A validated sink group.</summary>
public sealed record SinkGroupPlan(ComponentSection Section, IReadOnlyList<string> Sinks, SinkProcessorSettings Processor)
{
    /// <summary>The group name.</summary>
    public string Name => Section.Name;
}

/// <summary>The components an agent runs, validated and created but not started.</summary>
public sealed record AgentPlan(string Name, IReadOnlyList<ChannelPlan> Channels, IReadOnlyList<SourcePlan> Sources, IReadOnlyList<SinkPlan> Sinks, IReadOnlyList<SinkGroupPlan> SinkGroups)
{
    /// <summary>An agent with nothing to run.</summary>
    public static AgentPlan Empty(string name) => new(name, [], [], [], []);
}

/// <summary>The outcome of validation: the plan (in lenient mode, without the invalid components), every error and
/// every warning.</summary>
public sealed record AgentBuildResult(AgentPlan Plan, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigError> Warnings)
{
    /// <summary>True when at least one error was found.</summary>
    public bool HasErrors => Errors.Count > 0;
}
