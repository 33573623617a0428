using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using Zooflow.Pipeline.Components.Sources.Taildir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>The file sources under Flume's aliases (any case) and class names (flume.md §1: <c>TAILDIR</c>, <c>spooldir</c>).</summary>
public sealed class FileSourceComponentsTests : IDisposable
{
    private readonly string _dir = TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("TAILDIR", typeof(TaildirSource))]
    [InlineData("taildir", typeof(TaildirSource))]
    [InlineData("org.apache.flume.source.taildir.TaildirSource", typeof(TaildirSource))]
    [InlineData("spooldir", typeof(SpoolDirectorySource))]
    [InlineData("SPOOLDIR", typeof(SpoolDirectorySource))]
    [InlineData("org.apache.flume.source.SpoolDirectorySource", typeof(SpoolDirectorySource))]
    public void Registry_ResolvesAliasOrJavaClass_ToFileSource(string typeName, Type expected)
    {
        var registry = ComponentRegistry.CreateDefault(BuiltInComponents.All());
        var errors = new List<ConfigError>();

        Assert.True(registry.TryResolve(ComponentKind.Source, typeName, out var type));
        var component = type.Create("r1", Context("a1.sources.r1.", new Dictionary<string, string>
        {
            ["filegroups"] = "f1",
            ["filegroups.f1"] = Path.Combine(_dir, ".*"),
            ["positionFile"] = Path.Combine(_dir, "pos.json"),
            ["spoolDir"] = _dir,
            ["batchSize"] = "250",
        }, errors));

        Assert.IsType(expected, component);
        Assert.Equal(250, Assert.IsAssignableFrom<IBatchSized>(component).BatchSize);
        Assert.Empty(errors);
    }
}
