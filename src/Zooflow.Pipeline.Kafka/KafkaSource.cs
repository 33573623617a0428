using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Settings of the Kafka source, with Flume's keys and defaults (<c>KafkaSourceConstants</c>).</summary>
/// <param name="BootstrapServers"><c>kafka.bootstrap.servers</c> (required).</param>
/// <param name="Topics"><c>kafka.topics</c>: comma-separated topics (deprecated <c>topic</c>), unless
/// <paramref name="TopicsRegex"/> is set.</param>
/// <param name="TopicsRegex"><c>kafka.topics.regex</c>: topics whose whole name matches (wins over the list, as in
/// Flume).</param>
/// <param name="GroupId"><c>kafka.consumer.group.id</c> (default <c>flume</c>; deprecated <c>groupId</c>).</param>
/// <param name="BatchSize"><c>batchSize</c> (default 1000): most events per channel transaction.</param>
/// <param name="BatchDuration"><c>batchDurationMillis</c> (default 1000): longest time a batch is collected.</param>
/// <param name="BackoffSleepIncrement"><c>backoffSleepIncrement</c> (default 1000 ms): backoff step while the channel
/// refuses a batch.</param>
/// <param name="MaxBackoffSleep"><c>maxBackoffSleep</c> (default 5000 ms): backoff cap.</param>
/// <param name="UseFlumeEventFormat"><c>useFlumeEventFormat</c> (default false): read values as AvroFlumeEvent
/// datums, keeping the producer's headers.</param>
/// <param name="SetTopicHeader"><c>setTopicHeader</c> (default true).</param>
/// <param name="TopicHeader"><c>topicHeader</c> (default <c>topic</c>).</param>
/// <param name="KafkaHeaders"><c>header.&lt;flumeHeader&gt; = &lt;kafkaHeader&gt;</c> (Flume 1.11): Kafka record headers
/// copied into event headers.</param>
/// <param name="ConsumerConfig">The validated librdkafka consumer configuration.</param>
public sealed record KafkaSourceOptions(string BootstrapServers, IReadOnlyList<string> Topics, string? TopicsRegex, string GroupId,
    int BatchSize, TimeSpan BatchDuration, TimeSpan BackoffSleepIncrement, TimeSpan MaxBackoffSleep, bool UseFlumeEventFormat,
    bool SetTopicHeader, string TopicHeader, IReadOnlyList<KeyValuePair<string, string>> KafkaHeaders,
    IReadOnlyList<KeyValuePair<string, string>> ConsumerConfig)
{
    private static readonly string[] ReadKeys = ["kafka.bootstrap.servers", "kafka.topics", "kafka.topics.regex"];

    /// <summary>What the consumer subscribes to: the topic list, or one librdkafka regex (a leading <c>^</c>) that
    /// matches whole names as Java's <c>Pattern.matches</c>.</summary>
    public IReadOnlyList<string> Subscription => TopicsRegex is null
        ? Topics
        : [TopicsRegex.StartsWith('^') && TopicsRegex.EndsWith('$') ? TopicsRegex : $"^({TopicsRegex.TrimStart('^')})$"];

    /// <summary>Reads and validates the source's keys, recording every problem on <paramref name="context"/>.</summary>
    public static KafkaSourceOptions FromContext(ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var zookeeper = context.GetString("zookeeperConnect");
        string bootstrap;
        if (context.GetString("kafka.bootstrap.servers") is null && zookeeper is not null)
        {
            context.AddError("zookeeperConnect",
                $"'{zookeeper}': looking Kafka brokers up in ZooKeeper is not supported (Kafka consumers have not used ZooKeeper since 0.9; Flume deprecated the key); set kafka.bootstrap.servers to host:port[,host:port...]");
            bootstrap = "";
        }
        else
        {
            bootstrap = KafkaClientConfig.BootstrapServers(context);
            KafkaKeys.WarnIgnored(context, "zookeeperConnect", "kafka.bootstrap.servers is set (Flume deprecated zookeeperConnect)");
        }
        KafkaKeys.WarnIgnored(context, "migrateZookeeperOffsets", "migrating offsets stored in ZooKeeper by Kafka 0.8 consumers is obsolete (Flume removed the ZooKeeper offset store with Kafka 2.x); committed Kafka offsets are used");
        var regex = context.GetString("kafka.topics.regex");
        var list = KafkaKeys.WithDeprecated(context, "kafka.topics", "topic");
        var topics = new List<string>();
        if (regex is not null)
        {
            if (regex.Length == 0)
            {
                context.AddError("kafka.topics.regex", "is empty (allowed: a regular expression matching whole topic names)");
            }
            if (list is not null)
            {
                context.AddWarning(context.GetString("kafka.topics") is null ? "topic" : "kafka.topics", "is ignored because kafka.topics.regex is set (as in Flume)");
            }
        }
        else if (list is null)
        {
            context.AddError("kafka.topics", "is required: at least one Kafka topic must be specified (allowed: kafka.topics = t1,t2 or kafka.topics.regex = <regex>)");
        }
        else
        {
            topics.AddRange(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            if (topics.Count == 0)
            {
                context.AddError(context.GetString("kafka.topics") is null ? "topic" : "kafka.topics", $"'{list}' names no topic (allowed: comma-separated topic names)");
            }
        }
        var groupId = KafkaKeys.WithDeprecated(context, "kafka.consumer.group.id", "groupId");
        if (string.IsNullOrEmpty(groupId))
        {
            groupId = "flume";
        }
        var batchSize = context.GetInt("batchSize", 1000, 1, 1_000_000);
        var duration = context.GetInt("batchDurationMillis", 1000, 1);
        var increment = context.GetInt("backoffSleepIncrement", 1000, 1);
        var maxBackoff = context.GetInt("maxBackoffSleep", 5000, 1);
        var useAvro = context.GetBool("useFlumeEventFormat", false);
        var setTopicHeader = context.GetBool("setTopicHeader", true);
        var topicHeader = context.GetString("topicHeader", "topic")!;
        var headers = context.SubProperties("header.").OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => new KeyValuePair<string, string>(h.Key, h.Value.Value)).ToList();
        KafkaKeys.WarnUnread(context, "Kafka source", ReadKeys);
        var config = KafkaClientConfig.Build(context, "kafka.consumer.", KafkaClientRole.Consumer, [],
        [
            new("bootstrap.servers", bootstrap),
            new("group.id", groupId),
            // Offsets are committed only after the channel transaction committed (at least once); Flume forces this too.
            new("enable.auto.commit", "false"),
            new("enable.auto.offset.store", "false"),
        ]);
        return new KafkaSourceOptions(bootstrap, topics, regex, groupId, batchSize, TimeSpan.FromMilliseconds(duration),
            TimeSpan.FromMilliseconds(increment), TimeSpan.FromMilliseconds(maxBackoff), useAvro, setTopicHeader, topicHeader, headers, config);
    }
}

