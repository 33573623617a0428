using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Channels;

/// <summary>
/// The state behind <see cref="IChannelEventsSignal"/> for a channel implementation: a put generation and the signal a
/// waiting sink runner awaits. Every member must be called under the owning channel's lock; the signal returned by
/// <see cref="Advance"/> is completed by the caller after releasing it.
/// </summary>
public sealed class PutSignal
{
    private TaskCompletionSource _events = New();
    private bool _awaited;

    /// <summary>Committed put transactions so far (<see cref="IChannelEventsSignal.PutGeneration"/>).</summary>
    public long Generation { get; private set; }

    /// <summary>Completes at once if a put committed after <paramref name="afterGeneration"/>, else at the next one.</summary>
    public Task WaitAsync(long afterGeneration, CancellationToken cancellationToken)
    {
        if (Generation != afterGeneration)
        {
            return Task.CompletedTask;
        }
        _awaited = true;
        return _events.Task.WaitAsync(cancellationToken);
    }

    /// <summary>A put transaction committed: returns the signal to complete outside the lock, or null when no one waits.</summary>
    public TaskCompletionSource? Advance()
    {
        Generation++;
        if (!_awaited)
        {
            return null;
        }
        var wake = _events;
        _events = New();
        _awaited = false;
        return wake;
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
