using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Settings of the Kafka channel, with Flume's keys and defaults (<c>KafkaChannelConfiguration</c>).</summary>
/// <param name="BootstrapServers"><c>kafka.bootstrap.servers</c> (required; deprecated <c>brokerList</c>).</param>
/// <param name="Topic"><c>kafka.topic</c> (default <c>flume-channel</c>; deprecated <c>topic</c>).</param>
/// <param name="GroupId"><c>kafka.consumer.group.id</c> (default <c>flume</c>; deprecated <c>groupId</c>).</param>
/// <param name="ParseAsFlumeEvent"><c>parseAsFlumeEvent</c> (default true): messages are AvroFlumeEvent datums
/// (headers kept); false: the body only, as other producers write.</param>
/// <param name="PollTimeout"><c>pollTimeout</c> (Flume's code reads <c>kafka.pollTimeout</c>; both are accepted;
/// default 500 ms): how often an idle sink asks Kafka again.</param>
/// <param name="PartitionIdHeader"><c>partitionIdHeader</c>.</param>
/// <param name="DefaultPartitionId"><c>defaultPartitionId</c>.</param>
/// <param name="ProducerConfig">The validated librdkafka producer configuration (Flume's default acks=all).</param>
/// <param name="ConsumerConfig">The validated librdkafka consumer configuration (Flume's code defaults
/// auto.offset.reset to earliest; its user guide says latest).</param>
public sealed record KafkaChannelOptions(string BootstrapServers, string Topic, string GroupId, bool ParseAsFlumeEvent, TimeSpan PollTimeout,
    string? PartitionIdHeader, int? DefaultPartitionId, IReadOnlyList<KeyValuePair<string, string>> ProducerConfig,
    IReadOnlyList<KeyValuePair<string, string>> ConsumerConfig)
{
    private static readonly string[] ReadKeys = ["kafka.bootstrap.servers", "kafka.topic", "kafka.pollTimeout"];

    /// <summary>Reads and validates the channel's keys, recording every problem on <paramref name="context"/>.</summary>
    public static KafkaChannelOptions FromContext(ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var bootstrap = KafkaClientConfig.BootstrapServers(context, "brokerList");
        var topic = KafkaKeys.WithDeprecated(context, "kafka.topic", "topic");
        if (string.IsNullOrEmpty(topic))
        {
            topic = "flume-channel";
        }
        var groupId = KafkaKeys.WithDeprecated(context, "kafka.consumer.group.id", "groupId");
        if (string.IsNullOrEmpty(groupId))
        {
            groupId = "flume";
        }
        var parse = context.GetBool("parseAsFlumeEvent", true);
        var pollKey = context.GetString("kafka.pollTimeout") is not null ? "kafka.pollTimeout" : "pollTimeout";
        var poll = context.GetInt(pollKey, 500, 1);
        var partitionHeader = context.GetString("partitionIdHeader");
        int? defaultPartition = context.GetString("defaultPartitionId") is null ? null : context.GetInt("defaultPartitionId", 0, 0);
        KafkaKeys.WarnIgnored(context, "zookeeperConnect", "the channel needs only kafka.bootstrap.servers (Flume deprecated zookeeperConnect)");
        KafkaKeys.WarnIgnored(context, "migrateZookeeperOffsets", "migrating offsets stored in ZooKeeper by Kafka 0.8 consumers is obsolete; committed Kafka offsets are used");
        KafkaKeys.WarnUnread(context, "Kafka channel", ReadKeys);

        var consumerDefaults = new List<KeyValuePair<string, string>> { new("auto.offset.reset", "earliest") };
        if (context.GetString("readSmallestOffset") is { } smallest)
        {
            if (context.GetString("kafka.consumer.auto.offset.reset") is null)
            {
                var reset = context.GetBool("readSmallestOffset", false) ? "earliest" : "latest";
                context.AddWarning("readSmallestOffset", $"is deprecated (Flume maps it with a warning); use kafka.consumer.auto.offset.reset = {reset}");
                consumerDefaults[0] = new("auto.offset.reset", reset);
            }
            else
            {
                context.AddWarning("readSmallestOffset", $"'{smallest}' is deprecated and ignored because kafka.consumer.auto.offset.reset is set (as in Flume)");
            }
        }
        var producer = KafkaClientConfig.Build(context, "kafka.producer.", KafkaClientRole.Producer,
        [
            new("acks", "all"), // KafkaChannelConfiguration.DEFAULT_ACKS
            new("delivery.timeout.ms", "120000"),
            new("linger.ms", "0"),
            new("dotnet.producer.delivery.report.fields", "none"),
        ],
        [new("bootstrap.servers", bootstrap)]);
        var consumer = KafkaClientConfig.Build(context, "kafka.consumer.", KafkaClientRole.Consumer, consumerDefaults,
        [
            new("bootstrap.servers", bootstrap),
            new("group.id", groupId),
            new("enable.auto.commit", "false"),
            new("enable.auto.offset.store", "false"),
        ]);
        return new KafkaChannelOptions(bootstrap, topic, groupId, parse, TimeSpan.FromMilliseconds(poll), partitionHeader, defaultPartition, producer, consumer);
    }
}

