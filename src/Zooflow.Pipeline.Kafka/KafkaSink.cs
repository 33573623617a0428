using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Settings of the Kafka sink, with Flume's keys and defaults (<c>KafkaSinkConstants</c>).</summary>
/// <param name="BootstrapServers"><c>kafka.bootstrap.servers</c> (required; deprecated <c>brokerList</c>).</param>
/// <param name="Topic"><c>kafka.topic</c> (default <c>default-flume-topic</c>, <c>%{header}</c> escapes; deprecated
/// <c>topic</c>).</param>
/// <param name="BatchSize"><c>flumeBatchSize</c> (default 100; deprecated <c>batchSize</c>).</param>
/// <param name="UseFlumeEventFormat"><c>useFlumeEventFormat</c> (default false): write the AvroFlumeEvent datum
/// (headers and body) instead of the body.</param>
/// <param name="PartitionIdHeader"><c>partitionIdHeader</c>: header whose integer value picks the partition.</param>
/// <param name="DefaultPartitionId"><c>defaultPartitionId</c>: partition of every event without that header.</param>
/// <param name="AllowTopicOverride"><c>allowTopicOverride</c> (default true): the header named by
/// <paramref name="TopicHeader"/> replaces the topic.</param>
/// <param name="TopicHeader"><c>topicHeader</c> (default <c>topic</c>).</param>
/// <param name="TimestampHeader"><c>timestampHeader</c> (Flume 1.11): header whose epoch-millisecond value becomes the
/// record timestamp.</param>
/// <param name="KafkaHeaders"><c>header.&lt;flumeHeader&gt; = &lt;kafkaHeader&gt;</c> (Flume 1.11): event headers copied
/// into Kafka record headers.</param>
/// <param name="ProducerConfig">The validated librdkafka producer configuration.</param>
public sealed record KafkaSinkOptions(string BootstrapServers, TopicTemplate Topic, int BatchSize, bool UseFlumeEventFormat,
    string? PartitionIdHeader, int? DefaultPartitionId, bool AllowTopicOverride, string TopicHeader, string? TimestampHeader,
    IReadOnlyList<KeyValuePair<string, string>> KafkaHeaders, IReadOnlyList<KeyValuePair<string, string>> ProducerConfig)
{
    /// <summary>Flume's default topic.</summary>
    public const string DefaultTopic = "default-flume-topic";

    /// <summary>The <c>kafka.*</c> keys the sink reads besides the passthrough.</summary>
    private static readonly string[] ReadKeys = ["kafka.bootstrap.servers", "kafka.topic"];

    /// <summary>Reads and validates the sink's keys, recording every problem on <paramref name="context"/>.</summary>
    public static KafkaSinkOptions FromContext(ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var bootstrap = KafkaClientConfig.BootstrapServers(context, "brokerList");
        var topic = KafkaKeys.WithDeprecated(context, "kafka.topic", "topic") ?? DefaultTopic;
        var template = TopicTemplate.Parse(topic);
        if (template.HasTimeEscape())
        {
            context.AddWarning(context.GetString("kafka.topic") is null ? "topic" : "kafka.topic",
                $"'{topic}' contains a time escape (%Y, %m, ...): only %{{header}} escapes are replaced in topic names; the rest is used literally");
        }
        int batchSize;
        if (context.GetString("flumeBatchSize") is null && context.GetString("batchSize") is { } oldBatch)
        {
            context.AddWarning("batchSize", $"is deprecated (Flume maps it with a warning); use flumeBatchSize = {oldBatch}");
            batchSize = context.GetInt("batchSize", 100, 1, 1_000_000);
        }
        else
        {
            batchSize = context.GetInt("flumeBatchSize", 100, 1, 1_000_000);
            if (context.GetString("batchSize") is not null)
            {
                context.AddWarning("batchSize", "is deprecated and ignored because flumeBatchSize is set (as in Flume)");
            }
        }
        var useAvro = context.GetBool("useFlumeEventFormat", false);
        var partitionHeader = context.GetString("partitionIdHeader");
        int? defaultPartition = context.GetString("defaultPartitionId") is null ? null : context.GetInt("defaultPartitionId", 0, 0);
        var allowOverride = context.GetBool("allowTopicOverride", true);
        var topicHeader = context.GetString("topicHeader", "topic")!;
        var timestampHeader = context.GetString("timestampHeader");
        var headers = context.SubProperties("header.").OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => new KeyValuePair<string, string>(h.Key, h.Value.Value)).ToList();
        KafkaKeys.WarnIgnored(context, "serializer.class", "it configured the Kafka 0.8 producer (Flume warns too); values are written as bytes");
        KafkaKeys.WarnIgnored(context, "key.serializer.class", "it configured the Kafka 0.8 producer (Flume warns too); keys are written as UTF-8 text");
        KafkaKeys.WarnUnread(context, "Kafka sink", ReadKeys);

        var defaults = new List<KeyValuePair<string, string>>
        {
            new("acks", "1"), // Flume's default, set before the passthrough (KafkaSinkConstants.DEFAULT_ACKS)
            // The Java client Flume ships waits delivery.timeout.ms = 120 s for a batch; librdkafka's default is 300 s.
            new("delivery.timeout.ms", "120000"),
            // Flume flushes each batch, so linger never delays one; with 0 there is nothing to flush.
            new("linger.ms", "0"),
            // Only the status of a delivery is read; librdkafka need not hand back keys and values.
            new("dotnet.producer.delivery.report.fields", "none"),
        };
        if (context.GetString("requiredAcks") is { } requiredAcks)
        {
            if (context.GetString("kafka.producer.acks") is null)
            {
                context.AddWarning("requiredAcks", $"is deprecated (Flume maps it with a warning); use kafka.producer.acks = {requiredAcks}");
                defaults[0] = new("acks", requiredAcks);
            }
            else
            {
                context.AddWarning("requiredAcks", "is deprecated and ignored because kafka.producer.acks is set (as in Flume)");
            }
        }
        var config = KafkaClientConfig.Build(context, "kafka.producer.", KafkaClientRole.Producer, defaults, [new("bootstrap.servers", bootstrap)]);
        return new KafkaSinkOptions(bootstrap, template, batchSize, useAvro, partitionHeader, defaultPartition, allowOverride, topicHeader,
            timestampHeader, headers, config);
    }
}

