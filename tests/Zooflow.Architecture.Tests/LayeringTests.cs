using System.Reflection;
using Xunit;

namespace Zooflow.Architecture.Tests;

/// <summary>
/// Dependencies point down the layer table of docs/architecture.md only. Each assembly's references to other Zooflow
/// assemblies must be in its allowlist, so "common depends on storage"-style tangles cannot creep in.
/// </summary>
public sealed class LayeringTests
{
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Zooflow.Common"] = [],
        ["Zooflow.Jute"] = ["Zooflow.Common"],
        ["Zooflow.Storage"] = ["Zooflow.Common"],
        ["Zooflow.Consensus"] = ["Zooflow.Common"],
        ["Zooflow.DataTree"] = ["Zooflow.Common", "Zooflow.Jute"],
        ["Zooflow.Server"] = ["Zooflow.Common", "Zooflow.Jute", "Zooflow.DataTree", "Zooflow.Storage", "Zooflow.Consensus"],
        ["Zooflow.Pipeline"] = ["Zooflow.Common"],
        ["Zooflow.Client"] = ["Zooflow.Common", "Zooflow.Jute"],
        ["Zooflow.Recipes"] = ["Zooflow.Client", "Zooflow.Common", "Zooflow.Jute"],
        ["Zooflow.Pipeline.Components"] = ["Zooflow.Common", "Zooflow.Pipeline"],
        ["Zooflow.Agent"] = ["Zooflow.Common", "Zooflow.Jute", "Zooflow.Pipeline", "Zooflow.Pipeline.Components", "Zooflow.Client", "Zooflow.Recipes"],

        ["Zooflow.Pipeline.Kafka"] = ["Zooflow.Common", "Zooflow.Pipeline"],

        ["Zooflow.Pipeline.FileChannel"] = ["Zooflow.Common", "Zooflow.Pipeline", "Zooflow.Storage"],
    };

    public static TheoryData<string> Libraries() => new(Allowed.Keys);

    [Theory]
    [MemberData(nameof(Libraries))]
    public void References_OfLibrary_StayWithinItsLayer(string library)
    {
        var assembly = Assembly.Load(library);
        var zooflowReferences = assembly.GetReferencedAssemblies()
            .Select(reference => reference.Name!)
            .Where(name => name.StartsWith("Zooflow.", StringComparison.Ordinal))
            .ToArray();

        var forbidden = zooflowReferences.Except(Allowed[library]).ToArray();

        Assert.True(forbidden.Length == 0, $"{library} must not reference {string.Join(", ", forbidden)}");
    }
}
