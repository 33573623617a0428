using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Delivers a batch to a source's output and, when a required channel refuses it (<see cref="ChannelException"/>,
/// typically <see cref="ChannelFullException"/>), waits and retries the same batch instead of dropping it. While this
/// runs the calling source reads nothing more from its input, so the sender is slowed down (TCP window, pipe buffer):
/// back-pressure instead of unbounded memory or loss.
/// </summary>
internal static class BackPressure
{
    /// <summary>First wait after a refusal; doubles up to <see cref="MaxDelayMs"/>.</summary>
    internal const int InitialDelayMs = 5;

    /// <summary>Cap of the wait between retries: short enough to resume quickly once sinks catch up.</summary>
    internal const int MaxDelayMs = 500;

    /// <summary>
    /// Delivers <paramref name="batch"/>, retrying until it is committed or <paramref name="cancellationToken"/> is
    /// cancelled (then <see cref="OperationCanceledException"/> propagates). A refusal that is not "channel full" (e.g. the
    /// batch exceeds the channel's transactionCapacity) splits the batch in halves, delivered in order, so a source whose
    /// default batch is larger than a small transaction capacity still works as in Flume. Returns the refusals seen.
    /// </summary>
    public static async ValueTask<int> DeliverAsync(IEventSink output, IReadOnlyList<Event> batch, SourceCounter counter, ILogger logger, string sourceName, CancellationToken cancellationToken)
    {
        counter.AddEventReceived(batch.Count);
        counter.AddAppendBatchReceived();
        var refusals = await DeliverPartAsync(output, batch, counter, logger, sourceName, cancellationToken).ConfigureAwait(false);
        counter.AddAppendBatchAccepted();
        return refusals;
    }

    private static async ValueTask<int> DeliverPartAsync(IEventSink output, IReadOnlyList<Event> batch, SourceCounter counter, ILogger logger, string sourceName, CancellationToken cancellationToken)
    {
        var refusals = 0;
        var delayMs = InitialDelayMs;
        while (true)
        {
            try
            {
                await output.ProcessBatchAsync(batch, cancellationToken).ConfigureAwait(false);
                counter.AddEventAccepted(batch.Count);
                if (refusals > 0)
                {
                    logger.LogInformation("Source {Source}: channel accepted the batch of {Count} events after {Refusals} refusals", sourceName, batch.Count, refusals);
                }
                return refusals;
            }
            catch (ChannelException ex) when (ex is not ChannelFullException && batch.Count > 1)
            {
                counter.AddChannelWriteFail();
                logger.LogDebug("Source {Source}: channel refused a batch of {Count} events ({Reason}); delivering it in halves", sourceName, batch.Count, ex.Message);
                var half = batch.Count / 2;
                var first = new Event[half];
                var second = new Event[batch.Count - half];
                for (var i = 0; i < batch.Count; i++)
                {
                    if (i < half)
                    {
                        first[i] = batch[i];
                    }
                    else
                    {
                        second[i - half] = batch[i];
                    }
                }
                refusals += 1 + await DeliverPartAsync(output, first, counter, logger, sourceName, cancellationToken).ConfigureAwait(false);
                refusals += await DeliverPartAsync(output, second, counter, logger, sourceName, cancellationToken).ConfigureAwait(false);
                return refusals;
            }
            catch (ChannelException ex)
            {
                refusals++;
                counter.AddChannelWriteFail();
                if (refusals == 1 || refusals % 1000 == 0)
                {
                    logger.LogWarning("Source {Source}: channel refused a batch of {Count} events ({Reason}); holding input until it accepts", sourceName, batch.Count, ex.Message);
                }
            }
            await Task.Delay(delayMs, cancellationToken).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, MaxDelayMs);
        }
    }
}
