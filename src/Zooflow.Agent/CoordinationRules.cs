using Zooflow.Agent.Discovery;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using Zooflow.Pipeline.Configuration;

namespace Zooflow.Agent;

/// <summary>
/// The coordination keys of a configuration checked against the components they sit on, in the same pass as the rest
/// of the configuration (the agent and <c>zooflow config push</c> both run it): <c>&lt;source&gt;.singleton</c>,
/// <c>&lt;source&gt;.register</c>, <c>&lt;source&gt;.partition</c> and <c>&lt;sink&gt;.discovery</c>.
/// </summary>
public static class CoordinationRules
{
    /// <summary>The source key that runs a source on one agent of the group.</summary>
    public const string SingletonKey = "singleton";

    /// <summary>Every problem with the coordination keys of <paramref name="plan"/> for an agent of
    /// <paramref name="group"/> on host <paramref name="hostName"/>.</summary>
    public static IReadOnlyList<ConfigError> Check(AgentPlan plan, string group, string hostName)
    {
        var errors = new List<ConfigError>();
        foreach (var source in plan.Sources)
        {
            var properties = source.Section.Properties;
            var prefix = source.Section.Prefix;
            var singleton = properties.TryGetValue(SingletonKey, out var s) ? s : (ConfigValue?)null;
            if (singleton is { } single && ZnodeLayout.ValidateName(single.Value) is { } problem)
            {
                errors.Add(new ConfigError(prefix + SingletonKey, single.Location,
                    $"{problem} (allowed: a name for the election among the agents of group '{group}', e.g. {source.Name})"));
            }
            if (Registration.Read(source.Section, hostName, errors) is not null)
            {
                var register = properties[Registration.ServiceKey];
                if (Registration.ListeningPort(source.Instance) is null)
                {
                    errors.Add(new ConfigError(prefix + Registration.ServiceKey, register.Location,
                        $"source '{source.Name}' ({properties.GetValueOrDefault("type").Value}) has no listening endpoint to register (allowed on: {Registration.SupportedTypes})"));
                }
                if (singleton is not null)
                {
                    errors.Add(new ConfigError(prefix + Registration.ServiceKey, register.Location,
                        $"cannot be combined with {prefix}{SingletonKey} (a standby agent does not listen; allowed: one of the two)"));
                }
            }
            if (properties.TryGetValue(AgentComponents.PartitionKey, out var partition))
            {
                if (source.Instance is not SpoolDirectorySource)
                {
                    errors.Add(new ConfigError(prefix + AgentComponents.PartitionKey, partition.Location,
                        $"source '{source.Name}' ({properties.GetValueOrDefault("type").Value}) has no files to divide (allowed on: spooldir)"));
                }
                if (singleton is not null)
                {
                    errors.Add(new ConfigError(prefix + AgentComponents.PartitionKey, partition.Location,
                        $"cannot be combined with {prefix}{SingletonKey}: a singleton reads the whole directory on one agent, a partition divides it among all (allowed: one of the two)"));
                }
            }
        }
        foreach (var sink in plan.Sinks)
        {
            if (sink.Section.Properties.TryGetValue(DiscoverySettings.ServiceKey, out var discovery) && sink.Instance is not AvroSink)
            {
                errors.Add(new ConfigError(sink.Section.Prefix + DiscoverySettings.ServiceKey, discovery.Location,
                    $"sink '{sink.Name}' ({sink.Section.Properties.GetValueOrDefault("type").Value}) cannot send to discovered instances (allowed on: avro)"));
            }
        }
        return errors;
    }
}