/// <summary>
/// Flume's Kafka channel (<c>org.apache.flume.channel.kafka.KafkaChannel</c>): events are kept in a Kafka topic, so
/// they survive the agent and are shared by every agent of the consumer group.
/// </summary>
/// <remarks>
/// <para><b>Puts</b> are serialised at <c>Put</c> (AvroFlumeEvent datum, or the body when <c>parseAsFlumeEvent</c> is
/// false; key from the <c>key</c> header, partition from <c>partitionIdHeader</c>/<c>defaultPartitionId</c>) and produced
/// at commit; the commit returns only once the brokers acknowledged every event (<c>acks=all</c> by default) and fails
/// with <see cref="ChannelException"/> otherwise, so the source retries the batch. A put commit that failed part-way may
/// leave some of its events in the topic (duplicates on retry, as in Flume).</para>
/// <para><b>Takes</b> read from a consumer that the transaction leases for its lifetime (one consumer per concurrent
/// take transaction, all in the group — Flume keeps one per thread). A take never waits: it returns what librdkafka has
/// already fetched, and the channel wakes an idle sink runner every <c>pollTimeout</c> (or at once after a local put).
/// Commit commits the offsets after the taken records; rollback seeks the consumer back to the first taken record of
/// each partition, so the same events are taken again in order (Flume instead keeps rolled-back events in memory).
/// After a rebalance during a transaction, takes return nothing until it completes, so the sink commits what it holds.
/// A failed offset commit is logged and the transaction still completes (the sink already delivered the events): they
/// may be taken again after a restart — duplicates, never loss.</para>
/// <para><c>ChannelSize</c> is 0 and there is no capacity, as in Flume: the events are in Kafka, not in the agent.</para>
/// </remarks>
public sealed class KafkaChannel : IChannel, IChannelEventsSignal
{
    private readonly ILogger _logger;
    private readonly ChannelCounter _counter;
    private readonly CounterAttribute _getTimer;
    private readonly CounterAttribute _sendTimer;
    private readonly CounterAttribute _commitTimer;
    private readonly CounterAttribute _rollbacks;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly Stack<ChannelConsumer> _idle = new();
    private readonly List<ChannelConsumer> _all = [];
    private TaskCompletionSource _events = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _putGeneration;
    private KafkaProducerClient? _producer;
    private int _lifecycle;

    /// <summary>Reads the options from <paramref name="context"/> (recording every problem there).</summary>
    public KafkaChannel(string name, ComponentContext context) : this(name, KafkaChannelOptions.FromContext(context), context)
    {
    }

