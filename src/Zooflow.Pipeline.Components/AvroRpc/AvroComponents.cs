using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>The avro source and sink of issue 8, under Flume's alias and class names.</summary>
public static class AvroComponents
{
    /// <summary>The avro source and sink types.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Source, "avro",
            ["org.apache.flume.source.AvroSource"],
            static (name, context) => new AvroSource(name, context));
        yield return new ComponentType(ComponentKind.Sink, "avro",
            ["org.apache.flume.sink.AvroSink"],
            static (name, context) => new AvroSink(name, context));
    }
}
