using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.FileChannel;
using Zooflow.Pipeline.Kafka;

namespace Zooflow.Cli.Commands;

/// <summary>
/// The component types the CLI links beyond <c>Zooflow.Pipeline.Components</c> and <c>Zooflow.Agent</c>: every
/// entry point that builds or validates an agent (file-configured agent, agent configured from the service,
/// <c>config push</c> validation) offers the same set, so a configuration valid in one is valid in the others.
/// </summary>
internal static class ComponentCatalog
{
    /// <summary>Types of the optional component libraries (file channel, Kafka).</summary>
    public static IEnumerable<ComponentType> Extra() => FileChannelComponents.All().Concat(KafkaComponents.All());
}
