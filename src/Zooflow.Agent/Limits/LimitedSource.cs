using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Agent.Limits;

/// <summary>
/// Wraps any source so that its output passes the agent's <see cref="FlowLimiter"/>: the runtime sets the output on the
/// wrapper, the wrapper hands the source a rate-limited one. Lifecycle calls go straight through, so every source type
/// obeys the limits without change.
/// </summary>
public class LimitedSource : ISource
{
    private readonly FlowLimiter _limiter;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected LimitedSource(ISource inner, FlowLimiter limiter)
    {
        Inner = inner;
        _limiter = limiter;
    }

    /// <summary>The wrapped source.</summary>
    public ISource Inner { get; }

    /// <inheritdoc />
    public string Name => Inner.Name;

    /// <inheritdoc />
    public IEventSink Output { set => Inner.Output = _limiter.Wrap(value, Inner.Name); }

    /// <summary>Wraps <paramref name="inner"/> keeping its kind (a pollable source stays pollable for the runner).</summary>
    public static ISource Wrap(ISource inner, FlowLimiter limiter) =>
        inner is IPollableSource pollable ? new Pollable(pollable, limiter) : new EventDriven(inner, limiter);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Inner.StartAsync(cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Inner.StopAsync(cancellationToken);

    private sealed class EventDriven(ISource inner, FlowLimiter limiter) : LimitedSource(inner, limiter), IEventDrivenSource;

    private sealed class Pollable(IPollableSource inner, FlowLimiter limiter) : LimitedSource(inner, limiter), IPollableSource
    {
        public ValueTask<ProcessStatus> PollAsync(CancellationToken cancellationToken) => inner.PollAsync(cancellationToken);
    }
}
