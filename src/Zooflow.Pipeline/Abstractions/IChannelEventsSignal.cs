namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Optional interface for a channel that can wake an idle sink runner when events arrive. Flume's memory channel
/// blocks a take for up to keep-alive; our takes never block, so without this a sink runner that found the channel
/// empty would sleep its whole backoff while events pile up.
/// </summary>
/// <remarks>
/// The generation closes the race between "the take found the channel empty" and "the runner starts waiting": the
/// runner reads <see cref="PutGeneration"/> before its step and waits for a commit after that generation, so a put
/// that lands in between wakes it at once instead of being mistaken for events that were already there.
/// </remarks>
public interface IChannelEventsSignal
{
    /// <summary>Counts committed put transactions; increases by one per commit that added events.</summary>
    long PutGeneration { get; }

    /// <summary>Completes when a put transaction committed after <paramref name="afterGeneration"/> (at once if one
    /// already has).</summary>
    Task WaitForEventsAsync(long afterGeneration, CancellationToken cancellationToken);
}