/// <summary>
/// Flume's Kafka sink (<c>org.apache.flume.sink.kafka.KafkaSink</c>) on librdkafka: takes up to <c>flumeBatchSize</c>
/// events in one take transaction, produces each to its topic (the <c>topic</c> header when
/// <c>allowTopicOverride</c>, else <c>kafka.topic</c> with <c>%{header}</c> escapes), keyed by the <c>key</c> header,
/// to the partition of <c>partitionIdHeader</c>/<c>defaultPartitionId</c> or the partitioner's choice, and commits the
/// take only after the broker acknowledged every event of the batch (per <c>acks</c>). Any failed delivery rolls the
/// whole batch back into the channel and surfaces as <see cref="EventDeliveryException"/>, so the runner backs off and
/// the batch is retried: at least once, duplicates only of a batch that failed part-way.
/// </summary>
/// <remarks>
/// <para>An unreachable cluster does not stop the agent: the sink starts, librdkafka keeps reconnecting, each failed
/// connection counts in <c>ConnectionFailedCount</c>, a batch that cannot be acknowledged within
/// <c>delivery.timeout.ms</c> counts in <c>EventWriteFail</c> and <c>RollbackCount</c> and is retried after the
/// runner's backoff. At start the sink asks the cluster for the configured topic's metadata and logs a clear error when
/// the topic does not exist.</para>
/// <para>Not re-entrant: the sink runner calls <see cref="ProcessAsync"/> from one flow at a time.</para>
/// </remarks>
public sealed class KafkaSink : ISink, IBatchSized
{
    /// <summary>How long the start-time topic check waits for the cluster.</summary>
    private static readonly TimeSpan TopicCheckTimeout = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger;
    private readonly SinkCounter _counter;
    private readonly CounterAttribute _rollbacks;
    private readonly CounterAttribute _sendTimer;
    private readonly List<Event> _taken;
    private IChannel? _channel;
    private KafkaProducerClient? _client;
    private Task _topicCheck = Task.CompletedTask;
    private int _lifecycle;

    /// <summary>Reads the options from <paramref name="context"/> (recording every problem there).</summary>
    public KafkaSink(string name, ComponentContext context) : this(name, KafkaSinkOptions.FromContext(context), context)
    {
    }

