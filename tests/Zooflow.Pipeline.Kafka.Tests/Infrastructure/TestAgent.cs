using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Pipeline.Kafka.Tests.Infrastructure;

/// <summary>
/// An agent run in the test process from a Flume properties text, exactly as <c>zooflow agent</c> builds it (parser,
/// validation, the built-in and Kafka components, <see cref="AgentHost"/>), plus the test-only <c>collect</c> sink.
/// Runner backoff is shortened so that recovery shows within seconds.
/// </summary>
internal sealed class TestAgent : IAsyncDisposable
{
    private TestAgent(AgentHost host, CounterRegistry counters, CapturingLogger logs, AgentBuildResult result)
    {
        Host = host;
        Counters = counters;
        Logs = logs;
        Result = result;
    }

    public AgentHost Host { get; }

    public CounterRegistry Counters { get; }

    public CapturingLogger Logs { get; }

    public AgentBuildResult Result { get; }

    /// <summary>The registry <c>zooflow agent</c> uses, plus the collect sink.</summary>
    public static ComponentRegistry Registry() =>
        ComponentRegistry.CreateDefault(BuiltInComponents.All().Concat(KafkaComponents.All()).Append(CollectSink.Type));

    /// <summary>Validates <paramref name="config"/> (agent a1) without starting anything.</summary>
    public static AgentBuildResult Validate(string config, CapturingLogger? logs = null) =>
        AgentLoader.Load(new ConfigSource(config, "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>()), "a1", Registry(),
            new BuildSettings(false, "flume.conf", logs ?? new CapturingLogger(), new CounterRegistry(), TimeProvider.System));

    public static async Task<TestAgent> StartAsync(string config, TimeSpan? maxBackoff = null)
    {
        var logs = new CapturingLogger();
        var counters = new CounterRegistry();
        var result = AgentLoader.Load(new ConfigSource(config, "flume.conf", new Dictionary<string, string>(), new Dictionary<string, string>()), "a1", Registry(),
            new BuildSettings(false, "flume.conf", logs, counters, TimeProvider.System));
        Assert.False(result.HasErrors, "configuration errors: " + string.Join("\n", result.Errors));
        var runner = new RunnerOptions(TimeSpan.FromMilliseconds(20), maxBackoff ?? TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
        var host = new AgentHost(new AgentHostOptions(runner, TimeSpan.FromSeconds(5)), counters, logs);
        await host.StartAsync(result.Plan, CancellationToken.None);
        return new TestAgent(host, counters, logs, result);
    }

    public CollectSink Collector(string name = "k1") => (CollectSink)Host.Sinks[name];

    /// <summary>Polls <paramref name="condition"/> until true or <paramref name="limit"/> passes (no event to await).</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan limit, Func<string> describe) =>
        WaitUntilAsync(() => Task.FromResult(condition()), limit, describe);

    /// <summary>Polls an asynchronous <paramref name="condition"/> (e.g. an HTTP request) until true or <paramref name="limit"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {limit.TotalSeconds:0} s: {describe()}");
            }
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(2));
        await Host.DisposeAsync();
    }
}

/// <summary>Captures every log line (all levels) so tests can assert what an operator would read.</summary>
internal sealed class CapturingLogger : ILoggerFactory, ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Lines => [.. _lines];

    public bool Contains(LogLevel level, string text) => _lines.Any(l => l.Level >= level && l.Message.Contains(text, StringComparison.Ordinal));

    public string Dump() => string.Join("\n", _lines.Select(l => $"{l.Level} {l.Category}: {l.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._lines.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " | " + exception.Message)));
            }
        }
    }
}

/// <summary>
/// Test sink <c>collect</c>: takes batches of <c>batchSize</c> (default 100) and keeps every event it committed;
/// <c>failBatches = N</c> makes it roll back its first N non-empty batches (to exercise channel rollback).
/// </summary>
internal sealed class CollectSink(string name, int batchSize, int failBatches, bool paused) : ISink, IBatchSized
{
    public static readonly ComponentType Type = new(ComponentKind.Sink, "collect", [],
        static (name, context) => new CollectSink(name, context.GetInt("batchSize", 100, 1), context.GetInt("failBatches", 0, 0), context.GetBool("paused", false)));

    private readonly ConcurrentQueue<Event> _events = new();
    private int _failuresLeft = failBatches;

    public string Name => name;

    public int BatchSize => batchSize;

    public IChannel Channel { get; set; } = null!;

    public IReadOnlyList<Event> Events => [.. _events];

    public int Count => _events.Count;

    public long RolledBack;

    /// <summary>While true the sink takes nothing (the channel fills up).</summary>
    public volatile bool Paused = paused;

    /// <summary>Bodies as text, for set comparisons.</summary>
    public List<string> Bodies() => Events.Select(e => System.Text.Encoding.UTF8.GetString(e.Body.Span)).ToList();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        if (Paused)
        {
            return ProcessStatus.Backoff;
        }
        var transaction = Channel.BeginTransaction();
        await using (transaction)
        {
            var batch = new List<Event>();
            while (batch.Count < batchSize && transaction.Take() is { } e)
            {
                batch.Add(e);
            }
            if (batch.Count > 0 && Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                Interlocked.Add(ref RolledBack, batch.Count);
                throw new EventDeliveryException($"collect sink {name}: failing a batch of {batch.Count} on purpose");
            }
            await transaction.CommitAsync(cancellationToken);
            foreach (var e in batch)
            {
                _events.Enqueue(e);
            }
            return batch.Count == 0 ? ProcessStatus.Backoff : ProcessStatus.Ready;
        }
    }
}
