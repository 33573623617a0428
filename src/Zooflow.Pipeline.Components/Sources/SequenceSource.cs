using System.Globalization;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Flume's <c>seq</c> source (<c>SequenceGeneratorSource</c>): events whose body is a decimal counter starting at 0,
/// <c>batchSize</c> (default 1) per poll, until <c>totalEvents</c> (default unlimited) were delivered.
/// </summary>
/// <remarks>
/// A batch refused by the channel is retried with the same bodies on the next poll (the counter only advances on commit),
/// so the output is gap-free. Pollable: the runner calls <see cref="PollAsync"/>; Backoff once all events were sent.
/// </remarks>
public sealed class SequenceSource : IPollableSource, IBatchSized
{
    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly List<Event> _batch;
    private IEventSink? _output;
    private long _sent;

    /// <summary>Reads <c>batchSize</c> and <c>totalEvents</c>.</summary>
    public SequenceSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        BatchSize = context.GetInt("batchSize", 1, 1);
        TotalEvents = context.GetLong("totalEvents", long.MaxValue, 0);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.SequenceSource");
        _batch = new List<Event>(Math.Min(BatchSize, 10_000));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Events per transaction (<c>batchSize</c>).</summary>
    public int BatchSize { get; }

    /// <summary>How many events to generate in total (<c>totalEvents</c>).</summary>
    public long TotalEvents { get; }

    /// <summary>Events committed so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _logger.LogInformation("Sequence source {Source} stopped after {Sent} events", Name, Sent);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> PollAsync(CancellationToken cancellationToken)
    {
        var output = _output ?? throw new InvalidOperationException($"Source {Name}: Output is not set");
        var next = _sent;
        var count = (int)Math.Min(BatchSize, TotalEvents - next);
        if (count <= 0)
        {
            return ProcessStatus.Backoff;
        }
        _batch.Clear();
        Span<byte> digits = stackalloc byte[20];
        for (var i = 0; i < count; i++)
        {
            (next + i).TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
            _batch.Add(new Event(digits[..written].ToArray()));
        }
        _counter.AddEventReceived(count);
        _counter.AddAppendBatchReceived();
        try
        {
            await output.ProcessBatchAsync(_batch, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelException ex)
        {
            _counter.AddChannelWriteFail();
            _logger.LogDebug("Sequence source {Source}: batch at {Next} refused ({Reason}); retrying", Name, next, ex.Message);
            return ProcessStatus.Backoff;
        }
        Interlocked.Exchange(ref _sent, next + count);
        _counter.AddEventAccepted(count);
        _counter.AddAppendBatchAccepted();
        return ProcessStatus.Ready;
    }

    /// <summary>The body the source gives event number <paramref name="index"/> (for tests and docs).</summary>
    internal static string BodyOf(long index) => index.ToString(CultureInfo.InvariantCulture);

}
