using System.Globalization;

namespace Zooflow.Pipeline.Instrumentation;

/// <summary>
/// Base of the per-component counters exposed at <c>/metrics</c> in Flume's shape (<c>TYPE.name</c> → attribute →
/// string value). Counters are incremented with <see cref="Interlocked"/> from any thread; a snapshot is not atomic
/// across attributes (as in Flume's MBeans).
/// </summary>
public abstract class ComponentCounter
{
    private readonly List<CounterAttribute> _extra = [];
    private long _startTime;
    private long _stopTime;

    /// <summary>Creates a counter for component <paramref name="name"/> of Flume type <paramref name="type"/>.</summary>
    protected ComponentCounter(string type, string name)
    {
        Type = type;
        Name = name;
    }

    /// <summary>Flume's type attribute: <c>SOURCE</c>, <c>CHANNEL</c> or <c>SINK</c>.</summary>
    public string Type { get; }

    /// <summary>The component name.</summary>
    public string Name { get; }

    /// <summary>Epoch milliseconds of the last start (0 before).</summary>
    public long StartTime => Interlocked.Read(ref _startTime);

    /// <summary>Epoch milliseconds of the last stop (0 while running).</summary>
    public long StopTime => Interlocked.Read(ref _stopTime);

    /// <summary>Marks the component started now (the runtime calls this).</summary>
    public void Start(TimeProvider? clock = null)
    {
        Interlocked.Exchange(ref _startTime, (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _stopTime, 0);
    }

    /// <summary>Marks the component stopped now (the runtime calls this).</summary>
    public void Stop(TimeProvider? clock = null) =>
        Interlocked.Exchange(ref _stopTime, (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>
    /// A component-specific attribute served after the standard ones, as Flume's specialised counters add theirs
    /// (e.g. <c>KafkaSinkCounter</c>'s <c>RollbackCount</c> and <c>KafkaEventSendTimer</c>). Asking again for the same
    /// name returns the same attribute, so a restarted component instance keeps counting where the old one stopped.
    /// </summary>
    public CounterAttribute Attribute(string name)
    {
        lock (_extra)
        {
            foreach (var attribute in _extra)
            {
                if (attribute.Name == name)
                {
                    return attribute;
                }
            }
            var created = new CounterAttribute(name);
            _extra.Add(created);
            return created;
        }
    }

    /// <summary>The attributes with Flume's names and string values, in a stable order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Snapshot()
    {
        var list = new List<KeyValuePair<string, string>>(16);
        AddAttributes(list);
        lock (_extra)
        {
            foreach (var attribute in _extra)
            {
                list.Add(Attr(attribute.Name, attribute.Value));
            }
        }
        list.Add(new("StartTime", StartTime.ToString(CultureInfo.InvariantCulture)));
        list.Add(new("StopTime", StopTime.ToString(CultureInfo.InvariantCulture)));
        list.Add(new("Type", Type));
        return list;
    }

    /// <summary>Adds the type-specific attributes.</summary>
    protected abstract void AddAttributes(List<KeyValuePair<string, string>> list);

    /// <summary>Formats a counter.</summary>
    protected static KeyValuePair<string, string> Attr(string name, long value) => new(name, value.ToString(CultureInfo.InvariantCulture));
}

/// <summary>One extra counter attribute of a component (see <see cref="ComponentCounter.Attribute"/>); thread-safe.</summary>
public sealed class CounterAttribute
{
    private long _value;

    internal CounterAttribute(string name)
    {
        Name = name;
    }

    /// <summary>Flume's attribute name, e.g. <c>RollbackCount</c>.</summary>
    public string Name { get; }

    /// <summary>The current value.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds <paramref name="delta"/> (a count, or milliseconds for Flume's <c>...Timer</c> attributes).</summary>
    public void Add(long delta) => Interlocked.Add(ref _value, delta);
}

/// <summary>Flume's <c>SourceCounter</c> (attribute names as in <c>SourceCounterMBean</c>).</summary>
public sealed class SourceCounter(string name) : ComponentCounter("SOURCE", name)
{
    private long _eventReceived, _eventAccepted, _appendReceived, _appendAccepted, _appendBatchReceived, _appendBatchAccepted;
    private long _openConnections, _eventReadFail, _channelWriteFail, _genericProcessingFail;

    /// <summary>Events read from the outside (before the channel).</summary>
    public long EventReceivedCount => Interlocked.Read(ref _eventReceived);
    /// <summary>Events committed to the channels.</summary>
    public long EventAcceptedCount => Interlocked.Read(ref _eventAccepted);
    /// <summary>Open client connections.</summary>
    public long OpenConnectionCount => Interlocked.Read(ref _openConnections);
    /// <summary>Events that could not be read/parsed.</summary>
    public long EventReadFail => Interlocked.Read(ref _eventReadFail);
    /// <summary>Batches the channels refused.</summary>
    public long ChannelWriteFail => Interlocked.Read(ref _channelWriteFail);
    /// <summary>Other processing failures.</summary>
    public long GenericProcessingFail => Interlocked.Read(ref _genericProcessingFail);

    /// <summary>Adds to EventReceivedCount.</summary>
    public void AddEventReceived(long n = 1) => Interlocked.Add(ref _eventReceived, n);
    /// <summary>Adds to EventAcceptedCount.</summary>
    public void AddEventAccepted(long n = 1) => Interlocked.Add(ref _eventAccepted, n);
    /// <summary>Adds to AppendReceivedCount.</summary>
    public void AddAppendReceived(long n = 1) => Interlocked.Add(ref _appendReceived, n);
    /// <summary>Adds to AppendAcceptedCount.</summary>
    public void AddAppendAccepted(long n = 1) => Interlocked.Add(ref _appendAccepted, n);
    /// <summary>Adds to AppendBatchReceivedCount.</summary>
    public void AddAppendBatchReceived(long n = 1) => Interlocked.Add(ref _appendBatchReceived, n);
    /// <summary>Adds to AppendBatchAcceptedCount.</summary>
    public void AddAppendBatchAccepted(long n = 1) => Interlocked.Add(ref _appendBatchAccepted, n);
    /// <summary>One connection opened.</summary>
    public void ConnectionOpened() => Interlocked.Increment(ref _openConnections);
    /// <summary>One connection closed.</summary>
    public void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);
    /// <summary>Adds to EventReadFail.</summary>
    public void AddEventReadFail(long n = 1) => Interlocked.Add(ref _eventReadFail, n);
    /// <summary>Adds to ChannelWriteFail.</summary>
    public void AddChannelWriteFail(long n = 1) => Interlocked.Add(ref _channelWriteFail, n);
    /// <summary>Adds to GenericProcessingFail.</summary>
    public void AddGenericProcessingFail(long n = 1) => Interlocked.Add(ref _genericProcessingFail, n);

    /// <inheritdoc />
    protected override void AddAttributes(List<KeyValuePair<string, string>> list)
    {
        list.Add(Attr("EventReceivedCount", EventReceivedCount));
        list.Add(Attr("EventAcceptedCount", EventAcceptedCount));
        list.Add(Attr("AppendReceivedCount", Interlocked.Read(ref _appendReceived)));
        list.Add(Attr("AppendAcceptedCount", Interlocked.Read(ref _appendAccepted)));
        list.Add(Attr("AppendBatchReceivedCount", Interlocked.Read(ref _appendBatchReceived)));
        list.Add(Attr("AppendBatchAcceptedCount", Interlocked.Read(ref _appendBatchAccepted)));
        list.Add(Attr("OpenConnectionCount", OpenConnectionCount));
        list.Add(Attr("EventReadFail", EventReadFail));
        list.Add(Attr("ChannelWriteFail", ChannelWriteFail));
        list.Add(Attr("GenericProcessingFail", GenericProcessingFail));
    }
}

/// <summary>Flume's <c>ChannelCounter</c>. Size and capacity are read from the channel when a snapshot is taken.</summary>
public sealed class ChannelCounter(string name) : ComponentCounter("CHANNEL", name)
{
    private long _putAttempt, _putSuccess, _takeAttempt, _takeSuccess;
    private Func<long>? _size;
    private long _capacity;

    /// <summary>Events currently in the channel.</summary>
    public long ChannelSize => _size?.Invoke() ?? 0;
    /// <summary>The channel's capacity.</summary>
    public long ChannelCapacity => Interlocked.Read(ref _capacity);
    /// <summary>Puts attempted.</summary>
    public long EventPutAttemptCount => Interlocked.Read(ref _putAttempt);
    /// <summary>Puts committed.</summary>
    public long EventPutSuccessCount => Interlocked.Read(ref _putSuccess);
    /// <summary>Takes attempted.</summary>
    public long EventTakeAttemptCount => Interlocked.Read(ref _takeAttempt);
    /// <summary>Takes committed (events that left the channel).</summary>
    public long EventTakeSuccessCount => Interlocked.Read(ref _takeSuccess);

    /// <summary>Binds the live size and the capacity of the channel instance.</summary>
    public void Bind(Func<long> size, long capacity)
    {
        _size = size;
        Interlocked.Exchange(ref _capacity, capacity);
    }

    /// <summary>Adds to EventPutAttemptCount.</summary>
    public void AddPutAttempt(long n = 1) => Interlocked.Add(ref _putAttempt, n);
    /// <summary>Adds to EventPutSuccessCount.</summary>
    public void AddPutSuccess(long n) => Interlocked.Add(ref _putSuccess, n);
    /// <summary>Adds to EventTakeAttemptCount.</summary>
    public void AddTakeAttempt(long n = 1) => Interlocked.Add(ref _takeAttempt, n);
    /// <summary>Adds to EventTakeSuccessCount.</summary>
    public void AddTakeSuccess(long n) => Interlocked.Add(ref _takeSuccess, n);

    /// <inheritdoc />
    protected override void AddAttributes(List<KeyValuePair<string, string>> list)
    {
        var size = ChannelSize;
        var capacity = ChannelCapacity;
        list.Add(Attr("ChannelSize", size));
        list.Add(Attr("EventPutAttemptCount", EventPutAttemptCount));
        list.Add(Attr("EventPutSuccessCount", EventPutSuccessCount));
        list.Add(Attr("EventTakeAttemptCount", EventTakeAttemptCount));
        list.Add(Attr("EventTakeSuccessCount", EventTakeSuccessCount));
        list.Add(Attr("ChannelCapacity", capacity));
        // Flume: (size * 100.0) / capacity, Double.MAX_VALUE when capacity is 0; printed with Java's Double.toString.
        list.Add(new("ChannelFillPercentage", JavaDouble(capacity == 0 ? double.MaxValue : size * 100.0 / capacity)));
    }

    /// <summary>Formats like Java's <c>Double.toString</c> for the values that occur here (always a decimal point).</summary>
    internal static string JavaDouble(double value)
    {
        if (value == double.MaxValue)
        {
            return "1.7976931348623157E308";
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }
}

/// <summary>Flume's <c>SinkCounter</c>.</summary>
public sealed class SinkCounter(string name) : ComponentCounter("SINK", name)
{
    private long _connCreated, _connClosed, _connFailed, _batchEmpty, _batchUnderflow, _batchComplete;
    private long _drainAttempt, _drainSuccess, _writeFail, _channelReadFail;

    /// <summary>Events taken for delivery.</summary>
    public long EventDrainAttemptCount => Interlocked.Read(ref _drainAttempt);
    /// <summary>Events delivered downstream (committed).</summary>
    public long EventDrainSuccessCount => Interlocked.Read(ref _drainSuccess);
    /// <summary>Failed downstream writes.</summary>
    public long EventWriteFail => Interlocked.Read(ref _writeFail);
    /// <summary>Failed channel reads.</summary>
    public long ChannelReadFail => Interlocked.Read(ref _channelReadFail);
    /// <summary>Batches that were empty.</summary>
    public long BatchEmptyCount => Interlocked.Read(ref _batchEmpty);
    /// <summary>Batches smaller than the batch size.</summary>
    public long BatchUnderflowCount => Interlocked.Read(ref _batchUnderflow);
    /// <summary>Full batches.</summary>
    public long BatchCompleteCount => Interlocked.Read(ref _batchComplete);

    /// <summary>A downstream connection was created.</summary>
    public void ConnectionCreated() => Interlocked.Increment(ref _connCreated);
    /// <summary>A downstream connection was closed.</summary>
    public void ConnectionClosed() => Interlocked.Increment(ref _connClosed);
    /// <summary>A downstream connection failed.</summary>
    public void ConnectionFailed() => Interlocked.Increment(ref _connFailed);
    /// <summary>An empty batch.</summary>
    public void BatchEmpty() => Interlocked.Increment(ref _batchEmpty);
    /// <summary>A batch smaller than the batch size.</summary>
    public void BatchUnderflow() => Interlocked.Increment(ref _batchUnderflow);
    /// <summary>A full batch.</summary>
    public void BatchComplete() => Interlocked.Increment(ref _batchComplete);
    /// <summary>Records the outcome class of a batch of <paramref name="count"/> events for batch size <paramref name="batchSize"/>.</summary>
    public void Batch(int count, int batchSize)
    {
        if (count == 0) { BatchEmpty(); }
        else if (count < batchSize) { BatchUnderflow(); }
        else { BatchComplete(); }
    }
    /// <summary>Adds to EventDrainAttemptCount.</summary>
    public void AddDrainAttempt(long n) => Interlocked.Add(ref _drainAttempt, n);
    /// <summary>Adds to EventDrainSuccessCount.</summary>
    public void AddDrainSuccess(long n) => Interlocked.Add(ref _drainSuccess, n);
    /// <summary>Adds to EventWriteFail.</summary>
    public void AddEventWriteFail(long n = 1) => Interlocked.Add(ref _writeFail, n);
    /// <summary>Adds to ChannelReadFail.</summary>
    public void AddChannelReadFail(long n = 1) => Interlocked.Add(ref _channelReadFail, n);

    /// <inheritdoc />
    protected override void AddAttributes(List<KeyValuePair<string, string>> list)
    {
        list.Add(Attr("ConnectionCreatedCount", Interlocked.Read(ref _connCreated)));
        list.Add(Attr("ConnectionClosedCount", Interlocked.Read(ref _connClosed)));
        list.Add(Attr("ConnectionFailedCount", Interlocked.Read(ref _connFailed)));
        list.Add(Attr("BatchEmptyCount", BatchEmptyCount));
        list.Add(Attr("BatchUnderflowCount", BatchUnderflowCount));
        list.Add(Attr("BatchCompleteCount", BatchCompleteCount));
        list.Add(Attr("EventDrainAttemptCount", EventDrainAttemptCount));
        list.Add(Attr("EventDrainSuccessCount", EventDrainSuccessCount));
        list.Add(Attr("EventWriteFail", EventWriteFail));
        list.Add(Attr("ChannelReadFail", ChannelReadFail));
    }
}

/// <summary>
/// All counters of one agent, keyed by type and name. A component gets its counter by name (the same instance across
/// reloads and restarts, so counts continue as in Flume, whose MBeans are keyed by name).
/// </summary>
public sealed class CounterRegistry
{
    private readonly Dictionary<string, ComponentCounter> _counters = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The source counter for <paramref name="name"/>.</summary>
    public SourceCounter Source(string name) => GetOrAdd("SOURCE." + name, () => new SourceCounter(name));

    /// <summary>The channel counter for <paramref name="name"/>.</summary>
    public ChannelCounter Channel(string name) => GetOrAdd("CHANNEL." + name, () => new ChannelCounter(name));

    /// <summary>The sink counter for <paramref name="name"/>.</summary>
    public SinkCounter Sink(string name) => GetOrAdd("SINK." + name, () => new SinkCounter(name));

    /// <summary>Forgets counters whose components are no longer configured (after a reload).</summary>
    public void Retain(IReadOnlySet<string> keys)
    {
        lock (_lock)
        {
            foreach (var key in _counters.Keys.ToArray())
            {
                if (!keys.Contains(key))
                {
                    _counters.Remove(key);
                }
            }
        }
    }

    /// <summary>Every counter as <c>TYPE.name</c> → counter, ordered by key.</summary>
    public IReadOnlyList<KeyValuePair<string, ComponentCounter>> All()
    {
        lock (_lock)
        {
            return _counters.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        }
    }

    private T GetOrAdd<T>(string key, Func<T> create) where T : ComponentCounter
    {
        lock (_lock)
        {
            if (_counters.TryGetValue(key, out var existing))
            {
                return (T)existing;
            }
            var created = create();
            _counters[key] = created;
            return created;
        }
    }
}
