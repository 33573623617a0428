using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Components.Sinks;
using Zooflow.Pipeline.Components.Sources;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>Type resolution of the built-ins: Flume aliases, any case, and the Java class names (flume.md §1).</summary>
public sealed class BuiltInComponentsTests
{
    [Theory]
    [InlineData(ComponentKind.Source, "seq", typeof(SequenceSource))]
    [InlineData(ComponentKind.Source, "NETCAT", typeof(NetcatSource))]
    [InlineData(ComponentKind.Source, "netcatudp", typeof(NetcatUdpSource))]
    [InlineData(ComponentKind.Source, "exec", typeof(ExecSource))]
    [InlineData(ComponentKind.Source, "org.apache.flume.source.StressSource", typeof(StressSource))]
    [InlineData(ComponentKind.Source, "org.apache.flume.source.ExecSource", typeof(ExecSource))]
    [InlineData(ComponentKind.Sink, "logger", typeof(LoggerSink))]
    [InlineData(ComponentKind.Sink, "null", typeof(NullSink))]
    [InlineData(ComponentKind.Sink, "FILE_ROLL", typeof(RollingFileSink))]
    [InlineData(ComponentKind.Sink, "org.apache.flume.sink.RollingFileSink", typeof(RollingFileSink))]
    public void Registry_ResolvesAliasOrJavaClass_ToComponent(ComponentKind kind, string typeName, Type expected)
    {
        var registry = ComponentRegistry.CreateDefault(BuiltInComponents.All());

        Assert.True(registry.TryResolve(kind, typeName, out var type));
        var component = type.Create("x", Context("a1.x.x.", ("command", "true"), ("bind", "127.0.0.1"), ("port", "0"), ("sink.directory", "/tmp")));
        Assert.IsType(expected, component);
        Assert.IsAssignableFrom<IBatchSized>(component);
    }
}