/// <summary>
/// Flume's Kafka source (<c>org.apache.flume.source.kafka.KafkaSource</c>) on librdkafka: a consumer in group
/// <c>kafka.consumer.group.id</c> collects up to <c>batchSize</c> records (or what arrived within
/// <c>batchDurationMillis</c>), puts them into the channels as one transaction, and only after that transaction
/// committed commits the records' offsets to Kafka (auto-commit is off). Nothing the source read is lost: a batch the
/// channel refuses is held and retried with backoff (the partitions are paused meanwhile, and the consumer keeps
/// polling so it stays in its group), and offsets that could not be committed are committed with the next batch.
/// </summary>
/// <remarks>
/// <para><b>Rebalances.</b> Records of a partition that is revoked or lost before their batch reached the channel are
/// dropped from the batch; the partition's new owner reads them again from the last committed offset (no loss, no
/// duplicate). Offsets of records already in the channel are committed while the revocation is in progress, as long
/// as the group still accepts them. Flume instead ends the batch early and commits after the rebalance, when the
/// commit can fail (duplicates).</para>
/// <para><b>Headers</b> (as Flume, each only when absent): <c>timestamp</c> (record timestamp, epoch ms),
/// <c>topic</c> (<c>topicHeader</c>, when <c>setTopicHeader</c>), <c>partition</c>, <c>offset</c>; <c>key</c> is set
/// to the record key whenever there is one. A value that is not an AvroFlumeEvent datum while
/// <c>useFlumeEventFormat</c> is on is skipped and logged with its topic, partition and offset (as Flume skips it).</para>
/// <para><b>Threads.</b> librdkafka's consumer is a blocking API used by one thread, so the source runs its own
/// thread; it waits there for the channel transaction of each batch.</para>
/// </remarks>
public sealed class KafkaSource : IEventDrivenSource, IBatchSized
{
    /// <summary>Longest single wait in librdkafka, so that a stop is noticed quickly.</summary>
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(100);

    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly CounterAttribute _getTimer;
    private readonly CounterAttribute _commitTimer;
    private readonly CounterAttribute _emptyCount;
    private readonly TimeProvider _clock;
    private readonly List<Pending> _batch;
    private readonly List<Event> _events;
    private readonly Dictionary<TopicPartition, long> _uncommitted = [];
    private readonly HashSet<string> _missingTopicsLogged = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IEventSink? _output;
    private IConsumer<byte[], byte[]>? _consumer;
    private Thread? _thread;
    private readonly HashSet<TopicPartition> _pausedPartitions = [];
    private List<TopicPartition>? _justAssigned;
    private bool _paused;
    private int _unreachable;
    private int _lifecycle;

