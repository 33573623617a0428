using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Agent.Limits;

/// <summary>
/// The live flow limits of one agent: one pair of token buckets (events, bytes) for all its sources together and one pair
/// per source that has its own limit. <see cref="Apply"/> changes them while sources run; <see cref="Wrap"/> puts them in
/// front of a source's <see cref="IEventSink"/>.
/// </summary>
/// <remarks>Thread-safe. A source held by a bucket simply waits before its put: that is back-pressure (a netcat client is
/// not read, an exec command's pipe fills, a poll is not repeated), never a dropped event.</remarks>
public sealed class FlowLimiter
{
    private readonly TimeProvider _clock;
    private readonly TokenBucket _events;
    private readonly TokenBucket _bytes;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SourceBuckets> _sources = new(StringComparer.Ordinal);
    private FlowLimits _current = FlowLimits.None;

    /// <summary>Creates an unlimited limiter.</summary>
    public FlowLimiter(TimeProvider clock)
    {
        _clock = clock;
        _events = new TokenBucket(clock);
        _bytes = new TokenBucket(clock);
    }

    /// <summary>The limits in force.</summary>
    public FlowLimits Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Puts <paramref name="limits"/> in force at once (waiting sources re-check).</summary>
    public void Apply(FlowLimits limits)
    {
        lock (_lock)
        {
            _current = limits;
            foreach (var (name, buckets) in _sources)
            {
                buckets.Apply(limits.ForSource(name));
            }
        }
        _events.SetRate(limits.Total.EventsPerSecond);
        _bytes.SetRate(limits.Total.BytesPerSecond);
    }

    /// <summary>Wraps <paramref name="inner"/> so that source <paramref name="source"/>'s batches pass the buckets first.</summary>
    public IEventSink Wrap(IEventSink inner, string source) => new RateLimitedEventSink(inner, this, Buckets(source));

    /// <summary>Total time source <paramref name="source"/> spent waiting for the limits (for the registry).</summary>
    public TimeSpan WaitedFor(string source) => Buckets(source).Waited;

    private SourceBuckets Buckets(string source)
    {
        lock (_lock)
        {
            if (!_sources.TryGetValue(source, out var buckets))
            {
                buckets = new SourceBuckets(_clock);
                buckets.Apply(_current.ForSource(source));
                _sources[source] = buckets;
            }
            return buckets;
        }
    }

    private async ValueTask AcquireAsync(SourceBuckets source, IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        long bytes = 0;
        for (var i = 0; i < events.Count; i++)
        {
            bytes += events[i].Body.Length;
        }
        var waited = await source.Events.AcquireAsync(events.Count, cancellationToken).ConfigureAwait(false);
        waited += await source.Bytes.AcquireAsync(bytes, cancellationToken).ConfigureAwait(false);
        waited += await _events.AcquireAsync(events.Count, cancellationToken).ConfigureAwait(false);
        waited += await _bytes.AcquireAsync(bytes, cancellationToken).ConfigureAwait(false);
        if (waited > TimeSpan.Zero)
        {
            source.AddWaited(waited);
        }
    }

    private sealed class SourceBuckets(TimeProvider clock)
    {
        private long _waitedTicks;

        public TokenBucket Events { get; } = new(clock);

        public TokenBucket Bytes { get; } = new(clock);

        public TimeSpan Waited => TimeSpan.FromTicks(Interlocked.Read(ref _waitedTicks));

        public void AddWaited(TimeSpan waited) => Interlocked.Add(ref _waitedTicks, waited.Ticks);

        public void Apply(RateLimit limit)
        {
            Events.SetRate(limit.EventsPerSecond);
            Bytes.SetRate(limit.BytesPerSecond);
        }
    }

    /// <summary>Passes each batch through the buckets, then on to the channels.</summary>
    private sealed class RateLimitedEventSink(IEventSink inner, FlowLimiter limiter, SourceBuckets buckets) : IEventSink
    {
        public async ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
        {
            if (events.Count > 0)
            {
                await limiter.AcquireAsync(buckets, events, cancellationToken).ConfigureAwait(false);
            }
            await inner.ProcessBatchAsync(events, cancellationToken).ConfigureAwait(false);
        }
    }
}
