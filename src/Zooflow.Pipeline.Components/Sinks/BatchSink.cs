using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sinks;

/// <summary>
/// The take-write-commit cycle shared by the built-in sinks: take up to <see cref="BatchSize"/> events inside one take
/// transaction, hand each to <see cref="Write"/>, let <see cref="CompleteBatchAsync"/> make the batch durable downstream
/// (flush), and only then commit. Any failure rolls the whole batch back into the channel and surfaces as
/// <see cref="EventDeliveryException"/>; cancellation rolls back and propagates.
/// </summary>
/// <remarks>Not re-entrant: a sink runner calls <see cref="ProcessAsync"/> from one logical flow at a time.</remarks>
public abstract class BatchSink : ISink, IBatchSized
{
    private IChannel? _channel;
    private int _lifecycle;

    /// <summary>Sets the name and batch size and takes the sink's counter from the context.</summary>
    protected BatchSink(string name, int batchSize, ComponentContext context)
    {
        Name = name;
        BatchSize = batchSize;
        Counter = context.Counters.Sink(name);
    }

    /// <summary>Flume's SinkCounter of this sink (served at <c>/metrics</c> as <c>SINK.name</c>).</summary>
    public SinkCounter Counter { get; }

    /// <inheritdoc />
    public virtual string BatchSizeKey => "batchSize";

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Most events per take transaction; validated against the channel's transactionCapacity.</summary>
    public int BatchSize { get; }

    /// <inheritdoc />
    public IChannel Channel
    {
        get => _channel ?? throw new InvalidOperationException($"Sink {Name}: Channel is not set");
        set => _channel = value;
    }

    /// <summary>Events written and committed so far.</summary>
    public long EventsDrained => Interlocked.Read(ref _eventsDrained);

    private long _eventsDrained;

    /// <inheritdoc />
    public virtual Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            throw new InvalidOperationException($"Sink {Name} was already started");
        }
        _ = Channel;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public virtual Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lifecycle, 2);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        var channel = Channel;
        try
        {
            await BeforeBatchAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            OnBatchFailed(ex);
            throw new EventDeliveryException($"Sink {Name}: cannot prepare its output: {ex.Message}", ex);
        }
        try
        {
            var transaction = channel.BeginTransaction();
            await using (transaction.ConfigureAwait(false))
            {
                var count = 0;
                try
                {
                    while (count < BatchSize && transaction.Take() is { } taken)
                    {
                        count++;
                        Write(taken);
                    }
                    Counter.Batch(count, BatchSize);
                    if (count > 0)
                    {
                        Counter.AddDrainAttempt(count);
                        await CompleteBatchAsync(cancellationToken).ConfigureAwait(false);
                    }
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    if (ex is not OperationCanceledException)
                    {
                        Counter.AddEventWriteFail();
                    }
                    await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                    OnBatchFailed(ex);
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }
                    throw new EventDeliveryException($"Sink {Name}: failed to deliver a batch of {count} events: {ex.Message}", ex);
                }
                Interlocked.Add(ref _eventsDrained, count);
                if (count > 0)
                {
                    Counter.AddDrainSuccess(count);
                }
                return count == 0 ? ProcessStatus.Backoff : ProcessStatus.Ready;
            }
        }
        finally
        {
            AfterBatch();
        }
    }

    /// <summary>Runs before the take transaction opens (e.g. roll or open the output file); throwing fails the batch.</summary>
    protected virtual ValueTask BeforeBatchAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Runs after every batch whose <see cref="BeforeBatchAsync"/> succeeded (committed, rolled back or empty),
    /// e.g. to release a lock taken there.</summary>
    protected virtual void AfterBatch()
    {
    }

    /// <summary>Writes one taken event downstream (buffered).</summary>
    protected abstract void Write(Event @event);

    /// <summary>Makes the written batch reach its destination; the take commits only after this returns.</summary>
    protected virtual ValueTask CompleteBatchAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Called after a failed batch was rolled back (e.g. to discard a half-written output).</summary>
    protected virtual void OnBatchFailed(Exception exception)
    {
    }
}
