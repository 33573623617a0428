using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Checks shared by the Kafka components' options: unknown <c>kafka.*</c> keys, deprecated keys, headers.</summary>
internal static class KafkaKeys
{
    /// <summary>Warns about <c>kafka.*</c> keys the component does not read (Flume ignores them silently), other than
    /// the producer/consumer passthrough.</summary>
    public static void WarnUnread(ComponentContext context, string component, IReadOnlyCollection<string> read)
    {
        foreach (var key in context.Properties.Keys.Order(StringComparer.Ordinal))
        {
            if (!key.StartsWith("kafka.", StringComparison.Ordinal)
                || key.StartsWith("kafka.producer.", StringComparison.Ordinal)
                || key.StartsWith("kafka.consumer.", StringComparison.Ordinal)
                || read.Contains(key))
            {
                continue;
            }
            var hint = key == "kafka.flumeBatchSize"
                ? " (Flume's user guide shows kafka.flumeBatchSize, but Flume reads flumeBatchSize: this one is ignored there too)"
                : "";
            context.AddWarning(key, $"is not read by the {component} and is ignored (allowed kafka.* keys: {string.Join(", ", read)}, kafka.producer.*, kafka.consumer.*){hint}");
        }
    }

    /// <summary>The value of <paramref name="key"/>, or of the deprecated <paramref name="oldKey"/> with a warning
    /// (Flume translates it with a WARN), or null.</summary>
    public static string? WithDeprecated(ComponentContext context, string key, string oldKey)
    {
        var value = context.GetString(key);
        var old = context.GetString(oldKey);
        if (old is null)
        {
            return value;
        }
        if (value is null)
        {
            context.AddWarning(oldKey, $"is deprecated (Flume maps it with a warning); use {key} = {old}");
            return old;
        }
        context.AddWarning(oldKey, $"is deprecated and ignored because {key} is set (as in Flume)");
        return value;
    }

    /// <summary>Reports old top-level keys that Flume only warns about and does not use.</summary>
    public static void WarnIgnored(ComponentContext context, string key, string why)
    {
        if (context.GetString(key) is not null)
        {
            context.AddWarning(key, $"is ignored: {why}");
        }
    }
}
