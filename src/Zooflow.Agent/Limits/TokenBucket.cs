namespace Zooflow.Agent.Limits;

/// <summary>
/// A token bucket whose rate can change while callers wait. Tokens refill at <c>rate</c> per second up to a burst of
/// <c>rate × burst</c>. <see cref="AcquireAsync"/> waits until the bucket is not in debt, then takes the whole request,
/// which may leave it in debt: a batch larger than the burst goes through at once and the next caller pays for it, so the
/// long-run rate is exact whatever the batch sizes.
/// </summary>
/// <remarks>Thread-safe. Time comes from the injected <see cref="TimeProvider"/>. A rate change wakes every waiter,
/// which re-checks against the new rate (raising a limit takes effect at once, not after the old wait).</remarks>
public sealed class TokenBucket
{
    private readonly TimeProvider _clock;
    private readonly TimeSpan _burst;
    private readonly Lock _lock = new();
    private double? _rate;
    private double _tokens;
    private long _lastTimestamp;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates an unlimited bucket.</summary>
    public TokenBucket(TimeProvider clock, TimeSpan? burst = null)
    {
        _clock = clock;
        _burst = burst ?? TimeSpan.FromSeconds(1);
        _lastTimestamp = clock.GetTimestamp();
    }

    /// <summary>The rate in tokens per second, or null when unlimited.</summary>
    public double? Rate
    {
        get
        {
            lock (_lock)
            {
                return _rate;
            }
        }
    }

    /// <summary>Changes the rate (null: unlimited) and wakes the waiters. A bucket that becomes limited starts full.</summary>
    public void SetRate(double? rate)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (_rate == rate)
            {
                return;
            }
            Refill();
            var wasUnlimited = _rate is null;
            _rate = rate;
            if (rate is { } r)
            {
                var capacity = Capacity(r);
                _tokens = wasUnlimited ? capacity : Math.Min(_tokens, capacity);
            }
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>Takes <paramref name="tokens"/>, waiting while the bucket is in debt. Returns how long it waited.</summary>
    public async ValueTask<TimeSpan> AcquireAsync(double tokens, CancellationToken cancellationToken)
    {
        if (TryTake(tokens, out var wait, out _))
        {
            return TimeSpan.Zero;
        }
        var started = _clock.GetTimestamp();
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _changed.Task;
            }
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var delay = Task.Delay(wait, _clock, cts.Token);
                await Task.WhenAny(delay, changed).ConfigureAwait(false);
                await cts.CancelAsync().ConfigureAwait(false);
                try
                {
                    await delay.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The rate changed before the wait ended.
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (TryTake(tokens, out wait, out _))
            {
                return _clock.GetElapsedTime(started);
            }
        }
    }

    /// <summary>Takes the tokens when the bucket is not in debt; otherwise says how long until it is.</summary>
    internal bool TryTake(double tokens, out TimeSpan wait, out double level)
    {
        lock (_lock)
        {
            Refill();
            level = _tokens;
            if (_rate is not { } rate)
            {
                wait = TimeSpan.Zero;
                return true;
            }
            if (_tokens >= 0)
            {
                _tokens -= tokens;
                level = _tokens;
                wait = TimeSpan.Zero;
                return true;
            }
            // At least a millisecond, so a tiny debt does not spin.
            wait = TimeSpan.FromSeconds(Math.Max(0.001, -_tokens / rate));
            return false;
        }
    }

    private double Capacity(double rate) => Math.Max(1, rate * _burst.TotalSeconds);

    private void Refill()
    {
        var now = _clock.GetTimestamp();
        if (_rate is { } rate)
        {
            var elapsed = (now - _lastTimestamp) / (double)_clock.TimestampFrequency;
            _tokens = Math.Min(Capacity(rate), _tokens + elapsed * rate);
        }
        _lastTimestamp = now;
    }
}
