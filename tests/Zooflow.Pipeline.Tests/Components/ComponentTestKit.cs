using Xunit;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>Small helpers for the component tests: contexts, outputs, channels, temp dirs, bounded waits.</summary>
internal static class ComponentTestKit
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    /// <summary>A context for component <c>a1.&lt;kind&gt;.&lt;name&gt;.</c> with the given properties.</summary>
    public static ComponentContext Context(string prefix, IEnumerable<KeyValuePair<string, string>> properties, List<ConfigError>? errors = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? clock = null, CounterRegistry? counters = null)
    {
        var values = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        var line = 1;
        foreach (var (key, value) in properties)
        {
            values[key] = new ConfigValue(value, $"test.conf:{line++}");
        }
        return new ComponentContext(prefix, values, errors ?? [], loggerFactory ?? NullLoggerFactory.Instance)
        {
            Clock = clock ?? TimeProvider.System,
            Counters = counters ?? new CounterRegistry(),
        };
    }

    public static ComponentContext Context(string prefix, params (string Key, string Value)[] properties) =>
        Context(prefix, properties.Select(p => KeyValuePair.Create(p.Key, p.Value)));

    public static MemoryChannel Channel(long capacity = 10_000, int transactionCapacity = 1_000, int keepAliveMs = 3_000) =>
        new("c1", new MemoryChannelOptions(capacity, transactionCapacity, 0, 20, TimeSpan.FromMilliseconds(keepAliveMs)));

    /// <summary>Takes everything committed, <paramref name="perTransaction"/> events per take transaction.</summary>
    public static async Task<List<Event>> DrainAsync(IChannel channel, int perTransaction = 1_000)
    {
        var events = new List<Event>();
        while (true)
        {
            var taken = 0;
            var tx = channel.BeginTransaction();
            await using (tx)
            {
                while (taken < perTransaction && tx.Take() is { } e)
                {
                    events.Add(e);
                    taken++;
                }
                await tx.CommitAsync();
            }
            if (taken < perTransaction)
            {
                return events;
            }
        }
    }

    public static async Task PutAsync(IChannel channel, params Event[] events)
    {
        var tx = channel.BeginTransaction();
        await using (tx)
        {
            foreach (var e in events)
            {
                tx.Put(e);
            }
            await tx.CommitAsync();
        }
    }

    public static string Text(Event e) => System.Text.Encoding.UTF8.GetString(e.Body.Span);

    public static Event TextEvent(string body, params (string Key, string Value)[] headers) =>
        new(System.Text.Encoding.UTF8.GetBytes(body), headers.Length == 0 ? null : headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.Ordinal));

    /// <summary>Polls <paramref name="condition"/> until true or <see cref="WaitLimit"/> passes (then fails the test).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {WaitLimit.TotalSeconds} s waiting for {what}");
            }
            await Task.Delay(10);
        }
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "zooflow-components-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>An output that puts every batch into a channel in one transaction (what a ChannelProcessor does for one
/// required channel), so channel-full refusals reach the source as in the agent.</summary>
internal sealed class ChannelOutput(IChannel channel) : IEventSink
{
    public int Refusals;

    public async ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var tx = channel.BeginTransaction();
        await using (tx)
        {
            try
            {
                foreach (var e in events)
                {
                    tx.Put(e);
                }
                await tx.CommitAsync(cancellationToken);
            }
            catch (ChannelException)
            {
                Interlocked.Increment(ref Refusals);
                await tx.RollbackAsync(CancellationToken.None);
                throw;
            }
        }
    }
}

/// <summary>An output that records batches; the first <see cref="FailFirst"/> calls throw ChannelFullException.</summary>
internal sealed class RecordingOutput : IEventSink
{
    public readonly ConcurrentQueue<Event> Events = new();
    public readonly ConcurrentQueue<int> BatchSizes = new();
    public int FailFirst;
    private int _calls;

    public ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _calls) <= FailFirst)
        {
            throw new ChannelFullException("test: full");
        }
        BatchSizes.Enqueue(events.Count);
        foreach (var e in events)
        {
            Events.Enqueue(e);
        }
        return ValueTask.CompletedTask;
    }

    public string[] Texts() => Events.Select(ComponentTestKit.Text).ToArray();
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = DateTimeOffset.UnixEpoch.AddYears(56).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Captures formatted log messages.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory, ILogger
{
    public readonly ConcurrentQueue<string> Messages = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Enqueue(formatter(state, exception));
}
