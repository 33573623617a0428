using Microsoft.Extensions.Logging;
using Zooflow.Common;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Channels;

/// <summary>Settings of the memory channel, with Flume's names and defaults.</summary>
/// <param name="Capacity"><c>capacity</c>: most events held (Flume default 100).</param>
/// <param name="TransactionCapacity"><c>transactionCapacity</c>: most puts or takes per transaction (default 100).</param>
/// <param name="ByteCapacity"><c>byteCapacity</c>: most body bytes held. Flume's default is 80 % of the JVM heap; ours
/// is 80 % of the memory available to the .NET GC (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>, which
/// honours container limits). 0 means unlimited in practice (Flume: ~200 GB).</param>
/// <param name="ByteCapacityBufferPercentage"><c>byteCapacityBufferPercentage</c>: share of byteCapacity kept free for
/// headers, which are not counted (default 20).</param>
/// <param name="KeepAlive"><c>keep-alive</c> (seconds): how long a put commit waits for room (default 3 s).</param>
public sealed record MemoryChannelOptions(long Capacity, int TransactionCapacity, long ByteCapacity, int ByteCapacityBufferPercentage, TimeSpan KeepAlive)
{
    /// <summary>Flume's defaults.</summary>
    public static MemoryChannelOptions Default { get; } = new(100, 100, DefaultByteCapacity(), 20, TimeSpan.FromSeconds(3));

    /// <summary>80 % of the memory available to the GC (Flume: 80 % of the JVM's max heap).</summary>
    public static long DefaultByteCapacity() => (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.8);

    /// <summary>Reads the options from a component context, recording every error there.</summary>
    public static MemoryChannelOptions FromContext(ComponentContext context)
    {
        var d = Default;
        var capacity = context.GetLong("capacity", d.Capacity, 1);
        var txCapacity = context.GetInt("transactionCapacity", d.TransactionCapacity, 1);
        var byteCapacity = context.GetLong("byteCapacity", d.ByteCapacity, 0);
        var buffer = context.GetInt("byteCapacityBufferPercentage", d.ByteCapacityBufferPercentage, 0, 99);
        var keepAlive = context.GetInt("keep-alive", (int)d.KeepAlive.TotalSeconds, 0);
        if (txCapacity > capacity)
        {
            context.AddError("transactionCapacity", $"{txCapacity} is higher than the channel's capacity {capacity} (allowed: <= capacity)");
        }
        return new MemoryChannelOptions(capacity, txCapacity, byteCapacity, buffer, TimeSpan.FromSeconds(keepAlive));
    }
}

/// <summary>
/// Flume's memory channel: a bounded in-memory queue with explicit put/take transactions. Puts are buffered in the
/// transaction and appended under one lock at commit (waiting up to keep-alive for room); takes remove events one at a
/// time and reserve their room until the take commits; a rolled-back take returns its events to the head in order.
/// Non-durable: events are lost when the process ends.
/// </summary>
/// <remarks>Thread-safe: any number of transactions may run concurrently. Body bytes are accounted in 100-byte slots as
/// in Flume.</remarks>
public sealed class MemoryChannel : IChannel, ITransactionCapacity, IChannelEventsSignal
{
    /// <summary>Flume's byteCapacitySlotSize.</summary>
    private const int SlotSize = 100;

    private readonly Lock _lock = new();
    private readonly Deque<Event> _queue;
    private readonly long _byteSlotsCapacity;
    private readonly ChannelCounter _counter;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private long _reservedTakes;
    private long _usedByteSlots;
    private TaskCompletionSource _space = NewSignal();
    private readonly PutSignal _puts = new();

