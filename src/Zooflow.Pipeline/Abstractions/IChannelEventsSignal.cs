namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Optional interface for a channel that can wake an idle sink runner when events arrive. Flume's memory channel
/// blocks a take for up to keep-alive; our takes never block, so without this a sink runner that found the channel
/// empty would sleep its whole backoff while events pile up.
/// </summary>
public interface IChannelEventsSignal
{
    /// <summary>Completes when the channel holds committed events (at once if it already does).</summary>
    Task WaitForEventsAsync(CancellationToken cancellationToken);
}