    /// <summary>Creates the channel from validated options.</summary>
    public KafkaChannel(string name, KafkaChannelOptions options, ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        Options = options;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Kafka.KafkaChannel");
        _counter = context.Counters.Channel(name);
        _getTimer = _counter.Attribute("KafkaEventGetTimer");
        _sendTimer = _counter.Attribute("KafkaEventSendTimer");
        _commitTimer = _counter.Attribute("KafkaCommitTimer");
        _rollbacks = _counter.Attribute("RollbackCount");
        _clock = context.Clock;
        _counter.Bind(() => 0, 0);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The settings.</summary>
    public KafkaChannelOptions Options { get; }

    /// <inheritdoc />
    public long Size => 0;

    /// <inheritdoc />
    public long Capacity => 0;

    /// <inheritdoc />
    public long PutGeneration
    {
        get
        {
            lock (_lock)
            {
                return _putGeneration;
            }
        }
    }

    /// <inheritdoc />
    public IChannelTransaction BeginTransaction()
    {
        if (Volatile.Read(ref _lifecycle) != 1)
        {
            throw new ChannelException($"Kafka channel {Name} is not running");
        }
        return new Transaction(this);
    }

    /// <inheritdoc />
    /// <remarks>Also completes after <c>pollTimeout</c>: events may have reached the topic from other agents.</remarks>
    public Task WaitForEventsAsync(long afterGeneration, CancellationToken cancellationToken)
    {
        Task signal;
        lock (_lock)
        {
            if (_putGeneration != afterGeneration)
            {
                return Task.CompletedTask;
            }
            signal = _events.Task;
        }
        return WaitAsync(signal, cancellationToken);
    }

    private async Task WaitAsync(Task signal, CancellationToken cancellationToken)
    {
        try
        {
            await signal.WaitAsync(Options.PollTimeout, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Time to look at the topic again.
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            throw new InvalidOperationException($"Kafka channel {Name} was already started");
        }
        _producer = new KafkaProducerClient("Kafka channel " + Name, Options.ProducerConfig, _logger, null);
        _counter.Start(_clock);
        _logger.LogInformation(KafkaLog.Started, "Kafka channel {Channel} started: topic {Topic}, group {Group}, bootstrap {Bootstrap}",
            Name, Options.Topic, Options.GroupId, Options.BootstrapServers);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lifecycle, 2) != 1)
        {
            return Task.CompletedTask;
        }
        List<ChannelConsumer> consumers;
        lock (_lock)
        {
            consumers = [.. _all];
            _all.Clear();
            _idle.Clear();
        }
        foreach (var consumer in consumers)
        {
            consumer.Close();
        }
        _producer?.Dispose();
        _counter.Stop(_clock);
        _logger.LogInformation(KafkaLog.Stopped, "Kafka channel {Channel} stopped", Name);
        return Task.CompletedTask;
    }

    private ChannelConsumer Lease()
    {
        lock (_lock)
        {
            if (_idle.TryPop(out var idle))
            {
                idle.Rebalanced = false;
                return idle;
            }
        }
        var created = new ChannelConsumer(this);
        lock (_lock)
        {
            _all.Add(created);
        }
        return created;
    }

    private void Release(ChannelConsumer consumer)
    {
        lock (_lock)
        {
            if (_all.Contains(consumer))
            {
                _idle.Push(consumer);
            }
        }
    }

