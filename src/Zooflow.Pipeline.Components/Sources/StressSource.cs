using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Flume's load generator <c>org.apache.flume.source.StressSource</c>: the same event of <c>size</c> bytes (default 500)
/// delivered in batches of <c>batchSize</c> (default 1), until <c>maxTotalEvents</c> attempts or
/// <c>maxSuccessfulEvents</c> commits (-1 = unlimited), at most <c>maxEventsPerSecond</c> (0 = unlimited).
/// </summary>
/// <remarks>As in Flume, a refused batch counts as failed (not retried) and the poll returns Backoff.</remarks>
public sealed class StressSource : IPollableSource, IBatchSized
{
    private readonly ILogger _logger;
    private readonly Event[] _batch;
    private readonly TimeProvider _timeProvider;
    private readonly SourceCounter _counter;
    private IEventSink? _output;
    private long _attempted;
    private long _successful;
    private long _failed;
    private long _rateStartTimestamp;

    /// <summary>Reads <c>size</c>, <c>maxTotalEvents</c>, <c>maxSuccessfulEvents</c>, <c>batchSize</c>, <c>maxEventsPerSecond</c>.</summary>
    public StressSource(string name, ComponentContext context)
    {
        Name = name;
        _timeProvider = context.Clock;
        _counter = context.Counters.Source(name);
        var size = context.GetInt("size", 500, 0, 64 * 1024 * 1024);
        MaxTotalEvents = context.GetLong("maxTotalEvents", -1, -1);
        MaxSuccessfulEvents = context.GetLong("maxSuccessfulEvents", -1, -1);
        BatchSize = context.GetInt("batchSize", 1, 1, 1_000_000);
        MaxEventsPerSecond = context.GetInt("maxEventsPerSecond", 0, 0);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.StressSource");

        var body = new byte[size];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)('a' + (i % 26));
        }
        var stressEvent = new Event(body);
        _batch = new Event[BatchSize];
        Array.Fill(_batch, stressEvent);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Events per transaction (<c>batchSize</c>).</summary>
    public int BatchSize { get; }

    /// <summary><c>maxTotalEvents</c>; -1 = unlimited.</summary>
    public long MaxTotalEvents { get; }

    /// <summary><c>maxSuccessfulEvents</c>; -1 = unlimited.</summary>
    public long MaxSuccessfulEvents { get; }

    /// <summary><c>maxEventsPerSecond</c>; 0 = unlimited.</summary>
    public int MaxEventsPerSecond { get; }

    /// <summary>Events committed so far.</summary>
    public long Successful => Interlocked.Read(ref _successful);

    /// <summary>Events in refused batches so far.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        _rateStartTimestamp = _timeProvider.GetTimestamp();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _logger.LogInformation("Stress source {Source} stopped: {Successful} successful, {Failed} failed", Name, Successful, Failed);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> PollAsync(CancellationToken cancellationToken)
    {
        var output = _output ?? throw new InvalidOperationException($"Source {Name}: Output is not set");
        if ((MaxTotalEvents >= 0 && _attempted >= MaxTotalEvents) || (MaxSuccessfulEvents >= 0 && _successful >= MaxSuccessfulEvents))
        {
            return ProcessStatus.Backoff;
        }
        var count = BatchSize;
        if (MaxTotalEvents >= 0)
        {
            count = (int)Math.Min(count, MaxTotalEvents - _attempted);
        }
        if (MaxEventsPerSecond > 0)
        {
            // Simple pacing: event number N may leave no earlier than N / rate seconds after start.
            var due = TimeSpan.FromSeconds((double)(_attempted + count) / MaxEventsPerSecond);
            var elapsed = _timeProvider.GetElapsedTime(_rateStartTimestamp);
            if (due > elapsed)
            {
                await Task.Delay(due - elapsed, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        IReadOnlyList<Event> batch = count == _batch.Length ? _batch : new ArraySegment<Event>(_batch, 0, count);
        _attempted += count;
        _counter.AddEventReceived(count);
        _counter.AddAppendBatchReceived();
        try
        {
            await output.ProcessBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelException ex)
        {
            _counter.AddChannelWriteFail();
            Interlocked.Add(ref _failed, count);
            _logger.LogDebug("Stress source {Source}: batch refused ({Reason})", Name, ex.Message);
            return ProcessStatus.Backoff;
        }
        Interlocked.Add(ref _successful, count);
        _counter.AddEventAccepted(count);
        _counter.AddAppendBatchAccepted();
        Debug.Assert(_successful + _failed == _attempted, "every attempted event is either successful or failed");
        return ProcessStatus.Ready;
    }
}