    /// <summary>Reads the options from <paramref name="context"/> (recording every problem there).</summary>
    public KafkaSource(string name, ComponentContext context) : this(name, KafkaSourceOptions.FromContext(context), context)
    {
    }

    /// <summary>Creates the source from validated options.</summary>
    public KafkaSource(string name, KafkaSourceOptions options, ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        Options = options;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Kafka.KafkaSource");
        _counter = context.Counters.Source(name);
        _getTimer = _counter.Attribute("KafkaEventGetTimer");
        _commitTimer = _counter.Attribute("KafkaCommitTimer");
        _emptyCount = _counter.Attribute("KafkaEmptyCount");
        _clock = context.Clock;
        _batch = new List<Pending>(Math.Min(options.BatchSize, 10_000));
        _events = new List<Event>(Math.Min(options.BatchSize, 10_000));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The settings.</summary>
    public KafkaSourceOptions Options { get; }

    /// <inheritdoc />
    public int BatchSize => Options.BatchSize;

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <summary>Events whose batch committed to the channels.</summary>
    public long EventsAccepted => _counter.EventAcceptedCount;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        _consumer = BuildConsumer();
        _consumer.Subscribe(Options.Subscription);
        _thread = new Thread(Run) { IsBackground = true, Name = "Zooflow Kafka source " + Name };
        _thread.Start();
        _logger.LogInformation(KafkaLog.Started, "Kafka source {Source} started: {Subscription} in group {Group} at {Bootstrap}, batchSize {BatchSize}",
            Name, string.Join(",", Options.Subscription), Options.GroupId, Options.BootstrapServers, Options.BatchSize);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lifecycle, 2) != 1)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _finished.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        _stop.Dispose();
        _logger.LogInformation(KafkaLog.Stopped, "Kafka source {Source} stopped after {Events} events", Name, _counter.EventAcceptedCount);
    }

    private IConsumer<byte[], byte[]> BuildConsumer() =>
        new ConsumerBuilder<byte[], byte[]>(Options.ConsumerConfig)
            .SetLogHandler((_, message) => KafkaLog.Forward(_logger, "Kafka source " + Name, message))
            .SetErrorHandler((_, error) => OnError(error))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                _logger.LogInformation(KafkaLog.Rebalance, "Kafka source {Source}: assigned {Partitions}", Name, Describe(partitions));
                // librdkafka keeps a partition's pause across a reassignment; resumed once assigned unless we hold a batch.
                _justAssigned = partitions;
            })
            .SetPartitionsRevokedHandler((consumer, partitions) => OnRevoked(consumer, partitions.Select(p => p.TopicPartition).ToList(), lost: false))
            .SetPartitionsLostHandler((consumer, partitions) => OnRevoked(consumer, partitions.Select(p => p.TopicPartition).ToList(), lost: true))
            .Build();

    private static string Describe(IEnumerable<TopicPartition> partitions) => string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]"));

    private void OnError(Error error)
    {
        if (KafkaLog.IsConnectivity(error))
        {
            _counter.AddEventReadFail();
            if (error.Code == ErrorCode.Local_AllBrokersDown && Interlocked.Exchange(ref _unreachable, 1) == 0)
            {
                _logger.LogError(KafkaLog.BrokersUnreachable, "Kafka source {Source}: no Kafka broker of {Bootstrap} can be reached ({Reason}); retrying",
                    Name, Options.BootstrapServers, error.Reason);
            }
            return;
        }
        _logger.Log(error.IsFatal ? LogLevel.Critical : LogLevel.Warning, KafkaLog.ClientError, "Kafka source {Source}: Kafka client error {Code}: {Reason}", Name, error.Code, error.Reason);
    }

    /// <summary>Runs inside <c>Consume</c> on the source thread: forgets the not-yet-delivered records of the
    /// partitions, and commits what was delivered for them while the group still accepts it.</summary>
    private void OnRevoked(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions, bool lost)
    {
        var revoked = partitions.ToHashSet();
        var dropped = _batch.RemoveAll(p => revoked.Contains(p.Partition));
        _logger.LogInformation(KafkaLog.Rebalance, "Kafka source {Source}: partitions {How} {Partitions}; {Dropped} records not yet in the channel are left for the next owner",
            Name, lost ? "lost" : "revoked", Describe(partitions), dropped);
        var toCommit = _uncommitted.Where(u => revoked.Contains(u.Key)).ToList();
        foreach (var (partition, _) in toCommit)
        {
            _uncommitted.Remove(partition);
        }
        if (!lost && toCommit.Count > 0)
        {
            TryCommit(consumer, toCommit);
        }
    }

    private void Run()
    {
        var token = _stop.Token;
        try
        {
            long consecutiveRefusals = 0;
            while (!token.IsCancellationRequested)
            {
                if (_batch.Count == 0)
                {
                    Collect(token);
                    if (_batch.Count == 0)
                    {
                        continue;
                    }
                }
                if (Deliver(token))
                {
                    consecutiveRefusals = 0;
                    if (!CommitDelivered())
                    {
                        HoldUntilCommitted(token);
                    }
                    Resume();
                    continue;
                }
                // The channel refused: hold the batch, stop fetching, keep polling (group membership, rebalances).
                Pause();
                var sleep = TimeSpan.FromTicks(Math.Min(Options.BackoffSleepIncrement.Ticks * ++consecutiveRefusals, Options.MaxBackoffSleep.Ticks));
                PollWhilePaused(sleep, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            _logger.LogCritical(KafkaLog.ClientError, ex, "Kafka source {Source}: the consumer loop failed and stopped", Name);
        }
        finally
        {
            CloseConsumer();
            _finished.TrySetResult();
        }
    }

    /// <summary>Collects records until the batch is full, the batch time is up, or a poll came back empty.</summary>
    private void Collect(CancellationToken token)
    {
        var consumer = _consumer!;
        var started = _clock.GetTimestamp();
        while (_batch.Count < Options.BatchSize && !token.IsCancellationRequested)
        {
            var remaining = Options.BatchDuration - _clock.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }
            ConsumeResult<byte[], byte[]>? result;
            try
            {
                result = consumer.Consume(remaining < PollSlice ? remaining : PollSlice);
            }
            catch (ConsumeException ex)
            {
                OnConsumeError(ex);
                continue;
            }
            finally
            {
                ResumeNewlyAssigned(consumer);
            }
            if (result is null)
            {
                if (_batch.Count > 0)
                {
                    break; // nothing more right now: deliver what we have (Flume ends the batch on an empty poll)
                }
                if (_clock.GetElapsedTime(started) >= Options.BatchDuration)
                {
                    _emptyCount.Add(1);
                }
                continue;
            }
            if (result.IsPartitionEOF)
            {
                continue;
            }
            Interlocked.Exchange(ref _unreachable, 0);
            var @event = ToEvent(result);
            if (@event is not null)
            {
                _batch.Add(new Pending(result.TopicPartition, result.Offset.Value, @event));
            }
            else
            {
                // Undecodable: skipped, but its offset still counts as read so the partition moves on.
                _batch.Add(new Pending(result.TopicPartition, result.Offset.Value, null));
            }
        }
        if (_batch.Count > 0)
        {
            _getTimer.Add((long)_clock.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private void OnConsumeError(ConsumeException ex)
    {
        _counter.AddEventReadFail();
        var error = ex.Error;
        if (KafkaLog.IsUnknownTopic(error))
        {
            var topic = ex.ConsumerRecord?.Topic ?? string.Join(",", Options.Subscription);
            if (_missingTopicsLogged.Add(topic))
            {
                _logger.LogError(KafkaLog.TopicMissing, "Kafka source {Source}: topic {Topic} does not exist on the Kafka cluster at {Bootstrap} ({Reason}); the source waits for it to be created",
                    Name, topic, Options.BootstrapServers, error.Reason);
            }
            return;
        }
        if (error.IsFatal)
        {
            throw new KafkaException(error);
        }
        _logger.LogWarning(KafkaLog.ClientError, "Kafka source {Source}: consume error {Code}: {Reason}", Name, error.Code, error.Reason);
    }

    private Event? ToEvent(ConsumeResult<byte[], byte[]> result)
    {
        var message = result.Message;
        Dictionary<string, string> headers;
        byte[] body;
        if (Options.UseFlumeEventFormat)
        {
            Event decoded;
            try
            {
                decoded = AvroFlumeEventCodec.Decode(message.Value ?? []);
            }
            catch (FormatException ex)
            {
                _counter.AddEventReadFail();
                _logger.LogError(KafkaLog.Undecodable, "Kafka source {Source}: skipping record {Topic}[{Partition}]@{Offset}: useFlumeEventFormat is true but the value is {Reason}",
                    Name, result.Topic, result.Partition.Value, result.Offset.Value, ex.Message);
                return null;
            }
            headers = new Dictionary<string, string>(decoded.Headers, StringComparer.Ordinal);
            body = KafkaSink.BodyArray(decoded);
        }
        else
        {
            headers = new Dictionary<string, string>(5, StringComparer.Ordinal);
            body = message.Value ?? [];
        }
        headers.TryAdd("timestamp", message.Timestamp.UnixTimestampMs.ToString(CultureInfo.InvariantCulture));
        if (Options.KafkaHeaders.Count > 0 && message.Headers is { } kafkaHeaders)
        {
            foreach (var (flumeHeader, kafkaHeader) in Options.KafkaHeaders)
            {
                foreach (var header in kafkaHeaders)
                {
                    if (header.Key == kafkaHeader)
                    {
                        headers[flumeHeader] = Encoding.UTF8.GetString(header.GetValueBytes());
                    }
                }
            }
        }
        if (Options.SetTopicHeader)
        {
            headers.TryAdd(Options.TopicHeader, result.Topic);
        }
        headers.TryAdd("partition", result.Partition.Value.ToString(CultureInfo.InvariantCulture));
        headers.TryAdd("offset", result.Offset.Value.ToString(CultureInfo.InvariantCulture));
        if (message.Key is { } key)
        {
            headers["key"] = Encoding.UTF8.GetString(key);
        }
        return new Event(body, headers);
    }

    /// <summary>Puts the batch into the channels; true once they committed, false when a channel refused it.</summary>
    private bool Deliver(CancellationToken token)
    {
        _events.Clear();
        foreach (var pending in _batch)
        {
            if (pending.Event is not null)
            {
                _events.Add(pending.Event);
            }
        }
        if (_events.Count == 0)
        {
            return true; // only undecodable records: nothing to put, their offsets still move on
        }
        _counter.AddEventReceived(_events.Count);
        _counter.AddAppendBatchReceived();
        try
        {
            WaitHere(_output!.ProcessBatchAsync(_events, token));
        }
        catch (ChannelException ex)
        {
            _counter.AddChannelWriteFail();
            _logger.LogDebug("Kafka source {Source}: channel refused a batch of {Count} events ({Reason}); holding it", Name, _events.Count, ex.Message);
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _counter.AddGenericProcessingFail();
            _logger.LogError(KafkaLog.BatchFailed, ex, "Kafka source {Source}: a batch of {Count} events could not be delivered; holding it", Name, _events.Count);
            return false;
        }
        _counter.AddEventAccepted(_events.Count);
        _counter.AddAppendBatchAccepted();
        return true;
    }

    /// <summary>Waits on the source's own thread for the channel transaction; the consumer API is blocking anyway.</summary>
#pragma warning disable VSTHRD002 // A dedicated thread (not the thread pool) waits here by design.
    private static void WaitHere(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }
        task.AsTask().GetAwaiter().GetResult();
    }
#pragma warning restore VSTHRD002

    /// <summary>Commits the offsets after the delivered batch (plus earlier ones whose commit failed); false when the
    /// commit failed.</summary>
    private bool CommitDelivered()
    {
        foreach (var pending in _batch)
        {
            _uncommitted[pending.Partition] = pending.Offset + 1;
        }
        _batch.Clear();
        if (_uncommitted.Count == 0)
        {
            return true;
        }
        if (TryCommit(_consumer!, _uncommitted.ToList()))
        {
            _uncommitted.Clear();
            return true;
        }
        return false;
    }

    /// <summary>
    /// After a failed commit (typically "rebalance in progress"), reads nothing more until the delivered offsets are
    /// committed or their partitions were revoked: polling with every partition paused lets the rebalance finish, and
    /// the duplicates a lost commit causes stay limited to the batches already delivered.
    /// </summary>
    private void HoldUntilCommitted(CancellationToken token)
    {
        Pause();
        long attempt = 0;
        while (_uncommitted.Count > 0 && !token.IsCancellationRequested)
        {
            var sleep = TimeSpan.FromTicks(Math.Min(PollSlice.Ticks * ++attempt, Options.MaxBackoffSleep.Ticks));
            PollWhilePaused(sleep, token);
            if (_uncommitted.Count > 0 && TryCommit(_consumer!, _uncommitted.ToList()))
            {
                _uncommitted.Clear();
            }
        }
    }

    private bool TryCommit(IConsumer<byte[], byte[]> consumer, List<KeyValuePair<TopicPartition, long>> offsets)
    {
        var started = _clock.GetTimestamp();
        try
        {
            consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Key, new Offset(o.Value))));
            _commitTimer.Add((long)_clock.GetElapsedTime(started).TotalMilliseconds);
            return true;
        }
        catch (KafkaException ex)
        {
            _logger.LogWarning(KafkaLog.CommitFailed, "Kafka source {Source}: committing offsets {Offsets} failed ({Reason}); the events are in the channel and the commit is retried with the next batch (a restart before then reads them again)",
                Name, string.Join(", ", offsets.Select(o => $"{o.Key.Topic}[{o.Key.Partition.Value}]={o.Value}")), ex.Error.Reason);
            return false;
        }
    }

    private void Pause()
    {
        var consumer = _consumer!;
        var assignment = consumer.Assignment;
        if (assignment.Count > 0)
        {
            consumer.Pause(assignment);
            _pausedPartitions.UnionWith(assignment);
        }
        _paused = true;
    }

    /// <summary>Resumes every partition paused so far (also those revoked and assigned again meanwhile).</summary>
    private void Resume()
    {
        if (!_paused)
        {
            return;
        }
        var consumer = _consumer!;
        _pausedPartitions.UnionWith(consumer.Assignment);
        if (_pausedPartitions.Count > 0)
        {
            consumer.Resume(_pausedPartitions);
        }
        _pausedPartitions.Clear();
        _justAssigned = null;
        _paused = false;
    }

    private void ResumeNewlyAssigned(IConsumer<byte[], byte[]> consumer)
    {
        if (_justAssigned is { } assigned && !_paused)
        {
            _justAssigned = null;
            if (assigned.Count > 0)
            {
                consumer.Resume(assigned);
            }
        }
    }

    /// <summary>Polls for <paramref name="duration"/> with every partition paused: serves rebalances and keeps the
    /// consumer in its group. A record that still arrives (fetched before the pause) is rewound, not lost.</summary>
    private void PollWhilePaused(TimeSpan duration, CancellationToken token)
    {
        var consumer = _consumer!;
        var started = _clock.GetTimestamp();
        while (!token.IsCancellationRequested)
        {
            var remaining = duration - _clock.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }
            try
            {
                var result = consumer.Consume(remaining < PollSlice ? remaining : PollSlice);
                if (result is not null && !result.IsPartitionEOF)
                {
                    consumer.Seek(result.TopicPartitionOffset);
                }
            }
            catch (ConsumeException ex)
            {
                OnConsumeError(ex);
            }
            // Partitions assigned during the pause start paused too.
            var assignment = consumer.Assignment;
            if (assignment.Count > 0)
            {
                consumer.Pause(assignment);
                _pausedPartitions.UnionWith(assignment);
            }
        }
    }

    private void CloseConsumer()
    {
        var consumer = _consumer;
        if (consumer is null)
        {
            return;
        }
        try
        {
            consumer.Close();
        }
        catch (KafkaException ex)
        {
            _logger.LogDebug(KafkaLog.ClientError, "Kafka source {Source}: closing the consumer: {Reason}", Name, ex.Error.Reason);
        }
        consumer.Dispose();
    }

    /// <summary>A record read for the current batch; <see cref="Event"/> is null for a record that could not be
    /// decoded (skipped, but its offset is committed with the batch).</summary>
    private sealed record Pending(TopicPartition Partition, long Offset, Event? Event);
}