    /// <summary>Creates a memory channel.</summary>
    public MemoryChannel(string name, MemoryChannelOptions options, ChannelCounter? counter = null, TimeProvider? clock = null, ILogger? logger = null)
    {
        Name = name;
        Options = options;
        _counter = counter ?? new ChannelCounter(name);
        _clock = clock ?? TimeProvider.System;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _queue = new Deque<Event>((int)Math.Min(options.Capacity, 1024));
        var bytes = options.ByteCapacity <= 0 ? 200L * 1024 * 1024 * 1024 : options.ByteCapacity;
        _byteSlotsCapacity = Math.Max(1, (long)(bytes * (1 - options.ByteCapacityBufferPercentage / 100.0)) / SlotSize);
        _counter.Bind(() => Size, options.Capacity);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The settings.</summary>
    public MemoryChannelOptions Options { get; }

    /// <inheritdoc />
    public long Capacity => Options.Capacity;

    /// <inheritdoc />
    public int TransactionCapacity => Options.TransactionCapacity;

    /// <inheritdoc />
    public long Size
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>The counter this channel increments.</summary>
    public ChannelCounter Counter => _counter;

    /// <inheritdoc />
    public IChannelTransaction BeginTransaction() => new Transaction(this);

    /// <inheritdoc />
    public long PutGeneration
    {
        get
        {
            lock (_lock)
            {
                return _puts.Generation;
            }
        }
    }

    /// <inheritdoc />
    public Task WaitForEventsAsync(long afterGeneration, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _puts.WaitAsync(afterGeneration, cancellationToken);
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _counter.Bind(() => Size, Options.Capacity);
        _counter.Start(_clock);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _counter.Stop(_clock);
        var left = Size;
        if (left > 0)
        {
            _logger.LogWarning(new EventId(2101, "MemoryChannelStopped"), "Memory channel {Channel} stopped with {Events} events that were not delivered", Name, left);
        }
        return Task.CompletedTask;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static long Slots(Event e) => (e.Body.Length + SlotSize - 1) / SlotSize;

    /// <summary>Appends the put list if there is room; otherwise returns the signal that fires when room is freed.</summary>
    private bool TryAppend(List<Event> puts, long slots, out Task roomFreed)
    {
        roomFreed = Task.CompletedTask;
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            if (_queue.Count + _reservedTakes + puts.Count > Options.Capacity || _usedByteSlots + slots > _byteSlotsCapacity)
            {
                roomFreed = _space.Task;
                return false;
            }
            foreach (var e in puts)
            {
                _queue.AddLast(e);
            }
            _usedByteSlots += slots;
            wake = _puts.Advance();
        }
        wake?.TrySetResult();
        return true;
    }

    private Event? TakeOne()
    {
        lock (_lock)
        {
            if (_queue.Count == 0)
            {
                return null;
            }
            _reservedTakes++;
            return _queue.RemoveFirst();
        }
    }

    private void CommitTakes(List<Event> takes, long slots)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            _reservedTakes -= takes.Count;
            _usedByteSlots -= slots;
            signal = _space;
            _space = NewSignal();
        }
        signal.TrySetResult();
    }

    private void ReturnTakes(List<Event> takes)
    {
        lock (_lock)
        {
            for (var i = takes.Count - 1; i >= 0; i--)
            {
                _queue.AddFirst(takes[i]);
            }
            _reservedTakes -= takes.Count;
        }
    }

    private sealed class Transaction(MemoryChannel channel) : ChannelTransactionBase
    {
        private readonly List<Event> _events = [];
        private long _slots;

        protected override void DoPut(Event @event)
        {
            channel._counter.AddPutAttempt();
            if (_events.Count >= channel.Options.TransactionCapacity)
            {
                throw new ChannelException($"Put queue for MemoryTransaction of capacity {channel.Options.TransactionCapacity} full, consider committing more frequently, increasing capacity or increasing thread count");
            }
            _events.Add(@event);
            _slots += Slots(@event);
        }

        protected override Event? DoTake()
        {
            channel._counter.AddTakeAttempt();
            if (_events.Count >= channel.Options.TransactionCapacity)
            {
                throw new ChannelException($"Take list for MemoryTransaction, capacity {channel.Options.TransactionCapacity} full, consider committing more frequently, increasing capacity, or increasing thread count");
            }
            var e = channel.TakeOne();
            if (e is not null)
            {
                _events.Add(e);
                _slots += Slots(e);
            }
            return e;
        }

        protected override async ValueTask DoCommitAsync(CancellationToken cancellationToken)
        {
            if (_events.Count == 0)
            {
                return;
            }
            if (!IsPut)
            {
                channel.CommitTakes(_events, _slots);
                channel._counter.AddTakeSuccess(_events.Count);
                _events.Clear();
                return;
            }
            if (_events.Count > channel.Options.Capacity || _slots > channel._byteSlotsCapacity)
            {
                throw Full();
            }
            var deadline = channel._clock.GetTimestamp() + (long)(channel.Options.KeepAlive.TotalSeconds * channel._clock.TimestampFrequency);
            while (true)
            {
                if (channel.TryAppend(_events, _slots, out var wait))
                {
                    break;
                }
                var remaining = channel._clock.GetElapsedTime(channel._clock.GetTimestamp(), deadline);
                if (channel._clock.GetTimestamp() >= deadline || remaining <= TimeSpan.Zero)
                {
                    throw Full();
                }
                try
                {
                    await wait.WaitAsync(remaining, channel._clock, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Loop once more: the last attempt decides.
                }
            }
            channel._counter.AddPutSuccess(_events.Count);
            _events.Clear();
        }

        protected override ValueTask DoRollbackAsync(CancellationToken cancellationToken)
        {
            if (!IsPut && _events.Count > 0)
            {
                channel.ReturnTakes(_events);
            }
            _events.Clear();
            return ValueTask.CompletedTask;
        }

        private static ChannelFullException Full() =>
            new("Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with sources, or the buffer size is too tight");
    }
}