    /// <summary>Creates the sink from validated options.</summary>
    public KafkaSink(string name, KafkaSinkOptions options, ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        Options = options;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Kafka.KafkaSink");
        _counter = context.Counters.Sink(name);
        _rollbacks = _counter.Attribute("RollbackCount");
        _sendTimer = _counter.Attribute("KafkaEventSendTimer");
        _taken = new List<Event>(Math.Min(options.BatchSize, 10_000));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The settings.</summary>
    public KafkaSinkOptions Options { get; }

    /// <inheritdoc />
    public int BatchSize => Options.BatchSize;

    /// <inheritdoc />
    public string BatchSizeKey => "flumeBatchSize";

    /// <inheritdoc />
    public IChannel Channel
    {
        get => _channel ?? throw new InvalidOperationException($"Sink {Name}: Channel is not set");
        set => _channel = value;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            throw new InvalidOperationException($"Sink {Name} was already started");
        }
        _ = Channel;
        _client = new KafkaProducerClient("Kafka sink " + Name, Options.ProducerConfig, _logger, _counter.ConnectionFailed);
        _counter.ConnectionCreated();
        if (Options.Topic.IsStatic)
        {
            var producer = _client.Producer;
            _topicCheck = Task.Run(() => CheckTopic(producer, Options.Topic.Template), CancellationToken.None);
        }
        _logger.LogInformation(KafkaLog.Started, "Kafka sink {Sink} started: topic {Topic}, bootstrap {Bootstrap}, flumeBatchSize {BatchSize}",
            Name, Options.Topic.Template, Options.BootstrapServers, Options.BatchSize);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lifecycle, 2) != 1)
        {
            return;
        }
        await _topicCheck.ConfigureAwait(false);
        _client?.Dispose();
        _counter.ConnectionClosed();
        _logger.LogInformation(KafkaLog.Stopped, "Kafka sink {Sink} stopped after {Events} events", Name, _counter.EventDrainSuccessCount);
    }

    /// <summary>Logs whether <paramref name="topic"/> exists (metadata request with the producer's own connection).</summary>
    private void CheckTopic(IProducer<byte[], byte[]> producer, string topic)
    {
        try
        {
            using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
            var metadata = admin.GetMetadata(topic, TopicCheckTimeout);
            var found = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
            if (found is null || KafkaLog.IsUnknownTopic(found.Error))
            {
                _logger.LogError(KafkaLog.TopicMissing,
                    "Kafka sink {Sink}: topic {Topic} does not exist on the Kafka cluster at {Bootstrap} and was not created automatically; batches fail until it exists (create it, or enable auto.create.topics.enable on the brokers)",
                    Name, topic, Options.BootstrapServers);
            }
        }
        catch (KafkaException ex)
        {
            // Unreachable brokers are reported by the error callback; this is only the start-time check.
            _logger.LogDebug(KafkaLog.ClientError, "Kafka sink {Sink}: topic check of {Topic} did not complete: {Reason}", Name, topic, ex.Error.Reason);
        }
        catch (ObjectDisposedException)
        {
            // Stopped while checking.
        }
    }

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        var client = _client ?? throw new InvalidOperationException($"Sink {Name} is not started");
        var transaction = Channel.BeginTransaction();
        await using (transaction.ConfigureAwait(false))
        {
            _taken.Clear();
            var started = Stopwatch.GetTimestamp();
            try
            {
                while (_taken.Count < BatchSize && transaction.Take() is { } taken)
                {
                    _taken.Add(taken);
                }
                _counter.Batch(_taken.Count, BatchSize);
                if (_taken.Count > 0)
                {
                    _counter.AddDrainAttempt(_taken.Count);
                    await DeliverAsync(client, cancellationToken).ConfigureAwait(false);
                    _sendTimer.Add((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                if (_taken.Count > 0)
                {
                    _rollbacks.Add(1);
                }
                if (ex is OperationCanceledException)
                {
                    throw;
                }
                _counter.AddEventWriteFail();
                var message = ex is EventDeliveryException ? ex.Message : $"Sink {Name}: failed to deliver a batch of {_taken.Count} events: {ex.Message}";
                throw ex as EventDeliveryException ?? new EventDeliveryException(message, ex);
            }
            var count = _taken.Count;
            _taken.Clear();
            if (count == 0)
            {
                return ProcessStatus.Backoff;
            }
            _counter.AddDrainSuccess(count);
            client.Reachable();
            return ProcessStatus.Ready;
        }
    }

    /// <summary>Produces the taken batch and waits for every acknowledgement; throws naming the first failure.</summary>
    private async Task DeliverAsync(KafkaProducerClient client, CancellationToken cancellationToken)
    {
        var batch = new DeliveryBatch();
        var producer = client.Producer;
        for (var i = 0; i < _taken.Count; i++)
        {
            var @event = _taken[i];
            var topic = ResolveTopic(@event);
            var message = ToMessage(@event, i);
            var partition = PartitionOf(@event, i);
            batch.Expect();
            try
            {
                if (partition is { } p)
                {
                    producer.Produce(new TopicPartition(topic, new Partition(p)), message, batch.Handler);
                }
                else
                {
                    producer.Produce(topic, message, batch.Handler);
                }
            }
            catch (ProduceException<byte[], byte[]> ex)
            {
                batch.Cancel();
                throw new EventDeliveryException($"Sink {Name}: could not send event {i + 1} of {_taken.Count} to topic {topic}: {Describe(ex.Error, topic)}", ex);
            }
        }
        batch.Seal();
        if (client.FlushEachBatch)
        {
            await client.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        await batch.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (batch.FirstFailure is { } failure)
        {
            var topic = failure.Topic;
            _logger.LogWarning(KafkaLog.BatchFailed, "Kafka sink {Sink}: {Failed} of {Count} events were not acknowledged ({Reason}); the batch is rolled back and retried",
                Name, batch.Failed, _taken.Count, Describe(failure.Error, topic));
            throw new EventDeliveryException(
                $"Sink {Name}: {batch.Failed} of {_taken.Count} events were not acknowledged by Kafka; first failure on topic {topic} partition {failure.Partition.Value}: {Describe(failure.Error, topic)}");
        }
    }

    private string Describe(Error error, string topic)
    {
        if (KafkaLog.IsUnknownTopic(error))
        {
            return $"topic '{topic}' does not exist on the Kafka cluster at {Options.BootstrapServers} ({error.Code}: {error.Reason}); create it, or enable automatic topic creation on the brokers";
        }
        if (error.Code == ErrorCode.Local_UnknownPartition)
        {
            return $"the partition does not exist in topic '{topic}' ({error.Reason}); check {Options.PartitionIdHeader ?? "defaultPartitionId"}";
        }
        if (error.Code is ErrorCode.Local_MsgTimedOut)
        {
            return $"no acknowledgement within delivery.timeout.ms ({error.Reason}); brokers at {Options.BootstrapServers} unreachable or without a leader for the partition";
        }
        return $"{error.Code}: {error.Reason}";
    }

    private string ResolveTopic(Event @event)
    {
        if (Options.AllowTopicOverride && @event.Headers.TryGetValue(Options.TopicHeader, out var overridden))
        {
            return overridden;
        }
        return Options.Topic.Resolve(@event.Headers);
    }

    private int? PartitionOf(Event @event, int index)
    {
        var partition = Options.DefaultPartitionId;
        if (Options.PartitionIdHeader is { } header && @event.Headers.TryGetValue(header, out var value))
        {
            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < 0)
            {
                throw new EventDeliveryException($"Sink {Name}: event {index + 1} of the batch has header {header} = '{value}', which is not a partition id (allowed: an integer >= 0); Flume fails such a batch too (\"Non integer partition id specified\")");
            }
            partition = parsed;
        }
        return partition;
    }

    private Message<byte[], byte[]> ToMessage(Event @event, int index)
    {
        var message = new Message<byte[], byte[]>
        {
            Key = @event.Headers.TryGetValue("key", out var key) ? Encoding.UTF8.GetBytes(key) : null!,
            Value = Options.UseFlumeEventFormat ? AvroFlumeEventCodec.Encode(@event) : BodyArray(@event),
        };
        if (Options.TimestampHeader is { } timestampHeader && @event.Headers.TryGetValue(timestampHeader, out var ts))
        {
            if (long.TryParse(ts, NumberStyles.Integer, CultureInfo.InvariantCulture, out var millis))
            {
                message.Timestamp = new Timestamp(millis, TimestampType.CreateTime);
            }
            else
            {
                _logger.LogWarning(KafkaLog.BatchFailed, "Kafka sink {Sink}: event {Index} has {Header} = '{Value}', not epoch milliseconds; the producer's time is used", Name, index + 1, timestampHeader, ts);
            }
        }
        if (Options.KafkaHeaders.Count > 0)
        {
            Headers? headers = null;
            foreach (var (flumeHeader, kafkaHeader) in Options.KafkaHeaders)
            {
                if (@event.Headers.TryGetValue(flumeHeader, out var value))
                {
                    (headers ??= []).Add(kafkaHeader, Encoding.UTF8.GetBytes(value));
                }
            }
            message.Headers = headers;
        }
        return message;
    }

    /// <summary>The body as an array without copying when the event owns a whole array (the usual case).</summary>
    internal static byte[] BodyArray(Event @event) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(@event.Body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : @event.Body.ToArray();
}
