namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// Start/stop lifecycle shared by every component. <see cref="StartAsync"/> and <see cref="StopAsync"/> are each
/// called at most once per instance, in that order (a restarted component is a new instance).
/// </summary>
public interface ILifecycle
{
    /// <summary>Starts the component. Throwing means the start failed; the supervisor retries with backoff.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the component, releasing sockets, files and processes. Must not throw for a normal stop.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>What a poll or process step achieved; a hint to the runner (Flume's <c>Status</c>).</summary>
public enum ProcessStatus
{
    /// <summary>Work was done; call again at once.</summary>
    Ready,
    /// <summary>Nothing to do or a transient failure; the runner backs off (capped exponential).</summary>
    Backoff,
}

/// <summary>
/// Where a source delivers events: interceptors, then the channel selector, then a put transaction per required and
/// optional channel (Flume's <c>ChannelProcessor</c>). A failure on a required channel rolls back and throws
/// (<see cref="ChannelException"/>); a failure on an optional channel is logged only.
/// </summary>
public interface IEventSink
{
    /// <summary>Delivers one batch as one transaction per channel; returns once every required channel committed.</summary>
    ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken);
}

/// <summary>A source is given its <see cref="IEventSink"/> before start.</summary>
public interface ISource : ILifecycle
{
    /// <summary>The component name from the configuration.</summary>
    string Name { get; }

    /// <summary>Set by the runtime before <see cref="ILifecycle.StartAsync"/>.</summary>
    IEventSink Output { set; }
}

/// <summary>An event-driven source runs its own loops/listeners between start and stop.</summary>
public interface IEventDrivenSource : ISource;

/// <summary>A pollable source is driven by a runner calling <see cref="PollAsync"/> in a loop.</summary>
public interface IPollableSource : ISource
{
    /// <summary>Reads one batch and delivers it through the output; returns Backoff when there was nothing.</summary>
    ValueTask<ProcessStatus> PollAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A sink drains one channel. <see cref="ProcessAsync"/> takes a batch inside a take transaction, writes it
/// downstream, and commits only after the downstream write succeeded; otherwise it rolls back and throws
/// <see cref="EventDeliveryException"/> (or returns Backoff when the channel was empty).
/// </summary>
public interface ISink : ILifecycle
{
    /// <summary>The component name from the configuration.</summary>
    string Name { get; }

    /// <summary>The channel this sink takes from; set by the runtime before start.</summary>
    IChannel Channel { get; set; }

    /// <summary>Processes one batch.</summary>
    ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken);
}

/// <summary>A sink could not deliver a batch; the batch was rolled back into the channel.</summary>
public sealed class EventDeliveryException(string message, Exception? inner = null) : Exception(message, inner);
