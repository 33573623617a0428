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
    /// cancelled (then <see cref="OperationCanceledException"/> propagates and nothing of the batch was committed).
    /// Returns the number of refusals seen.
    /// </summary>
    public static async ValueTask<int> DeliverAsync(IEventSink output, IReadOnlyList<Event> batch, SourceCounter counter, ILogger logger, string sourceName, CancellationToken cancellationToken)
    {
        counter.AddEventReceived(batch.Count);
        counter.AddAppendBatchReceived();
        var refusals = 0;
        var delayMs = InitialDelayMs;
        while (true)
        {
            try
            {
                await output.ProcessBatchAsync(batch, cancellationToken).ConfigureAwait(false);
                counter.AddEventAccepted(batch.Count);
                counter.AddAppendBatchAccepted();
                if (refusals > 0)
                {
                    logger.LogInformation("Source {Source}: channel accepted the batch of {Count} events after {Refusals} refusals", sourceName, batch.Count, refusals);
                }
                return refusals;
            }
            catch (ChannelException ex)
            {
                refusals++;
                counter.AddChannelWriteFail();
                if (refusals == 1)
                {
                    logger.LogWarning("Source {Source}: channel refused a batch of {Count} events ({Reason}); holding input until it accepts", sourceName, batch.Count, ex.Message);
                }
            }
            await Task.Delay(delayMs, cancellationToken).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, MaxDelayMs);
        }
    }
}
