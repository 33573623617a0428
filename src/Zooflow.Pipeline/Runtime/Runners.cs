using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Sinks;

namespace Zooflow.Pipeline.Runtime;

/// <summary>Backoff settings of the runners (Flume: backoffSleepIncrement 1000 ms, maxBackoffSleep 5000 ms) and of the
/// supervisor's restarts.</summary>
/// <param name="BackoffSleepIncrement">Added to the sleep after each consecutive Backoff.</param>
/// <param name="MaxBackoffSleep">Cap of that sleep, also the sleep after a failed process call.</param>
/// <param name="RestartBackoffInitial">First delay before restarting a component whose start failed.</param>
/// <param name="RestartBackoffMax">Cap of the restart delay (doubles per consecutive failure).</param>
public sealed record RunnerOptions(TimeSpan BackoffSleepIncrement, TimeSpan MaxBackoffSleep, TimeSpan RestartBackoffInitial, TimeSpan RestartBackoffMax)
{
    /// <summary>Flume's defaults; restarts 1 s doubling to 30 s.</summary>
    public static RunnerOptions Default { get; } = new(TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(5000), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>The sleep after <paramref name="consecutive"/> backoffs: min(increment × consecutive, max).</summary>
    public TimeSpan BackoffSleep(long consecutive) =>
        TimeSpan.FromTicks(Math.Min(BackoffSleepIncrement.Ticks * Math.Max(1, consecutive), MaxBackoffSleep.Ticks));

    /// <summary>The restart delay after <paramref name="failures"/> consecutive start failures.</summary>
    public TimeSpan RestartDelay(int failures) =>
        TimeSpan.FromTicks(Math.Min(RestartBackoffInitial.Ticks * (1L << Math.Min(failures - 1, 20)), RestartBackoffMax.Ticks));
}

/// <summary>Counters of a runner loop (exposed for tests and logs).</summary>
public sealed class RunnerCounters
{
    private long _ready, _backoff, _failures;

    /// <summary>Calls that returned Ready.</summary>
    public long Ready => Interlocked.Read(ref _ready);
    /// <summary>Calls that returned Backoff.</summary>
    public long Backoff => Interlocked.Read(ref _backoff);
    /// <summary>Calls that threw.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal void AddReady() => Interlocked.Increment(ref _ready);
    internal void AddBackoff() => Interlocked.Increment(ref _backoff);
    internal void AddFailure() => Interlocked.Increment(ref _failures);
}

/// <summary>
/// The loop shared by Flume's <c>SinkRunner</c> and <c>PollableSourceRunner</c>: call <c>step</c> until cancelled; on
/// Backoff sleep min(increment × consecutive, max); on an exception log it, count it and sleep the max.
/// </summary>
public static class RunnerLoop
{
    /// <summary>Sleeps for <paramref name="sleep"/> or until <paramref name="wake"/> completes; false when cancelled.</summary>
    private static async Task<bool> SleepOrWakeAsync(TimeSpan sleep, Func<CancellationToken, Task> wake, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = wake(linked.Token);
        if (woken.IsCompleted)
        {
            // Events were committed while the step ran: go again at once.
            return !cancellationToken.IsCancellationRequested;
        }
        var delay = Task.Delay(sleep, clock, linked.Token);
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(delay, woken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loser of the race was cancelled.
        }
        return !cancellationToken.IsCancellationRequested;
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; never throws for step failures.</summary>
    /// <remarks><paramref name="wake"/>, when given, ends a Backoff sleep early (a channel received events).</remarks>
    public static async Task RunAsync(string name, Func<CancellationToken, ValueTask<ProcessStatus>> step, RunnerOptions options,
        RunnerCounters counters, TimeProvider clock, ILogger logger, CancellationToken cancellationToken,
        Func<CancellationToken, Task>? wake = null)
    {
        long consecutiveBackoffs = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan sleep;
            try
            {
                var status = await step(cancellationToken).ConfigureAwait(false);
                if (status == ProcessStatus.Ready)
                {
                    counters.AddReady();
                    consecutiveBackoffs = 0;
                    continue;
                }
                counters.AddBackoff();
                sleep = options.BackoffSleep(++consecutiveBackoffs);
                if (wake is not null)
                {
                    if (!await SleepOrWakeAsync(sleep, wake, clock, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                    continue;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                counters.AddFailure();
                logger.LogError(new EventId(2401, "RunnerStepFailed"), ex, "{Component}: unable to process, backing off", name);
                sleep = options.MaxBackoffSleep;
            }
            try
            {
                await Task.Delay(sleep, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}

/// <summary>Runs a sink processor in a loop (Flume's <c>SinkRunner</c>).</summary>
public sealed class SinkRunner(string name, ISinkProcessor processor, RunnerOptions options, TimeProvider clock, ILogger logger)
{
    /// <summary>The runner name (the group name or the sink name).</summary>
    public string Name => name;

    /// <summary>The processor.</summary>
    public ISinkProcessor Processor => processor;

    /// <summary>Loop counters.</summary>
    public RunnerCounters Counters { get; } = new();

    /// <summary>Loops until cancelled; a Backoff sleep ends early when a drained channel signals new events.</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        var signals = processor.Sinks.Select(s => s.Channel).OfType<IChannelEventsSignal>().Distinct().ToArray();
        if (signals.Length == 0)
        {
            return RunnerLoop.RunAsync(name, processor.ProcessAsync, options, Counters, clock, logger, cancellationToken);
        }

        // Each step remembers the channels' put generations, so a Backoff sleep ends as soon as a put commits after the
        // step looked at the channel (including one that landed before the sleep began).
        var generations = new long[signals.Length];
        ValueTask<ProcessStatus> StepAsync(CancellationToken ct)
        {
            for (var i = 0; i < signals.Length; i++)
            {
                generations[i] = signals[i].PutGeneration;
            }
            return processor.ProcessAsync(ct);
        }
        Task WakeAsync(CancellationToken ct)
        {
            var waits = new Task[signals.Length];
            for (var i = 0; i < signals.Length; i++)
            {
                waits[i] = signals[i].WaitForEventsAsync(generations[i], ct);
            }
            return Task.WhenAny(waits);
        }
        return RunnerLoop.RunAsync(name, StepAsync, options, Counters, clock, logger, cancellationToken, WakeAsync);
    }
}

/// <summary>Polls a pollable source in a loop (Flume's <c>PollableSourceRunner</c>).</summary>
public sealed class PollableSourceRunner(IPollableSource source, RunnerOptions options, TimeProvider clock, ILogger logger)
{
    /// <summary>Loop counters.</summary>
    public RunnerCounters Counters { get; } = new();

    /// <summary>Loops until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        RunnerLoop.RunAsync(source.Name, source.PollAsync, options, Counters, clock, logger, cancellationToken);
}
