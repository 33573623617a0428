using System.Globalization;
using System.Text;
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
/// <para><b>Resumable</b> (our extension; Flume's seq always starts at 0): when the runtime gives it a progress store
/// (a <c>singleton</c> source of a coordinated agent), it starts from the saved counter and saves the next counter after
/// every committed batch, so a takeover continues the sequence with at most one batch repeated. Progress grammar:
/// <c>next=&lt;decimal counter&gt;</c> in ASCII.</para>
/// </remarks>
public sealed class SequenceSource : IPollableSource, IBatchSized, IResumableSource
{
    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly List<Event> _batch;
    private IEventSink? _output;
    private ISourceProgressStore? _progress;
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
    public ISourceProgressStore Progress { set => _progress = value; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        if (_progress is not null && await _progress.LoadAsync(cancellationToken).ConfigureAwait(false) is { } saved)
        {
            var next = ParseProgress(saved) ?? throw new InvalidDataException(
                $"Source {Name}: the progress at {_progress.Location} is not 'next=<counter>' ({saved.Length} bytes); fix or delete it");
            Interlocked.Exchange(ref _sent, next);
            _logger.LogInformation("Sequence source {Source} resumes at {Next} from {Location}", Name, next, _progress.Location);
        }
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
        if (_progress is not null)
        {
            // Only after the commit: a crash before this line repeats this one batch, never loses it.
            await _progress.SaveAsync(FormatProgress(next + count), cancellationToken).ConfigureAwait(false);
        }
        return ProcessStatus.Ready;
    }

    /// <summary>The progress bytes for counter <paramref name="next"/>: <c>next=&lt;decimal&gt;</c>.</summary>
    internal static byte[] FormatProgress(long next) => Encoding.ASCII.GetBytes("next=" + next.ToString(CultureInfo.InvariantCulture));

    /// <summary>Parses <c>next=&lt;decimal&gt;</c>; null when malformed.</summary>
    internal static long? ParseProgress(ReadOnlySpan<byte> progress)
    {
        var text = Encoding.ASCII.GetString(progress);
        return text.StartsWith("next=", StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var next) ? next : null;
    }

    /// <summary>The body the source gives event number <paramref name="index"/> (for tests and docs).</summary>
    internal static string BodyOf(long index) => index.ToString(CultureInfo.InvariantCulture);

}
