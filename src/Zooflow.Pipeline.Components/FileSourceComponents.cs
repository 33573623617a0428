using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using Zooflow.Pipeline.Components.Sources.Taildir;

namespace Zooflow.Pipeline.Components;

/// <summary>The file-reading sources of issue 8: <c>TAILDIR</c> and <c>spooldir</c>, under Flume's aliases and class names.</summary>
public static class FileSourceComponents
{
    /// <summary>The taildir and spooldir source types.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Source, "TAILDIR",
            ["org.apache.flume.source.taildir.TaildirSource"],
            static (name, context) => new TaildirSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "spooldir",
            ["org.apache.flume.source.SpoolDirectorySource"],
            static (name, context) => new SpoolDirectorySource(name, context));
    }
}
