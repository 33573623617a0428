using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Components.Sinks;
using Zooflow.Pipeline.Components.Sources;

namespace Zooflow.Pipeline.Components;

/// <summary>
/// The built-in sources and sinks of issue 6, registered under Flume's aliases (matched case-insensitively by the
/// registry), the Java class names Flume configurations use, and friendly extra names.
/// </summary>
/// <remarks>
/// Each factory reads its component's keys through <see cref="ComponentContext"/>, records every problem there and
/// returns the component; it never throws for bad configuration.
/// </remarks>
public static class BuiltInComponents
{
    /// <summary>Every built-in source and sink type.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Source, "seq",
            ["org.apache.flume.source.SequenceGeneratorSource", "sequence"],
            static (name, context) => new SequenceSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "netcat",
            ["org.apache.flume.source.NetcatSource", "netcattcp"],
            static (name, context) => new NetcatSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "netcatudp",
            ["org.apache.flume.source.NetcatUdpSource"],
            static (name, context) => new NetcatUdpSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "exec",
            ["org.apache.flume.source.ExecSource"],
            static (name, context) => new ExecSource(name, context));
        yield return new ComponentType(ComponentKind.Source, "stress",
            ["org.apache.flume.source.StressSource"],
            static (name, context) => new StressSource(name, context));

        yield return new ComponentType(ComponentKind.Sink, "logger",
            ["org.apache.flume.sink.LoggerSink"],
            static (name, context) => new LoggerSink(name, context));
        yield return new ComponentType(ComponentKind.Sink, "null",
            ["org.apache.flume.sink.NullSink"],
            static (name, context) => new NullSink(name, context));
        yield return new ComponentType(ComponentKind.Sink, "file_roll",
            ["org.apache.flume.sink.RollingFileSink", "fileroll", "file-roll"],
            static (name, context) => new RollingFileSink(name, context));

        foreach (var type in SyslogHttpHdfsComponents.All())
        {
            yield return type;
        }
        foreach (var type in AvroComponents.All())
        {
            yield return type;
        }
        foreach (var type in FileSourceComponents.All())
        {
            yield return type;
        }
    }
}