    private void SignalPut()
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            _putGeneration++;
            signal = _events;
            _events = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        signal.TrySetResult();
    }

    /// <summary>One consumer of the channel's group, used by one take transaction at a time.</summary>
    private sealed class ChannelConsumer
    {
        private readonly KafkaChannel _channel;

        public ChannelConsumer(KafkaChannel channel)
        {
            _channel = channel;
            Consumer = new ConsumerBuilder<byte[], byte[]>(channel.Options.ConsumerConfig)
                .SetLogHandler((_, message) => KafkaLog.Forward(channel._logger, "Kafka channel " + channel.Name, message))
                .SetErrorHandler((_, error) => channel._logger.Log(KafkaLog.IsConnectivity(error) ? LogLevel.Debug : LogLevel.Warning, KafkaLog.ClientError,
                    "Kafka channel {Channel}: consumer error {Code}: {Reason}", channel.Name, error.Code, error.Reason))
                .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition), "revoked"))
                .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition), "lost"))
                .SetPartitionsAssignedHandler((_, partitions) => channel._logger.LogInformation(KafkaLog.Rebalance, "Kafka channel {Channel}: assigned {Partitions}",
                    channel.Name, string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"))))
                .Build();
            Consumer.Subscribe(channel.Options.Topic);
        }

        public IConsumer<byte[], byte[]> Consumer { get; }

        /// <summary>Set when partitions were revoked during the current transaction.</summary>
        public bool Rebalanced { get; set; }

        private void OnRevoked(IEnumerable<TopicPartition> partitions, string how)
        {
            Rebalanced = true;
            _channel._logger.LogInformation(KafkaLog.Rebalance, "Kafka channel {Channel}: partitions {How} {Partitions}",
                _channel.Name, how, string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
        }

        public void Close()
        {
            try
            {
                Consumer.Close();
            }
            catch (KafkaException ex)
            {
                _channel._logger.LogDebug(KafkaLog.ClientError, "Kafka channel {Channel}: closing a consumer: {Reason}", _channel.Name, ex.Error.Reason);
            }
            Consumer.Dispose();
        }
    }

    private sealed class Transaction(KafkaChannel channel) : ChannelTransactionBase
    {
        private readonly List<(Message<byte[], byte[]> Message, int? Partition)> _puts = [];
        private readonly Dictionary<TopicPartition, (long First, long Last)> _taken = [];
        private ChannelConsumer? _consumer;
        private int _takes;

        protected override void DoPut(Event @event)
        {
            channel._counter.AddPutAttempt();
            var options = channel.Options;
            int? partition = options.DefaultPartitionId;
            if (options.PartitionIdHeader is { } header && @event.Headers.TryGetValue(header, out var value))
            {
                if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < 0)
                {
                    throw new ChannelException($"Kafka channel {channel.Name}: header {header} = '{value}' is not a partition id (allowed: an integer >= 0); Flume refuses such an event too (\"Non integer partition id specified\")");
                }
                partition = parsed;
            }
            var message = new Message<byte[], byte[]>
            {
                Key = @event.Headers.TryGetValue("key", out var key) ? Encoding.UTF8.GetBytes(key) : null!,
                Value = options.ParseAsFlumeEvent ? AvroFlumeEventCodec.Encode(@event) : KafkaSink.BodyArray(@event),
            };
            _puts.Add((message, partition));
        }

        protected override Event? DoTake()
        {
            _consumer ??= channel.Lease();
            if (_consumer.Rebalanced)
            {
                return null; // let this transaction commit what it holds before reading the new assignment (as Flume)
            }
            var started = Stopwatch.GetTimestamp();
            ConsumeResult<byte[], byte[]>? result;
            try
            {
                result = _consumer.Consumer.Consume(TimeSpan.Zero);
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                if (KafkaLog.IsUnknownTopic(ex.Error))
                {
                    channel._logger.LogError(KafkaLog.TopicMissing, "Kafka channel {Channel}: topic {Topic} does not exist on the Kafka cluster at {Bootstrap} ({Reason})",
                        channel.Name, channel.Options.Topic, channel.Options.BootstrapServers, ex.Error.Reason);
                    return null;
                }
                throw new ChannelException($"Kafka channel {channel.Name}: reading topic {channel.Options.Topic} failed: {ex.Error.Code}: {ex.Error.Reason}", ex);
            }
            if (result is null || result.IsPartitionEOF)
            {
                return null;
            }
            var partition = result.TopicPartition;
            var offset = result.Offset.Value;
            _taken[partition] = _taken.TryGetValue(partition, out var range) ? (range.First, offset) : (offset, offset);
            Event @event;
            if (channel.Options.ParseAsFlumeEvent)
            {
                try
                {
                    @event = AvroFlumeEventCodec.Decode(result.Message.Value ?? []);
                }
                catch (FormatException ex)
                {
                    throw new ChannelException($"Kafka channel {channel.Name}: record {result.Topic}[{partition.Partition.Value}]@{offset} is not a Flume event ({ex.Message}); parseAsFlumeEvent is true, so every record of topic {channel.Options.Topic} must be an AvroFlumeEvent datum (set parseAsFlumeEvent = false when other producers write to it)", ex);
                }
            }
            else
            {
                @event = new Event(result.Message.Value ?? []);
            }
            if (result.Message.Key is { } key)
            {
                @event = @event.WithHeader("key", Encoding.UTF8.GetString(key));
            }
            _takes++;
            channel._counter.AddTakeAttempt();
            channel._getTimer.Add((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return @event;
        }

        protected override async ValueTask DoCommitAsync(CancellationToken cancellationToken)
        {
            if (IsPut)
            {
                await CommitPutsAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            if (_consumer is null)
            {
                return;
            }
            if (_taken.Count > 0)
            {
                CommitOffsets(_consumer);
            }
            channel._counter.AddTakeSuccess(_takes);
            _taken.Clear();
            _takes = 0;
            channel.Release(_consumer);
            _consumer = null;
        }

        private async Task CommitPutsAsync(CancellationToken cancellationToken)
        {
            if (_puts.Count == 0)
            {
                return;
            }
            var producer = channel._producer ?? throw new ChannelException($"Kafka channel {channel.Name} is not running");
            var started = Stopwatch.GetTimestamp();
            var batch = new DeliveryBatch();
            var topic = channel.Options.Topic;
            foreach (var (message, partition) in _puts)
            {
                batch.Expect();
                try
                {
                    if (partition is { } p)
                    {
                        producer.Producer.Produce(new TopicPartition(topic, new Partition(p)), message, batch.Handler);
                    }
                    else
                    {
                        producer.Producer.Produce(topic, message, batch.Handler);
                    }
                }
                catch (ProduceException<byte[], byte[]> ex)
                {
                    batch.Cancel();
                    throw new ChannelException($"Kafka channel {channel.Name}: commit failed, could not send to topic {topic}: {ex.Error.Code}: {ex.Error.Reason}", ex);
                }
            }
            batch.Seal();
            if (producer.FlushEachBatch)
            {
                await producer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            await batch.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (batch.FirstFailure is { } failure)
            {
                var reason = KafkaLog.IsUnknownTopic(failure.Error)
                    ? $"topic '{topic}' does not exist on the Kafka cluster at {channel.Options.BootstrapServers}; create it, or enable automatic topic creation on the brokers"
                    : $"{failure.Error.Code}: {failure.Error.Reason}";
                throw new ChannelException($"Kafka channel {channel.Name}: commit failed, {batch.Failed} of {_puts.Count} events were not acknowledged by Kafka: {reason}");
            }
            channel._sendTimer.Add((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            channel._counter.AddPutSuccess(_puts.Count);
            _puts.Clear();
            producer.Reachable();
            channel.SignalPut();
        }

        private void CommitOffsets(ChannelConsumer consumer)
        {
            var started = Stopwatch.GetTimestamp();
            var assigned = consumer.Consumer.Assignment.ToHashSet();
            var offsets = _taken.Where(t => assigned.Contains(t.Key)).Select(t => new TopicPartitionOffset(t.Key, new Offset(t.Value.Last + 1))).ToList();
            if (offsets.Count < _taken.Count)
            {
                channel._logger.LogWarning(KafkaLog.CommitFailed, "Kafka channel {Channel}: {Count} partitions were reassigned during the transaction; their events may be taken again by their new owner",
                    channel.Name, _taken.Count - offsets.Count);
            }
            if (offsets.Count == 0)
            {
                return;
            }
            try
            {
                consumer.Consumer.Commit(offsets);
                channel._commitTimer.Add((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (KafkaException ex)
            {
                channel._logger.LogWarning(KafkaLog.CommitFailed, "Kafka channel {Channel}: committing offsets {Offsets} failed ({Reason}); the events were delivered and may be taken again after a restart",
                    channel.Name, string.Join(", ", offsets.Select(o => $"{o.Topic}[{o.Partition.Value}]={o.Offset.Value}")), ex.Error.Reason);
            }
        }

        protected override ValueTask DoRollbackAsync(CancellationToken cancellationToken)
        {
            _puts.Clear();
            if (_consumer is null)
            {
                return ValueTask.CompletedTask;
            }
            if (_takes > 0)
            {
                channel._rollbacks.Add(_takes);
            }
            foreach (var (partition, range) in _taken)
            {
                try
                {
                    _consumer.Consumer.Seek(new TopicPartitionOffset(partition, new Offset(range.First)));
                }
                catch (KafkaException ex)
                {
                    // The partition is no longer ours: its new owner starts from the last committed offset anyway.
                    channel._logger.LogDebug(KafkaLog.ClientError, "Kafka channel {Channel}: rewinding {Topic}[{Partition}] to {Offset}: {Reason}",
                        channel.Name, partition.Topic, partition.Partition.Value, range.First, ex.Error.Reason);
                }
            }
            _taken.Clear();
            _takes = 0;
            channel.Release(_consumer);
            _consumer = null;
            return ValueTask.CompletedTask;
        }
    }
}
