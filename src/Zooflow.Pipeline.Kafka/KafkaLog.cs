using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Fixed event ids of the Kafka components (27xx) and the bridge from librdkafka's log to
/// <see cref="ILogger"/>.</summary>
internal static class KafkaLog
{
    public static readonly EventId ClientLog = new(2700, "KafkaClientLog");
    public static readonly EventId BrokersUnreachable = new(2701, "KafkaBrokersUnreachable");
    public static readonly EventId BrokersReachable = new(2702, "KafkaBrokersReachable");
    public static readonly EventId TopicMissing = new(2703, "KafkaTopicMissing");
    public static readonly EventId BatchFailed = new(2704, "KafkaBatchFailed");
    public static readonly EventId Rebalance = new(2705, "KafkaRebalance");
    public static readonly EventId CommitFailed = new(2706, "KafkaCommitFailed");
    public static readonly EventId Undecodable = new(2707, "KafkaUndecodable");
    public static readonly EventId ClientError = new(2708, "KafkaClientError");
    public static readonly EventId Started = new(2709, "KafkaStarted");
    public static readonly EventId Stopped = new(2710, "KafkaStopped");

    /// <summary>Forwards one librdkafka log line at the matching level (syslog levels of librdkafka).</summary>
    public static void Forward(ILogger logger, string component, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        if (logger.IsEnabled(level))
        {
            logger.Log(level, ClientLog, "{Component}: librdkafka {Facility}: {Message}", component, message.Facility, message.Message);
        }
    }

    /// <summary>True for errors that mean "no broker can be reached" (the component reports itself failing).</summary>
    public static bool IsConnectivity(Error error) =>
        error.Code is ErrorCode.Local_AllBrokersDown or ErrorCode.Local_Transport or ErrorCode.Local_Resolve or ErrorCode.Local_TimedOut;

    /// <summary>True for delivery or consume errors that mean "the topic does not exist".</summary>
    public static bool IsUnknownTopic(Error error) =>
        error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic;
}
