using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Kafka;

/// <summary>
/// The Kafka sink, source and channel, registered under Flume's Java class names (the only names Flume accepts) and
/// the friendly alias <c>kafka</c>. Add to a registry with
/// <c>ComponentRegistry.CreateDefault(BuiltInComponents.All().Concat(KafkaComponents.All()))</c>.
/// </summary>
public static class KafkaComponents
{
    /// <summary>Every Kafka component type.</summary>
    public static IEnumerable<ComponentType> All()
    {
        yield return new ComponentType(ComponentKind.Sink, "kafka", ["org.apache.flume.sink.kafka.KafkaSink"],
            static (name, context) => new KafkaSink(name, context));
        yield return new ComponentType(ComponentKind.Source, "kafka", ["org.apache.flume.source.kafka.KafkaSource"],
            static (name, context) => new KafkaSource(name, context));
        yield return new ComponentType(ComponentKind.Channel, "kafka", ["org.apache.flume.channel.kafka.KafkaChannel"],
            static (name, context) => new KafkaChannel(name, context));
    }
}
