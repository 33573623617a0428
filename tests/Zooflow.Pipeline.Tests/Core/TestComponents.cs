using Xunit;
using System.Collections.Concurrent;
using System.Text;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Tests.Core;

/// <summary>Shared state of the in-test components of one test (no statics: each test makes its own world).</summary>
public sealed class TestWorld
{
    /// <summary>Lifecycle entries like "start channel c1", in order.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>Bodies delivered by sinks, per sink name.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<string>> Delivered { get; } = new();

    /// <summary>Names of sinks that currently fail every batch.</summary>
    public ConcurrentDictionary<string, bool> FailingSinks { get; } = new();

    /// <summary>How many more start attempts of a component should fail.</summary>
    public ConcurrentDictionary<string, int> FailStarts { get; } = new();

    /// <summary>Event-driven sources by name (latest instance).</summary>
    public ConcurrentDictionary<string, ManualSource> Sources { get; } = new();

    /// <summary>Bodies delivered by <paramref name="sink"/>.</summary>
    public IReadOnlyList<string> DeliveredBy(string sink) => Delivered.TryGetValue(sink, out var q) ? q.ToArray() : [];

    /// <summary>All delivered bodies.</summary>
    public IReadOnlyList<string> AllDelivered() => Delivered.Values.SelectMany(q => q).ToArray();

    /// <summary>Test types: source <c>manual</c> (event-driven, pushed by the test), source <c>counting</c>
    /// (pollable; <c>total</c>, <c>batchSize</c>), sink <c>collect</c> (<c>batchSize</c>), channel <c>recording</c>
    /// (a memory channel that logs its lifecycle).</summary>
    public IEnumerable<ComponentType> Types()
    {
        yield return new ComponentType(ComponentKind.Source, "manual", [], (name, ctx) => new ManualSource(name, this));
        yield return new ComponentType(ComponentKind.Source, "counting", ["org.example.CountingSource"],
            (name, ctx) => new CountingSource(name, ctx.GetInt("total", 10, 0), ctx.GetInt("batchSize", 1, 1), this));
        yield return new ComponentType(ComponentKind.Sink, "collect", ["friendly-collect"],
            (name, ctx) => new CollectingSink(name, ctx.GetInt("batchSize", 100, 1), this));
        yield return new ComponentType(ComponentKind.Channel, "recording", [],
            (name, ctx) => new RecordingChannel(new Zooflow.Pipeline.Channels.MemoryChannel(name, Zooflow.Pipeline.Channels.MemoryChannelOptions.FromContext(ctx), ctx.Counters.Channel(name)), this));
    }

    /// <summary>A registry with the core types and the test types.</summary>
    public ComponentRegistry Registry() => ComponentRegistry.CreateDefault(Types());

    internal void Started(string what)
    {
        Log.Enqueue("start " + what);
        if (FailStarts.TryGetValue(what, out var n) && n > 0)
        {
            FailStarts[what] = n - 1;
            throw new InvalidOperationException("injected start failure of " + what);
        }
    }
}

/// <summary>An event-driven source the test feeds through <c>SendAsync</c>.</summary>
public sealed class ManualSource(string name, TestWorld world) : IEventDrivenSource
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public IEventSink Output { get; set; } = null!;

    /// <summary>Delivers bodies as one batch.</summary>
    public ValueTask SendAsync(params string[] bodies) =>
        Output.ProcessBatchAsync(bodies.Select(b => new Event(Encoding.UTF8.GetBytes(b))).ToArray(), TestContext.Current.CancellationToken);

    /// <summary>Delivers events as one batch.</summary>
    public ValueTask SendAsync(IReadOnlyList<Event> events) => Output.ProcessBatchAsync(events, TestContext.Current.CancellationToken);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        world.Started("source " + name);
        world.Sources[name] = this;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        world.Log.Enqueue("stop source " + name);
        return Task.CompletedTask;
    }
}

/// <summary>A pollable source producing "0", "1", ... up to <c>total</c> events in batches.</summary>
public sealed class CountingSource(string name, int total, int batchSize, TestWorld world) : IPollableSource, IBatchSized
{
    private int _next;

    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public int BatchSize => batchSize;

    /// <inheritdoc />
    public IEventSink Output { get; set; } = null!;

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> PollAsync(CancellationToken cancellationToken)
    {
        if (_next >= total)
        {
            return ProcessStatus.Backoff;
        }
        var n = Math.Min(batchSize, total - _next);
        var batch = Enumerable.Range(_next, n).Select(i => new Event(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
        await Output.ProcessBatchAsync(batch, cancellationToken);
        _next += n;
        return ProcessStatus.Ready;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        world.Started("source " + name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        world.Log.Enqueue("stop source " + name);
        return Task.CompletedTask;
    }
}

/// <summary>A sink that records bodies (commits after recording), or fails while listed in FailingSinks.</summary>
public sealed class CollectingSink(string name, int batchSize, TestWorld world) : ISink, IBatchSized
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public int BatchSize => batchSize;

    /// <inheritdoc />
    public IChannel Channel { get; set; } = null!;

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        await using var tx = Channel.BeginTransaction();
        var batch = new List<string>();
        for (var i = 0; i < batchSize; i++)
        {
            var e = tx.Take();
            if (e is null)
            {
                break;
            }
            batch.Add(Encoding.UTF8.GetString(e.Body.Span));
        }
        if (world.FailingSinks.ContainsKey(name))
        {
            await tx.RollbackAsync(cancellationToken);
            throw new EventDeliveryException($"sink {name} is down");
        }
        var queue = world.Delivered.GetOrAdd(name, _ => new ConcurrentQueue<string>());
        foreach (var body in batch)
        {
            queue.Enqueue(body);
        }
        await tx.CommitAsync(cancellationToken);
        return batch.Count == 0 ? ProcessStatus.Backoff : ProcessStatus.Ready;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        world.Started("sink " + name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        world.Log.Enqueue("stop sink " + name);
        return Task.CompletedTask;
    }
}

/// <summary>A memory channel that records its lifecycle.</summary>
public sealed class RecordingChannel(Zooflow.Pipeline.Channels.MemoryChannel inner, TestWorld world) : IChannel, ITransactionCapacity
{
    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public long Size => inner.Size;

    /// <inheritdoc />
    public long Capacity => inner.Capacity;

    /// <inheritdoc />
    public int TransactionCapacity => inner.TransactionCapacity;

    /// <inheritdoc />
    public IChannelTransaction BeginTransaction() => inner.BeginTransaction();

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        world.Started("channel " + Name);
        return inner.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        world.Log.Enqueue("stop channel " + Name);
        return inner.StopAsync(cancellationToken);
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = TimeSpan.FromDays(20000).Ticks;

    /// <summary>Moves time forward.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    /// <inheritdoc />
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
}

/// <summary>Small helpers.</summary>
public static class TestUtil
{
    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; fails the test otherwise.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, int timeoutMs = 10000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting for " + what);
            }
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The test's cancellation token.</summary>
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An event with a UTF-8 body.</summary>
    public static Event Ev(string body, params (string Key, string Value)[] headers) =>
        new(Encoding.UTF8.GetBytes(body), headers.ToDictionary(h => h.Key, h => h.Value));

    /// <summary>The UTF-8 body of <paramref name="e"/>.</summary>
    public static string Body(Event e) => Encoding.UTF8.GetString(e.Body.Span);
}
