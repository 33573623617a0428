using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Sinks;

namespace Zooflow.Pipeline.Runtime;

/// <summary>Runtime settings of an agent.</summary>
/// <param name="Runner">Runner backoff and restart backoff.</param>
/// <param name="DrainTimeout">How long a stop lets sinks drain the channels after the sources stopped (default 10 s).</param>
public sealed record AgentHostOptions(RunnerOptions Runner, TimeSpan DrainTimeout)
{
    /// <summary>Flume's runner defaults and a 10 s drain.</summary>
    public static AgentHostOptions Default { get; } = new(RunnerOptions.Default, TimeSpan.FromSeconds(10));
}

/// <summary>
/// Runs an <see cref="AgentPlan"/>: starts channels, then sink runners (one per sink group, and one per sink outside
/// any group), then sources; stops in reverse. Each source and sink runner is supervised: a failed start is retried
/// with a new instance after a capped exponential delay. <see cref="ApplyAsync"/> moves to a new plan restarting only
/// what changed; channels whose name, type and settings are unchanged keep their instance and so their events.
/// </summary>
/// <remarks>Thread-safe: start, apply and stop are serialised.</remarks>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly AgentHostOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CounterRegistry _counters;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, RunningChannel> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningSource> _sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningSinkUnit> _sinkUnits = new(StringComparer.Ordinal);
    private long _restarts;
    private bool _stopped;

    /// <summary>Creates a host; nothing runs until <see cref="StartAsync"/>.</summary>
    public AgentHost(AgentHostOptions options, CounterRegistry counters, ILoggerFactory? loggerFactory = null, TimeProvider? clock = null)
    {
        _options = options;
        _counters = counters;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Zooflow.Pipeline.Agent");
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The running channels by name.</summary>
    public IReadOnlyDictionary<string, IChannel> Channels
    {
        get
        {
            lock (_channels)
            {
                return _channels.ToDictionary(p => p.Key, p => p.Value.Instance, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The running source instances by name (the current instance after restarts).</summary>
    public IReadOnlyDictionary<string, ISource> Sources
    {
        get
        {
            lock (_channels)
            {
                return _sources.ToDictionary(p => p.Key, p => p.Value.Current, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The running sink instances by name.</summary>
    public IReadOnlyDictionary<string, ISink> Sinks
    {
        get
        {
            lock (_channels)
            {
                return _sinkUnits.Values.SelectMany(u => u.Processor.Sinks).ToDictionary(s => s.Name, s => s, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>How many times a component was restarted after a failed start.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Starts <paramref name="plan"/>: channels, then sinks, then sources. Returns once every component made
    /// its first start attempt (failed ones keep retrying in the background).</summary>
    public Task StartAsync(AgentPlan plan, CancellationToken cancellationToken) =>
        ApplyAsync(plan, cancellationToken);

    /// <summary>Moves to <paramref name="plan"/>, stopping removed/changed sources, sink runners and channels (in that
    /// order) and starting new ones (channels, sinks, sources). Unchanged components keep running.</summary>
    public async Task ApplyAsync(AgentPlan plan, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            var keepChannels = plan.Channels
                .Where(c => _channels.TryGetValue(c.Name, out var old) && old.Plan.Section.SameSettings(c.Section))
                .Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var newSources = plan.Sources.ToDictionary(s => s.Name, StringComparer.Ordinal);
            var keepSources = newSources.Values
                .Where(s => _sources.TryGetValue(s.Name, out var old) && old.Plan.Section.SameSettings(s.Section) && s.Channels.All(keepChannels.Contains))
                .Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            var newUnits = SinkUnits(plan);
            var keepUnits = newUnits
                .Where(u => _sinkUnits.TryGetValue(u.Key, out var old) && old.Unit.SameAs(u.Value) && u.Value.Sinks.All(s => keepChannels.Contains(s.Channel)))
                .Select(u => u.Key).ToHashSet(StringComparer.Ordinal);

            // Stop what goes, in reverse dependency order: sources, sink runners, channels.
            foreach (var name in _sources.Keys.Where(n => !keepSources.Contains(n)).ToList())
            {
                await _sources[name].StopAsync().ConfigureAwait(false);
                _sources.Remove(name);
            }
            foreach (var key in _sinkUnits.Keys.Where(k => !keepUnits.Contains(k)).ToList())
            {
                await _sinkUnits[key].StopAsync().ConfigureAwait(false);
                _sinkUnits.Remove(key);
            }
            foreach (var name in _channels.Keys.Where(n => !keepChannels.Contains(n)).ToList())
            {
                var lost = _channels[name].Instance.Size;
                if (lost > 0 && _channels[name].Instance is IDurableChannel)
                {
                    _logger.LogInformation(new EventId(2508, "DurableChannelReplaced"), "Channel {Channel} is removed or changed; its {Events} events stay on disk for a channel that opens the same directories", name, lost);
                }
                else if (lost > 0)
                {
                    _logger.LogWarning(new EventId(2501, "ChannelReplaced"), "Channel {Channel} is removed or changed; its {Events} events are dropped", name, lost);
                }
                await StopQuietlyAsync(_channels[name].Instance, name).ConfigureAwait(false);
                _counters.Channel(name).Stop(_clock);
                lock (_channels)
                {
                    _channels.Remove(name);
                }
            }

            // Start what is new: channels, sink runners, sources.
            foreach (var channel in plan.Channels.Where(c => !keepChannels.Contains(c.Name)))
            {
                var running = await StartChannelAsync(channel, cancellationToken).ConfigureAwait(false);
                lock (_channels)
                {
                    _channels[channel.Name] = running;
                }
            }
            foreach (var (key, unit) in newUnits.Where(u => !keepUnits.Contains(u.Key)))
            {
                var running = new RunningSinkUnit(this, unit);
                lock (_channels)
                {
                    _sinkUnits[key] = running;
                }
                await running.FirstAttempt.ConfigureAwait(false);
            }
            foreach (var source in plan.Sources.Where(s => !keepSources.Contains(s.Name)))
            {
                var running = new RunningSource(this, source);
                lock (_channels)
                {
                    _sources[source.Name] = running;
                }
                await running.FirstAttempt.ConfigureAwait(false);
            }
            // Kept components continue with their old plan records (same settings).
            var keys = plan.Sources.Select(s => "SOURCE." + s.Name)
                .Concat(plan.Channels.Select(c => "CHANNEL." + c.Name))
                .Concat(plan.Sinks.Select(s => "SINK." + s.Name)).ToHashSet(StringComparer.Ordinal);
            _counters.Retain(keys);
            _logger.LogInformation(new EventId(2502, "AgentApplied"),
                "Agent {Agent}: {Channels} channels, {Sinks} sink runners, {Sources} sources running ({KeptChannels} channels, {KeptUnits} sink runners, {KeptSources} sources unchanged)",
                plan.Name, _channels.Count, _sinkUnits.Count, _sources.Count, keepChannels.Count, keepUnits.Count, keepSources.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the agent: sources first, then lets the sinks drain the channels for up to
    /// <paramref name="drainTimeout"/> (default: the options' drain timeout), then stops the sinks and the channels.
    /// Returns the number of events left undelivered in the channels (also logged).</summary>
    public async Task<long> StopAsync(TimeSpan? drainTimeout = null, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return 0;
            }
            _stopped = true;
            foreach (var source in _sources.Values.Reverse())
            {
                await source.StopAsync().ConfigureAwait(false);
            }
            var drained = _channels.Values.Where(c => _sinkUnits.Values.Any(u => u.Unit.Sinks.Any(s => s.Channel == c.Plan.Name))).Select(c => c.Instance).ToList();
            var deadline = _clock.GetTimestamp() + (long)((drainTimeout ?? _options.DrainTimeout).TotalSeconds * _clock.TimestampFrequency);
            while (drained.Any(c => c.Size > 0) && _clock.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), _clock, CancellationToken.None).ConfigureAwait(false);
            }
            foreach (var unit in _sinkUnits.Values.Reverse())
            {
                await unit.StopAsync().ConfigureAwait(false);
            }
            long undelivered = 0;
            foreach (var channel in _channels.Values.Reverse())
            {
                undelivered += channel.Instance.Size;
                await StopQuietlyAsync(channel.Instance, channel.Plan.Name).ConfigureAwait(false);
                _counters.Channel(channel.Plan.Name).Stop(_clock);
            }
            if (undelivered > 0)
            {
                _logger.LogWarning(new EventId(2503, "Undelivered"), "Agent stopped with {Events} events left undelivered in its channels", undelivered);
            }
            else
            {
                _logger.LogInformation(new EventId(2504, "Stopped"), "Agent stopped; every channel was drained");
            }
            return undelivered;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task<RunningChannel> StartChannelAsync(ChannelPlan plan, CancellationToken cancellationToken)
    {
        var instance = plan.Instance;
        for (var failures = 1; ; failures++)
        {
            try
            {
                await instance.StartAsync(cancellationToken).ConfigureAwait(false);
                _counters.Channel(plan.Name).Start(_clock);
                return new RunningChannel(plan, instance);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Sinks and sources need their channel, so a channel is retried before anything else starts.
                var delay = _options.Runner.RestartDelay(failures);
                _logger.LogError(new EventId(2505, "ChannelStartFailed"), ex, "Channel {Channel} failed to start (attempt {Attempt}); retrying in {Delay}", plan.Name, failures, delay);
                Interlocked.Increment(ref _restarts);
                await StopQuietlyAsync(instance, plan.Name).ConfigureAwait(false);
                await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);
                instance = plan.Factory();
            }
        }
    }

    private async Task StopQuietlyAsync(ILifecycle component, string name)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await component.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(new EventId(2506, "StopFailed"), ex, "{Component} failed to stop cleanly", name);
        }
    }

    private IChannel ChannelFor(string name)
    {
        lock (_channels)
        {
            return _channels[name].Instance;
        }
    }

    private static Dictionary<string, SinkUnit> SinkUnits(AgentPlan plan)
    {
        var sinks = plan.Sinks.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var units = new Dictionary<string, SinkUnit>(StringComparer.Ordinal);
        var grouped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in plan.SinkGroups)
        {
            var members = group.Sinks.Where(sinks.ContainsKey).Select(s => sinks[s]).ToList();
            if (members.Count == 0)
            {
                continue;
            }
            grouped.UnionWith(members.Select(m => m.Name));
            units["group:" + group.Name] = new SinkUnit(group.Name, group, members);
        }
        foreach (var sink in plan.Sinks.Where(s => !grouped.Contains(s.Name)))
        {
            units["sink:" + sink.Name] = new SinkUnit(sink.Name, null, [sink]);
        }
        return units;
    }

    private sealed record RunningChannel(ChannelPlan Plan, IChannel Instance);

    /// <summary>A sink runner's configuration: a group with its processor, or one sink with the default processor.</summary>
    private sealed record SinkUnit(string Name, SinkGroupPlan? Group, IReadOnlyList<SinkPlan> Sinks)
    {
        public bool SameAs(SinkUnit other) =>
            (Group is null) == (other.Group is null)
            && (Group is null || Group.Section.SameSettings(other.Group!.Section))
            && Sinks.Count == other.Sinks.Count
            && Sinks.Zip(other.Sinks).All(p => p.First.Name == p.Second.Name && p.First.Section.SameSettings(p.Second.Section));
    }

    /// <summary>A supervised component: first start attempt, restarts with backoff, a run loop, a stop.</summary>
    private abstract class Supervised
    {
        private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private Task _loop = Task.CompletedTask;

        protected Supervised(AgentHost host, string name)
        {
            Host = host;
            Name = name;
        }

        protected AgentHost Host { get; }

        protected string Name { get; }

        public Task FirstAttempt => _firstAttempt.Task;

        protected void Begin() => _loop = Task.Run(() => SuperviseAsync(_stop.Token));

        public async Task StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping while waiting to restart.
            }
            _stop.Dispose();
        }

        protected abstract Task StartInstanceAsync(CancellationToken cancellationToken);

        protected abstract Task RunInstanceAsync(CancellationToken cancellationToken);

        protected abstract Task StopInstanceAsync();

        protected abstract void Recreate();

        private async Task SuperviseAsync(CancellationToken cancellationToken)
        {
            var failures = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await StartInstanceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    _firstAttempt.TrySetResult();
                    if (cancellationToken.IsCancellationRequested)
                    {
                        await StopInstanceAsync().ConfigureAwait(false);
                        return;
                    }
                    failures++;
                    var delay = Host._options.Runner.RestartDelay(failures);
                    Host._logger.LogError(new EventId(2507, "StartFailed"), ex, "{Component} failed to start (attempt {Attempt}); restarting with a new instance in {Delay}", Name, failures, delay);
                    await StopInstanceAsync().ConfigureAwait(false);
                    Interlocked.Increment(ref Host._restarts);
                    try
                    {
                        await Task.Delay(delay, Host._clock, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    Recreate();
                    continue;
                }
                _firstAttempt.TrySetResult();
                try
                {
                    await RunInstanceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Normal stop.
                }
                await StopInstanceAsync().ConfigureAwait(false);
                return;
            }
            _firstAttempt.TrySetResult();
        }
    }

    private sealed class RunningSource : Supervised
    {
        private readonly SourcePlan _plan;

        public RunningSource(AgentHost host, SourcePlan plan) : base(host, "source " + plan.Name)
        {
            _plan = plan;
            Current = plan.Instance;
            Begin();
        }

        public SourcePlan Plan => _plan;

        public ISource Current { get; private set; }

        protected override async Task StartInstanceAsync(CancellationToken cancellationToken)
        {
            var channels = _plan.Channels.ToDictionary(c => c, Host.ChannelFor, StringComparer.Ordinal);
            Current.Output = new ChannelProcessor(_plan.Interceptors, _plan.Selector.Create(channels), Host._loggerFactory.CreateLogger("Zooflow.Pipeline.ChannelProcessor"));
            await Current.StartAsync(cancellationToken).ConfigureAwait(false);
            Host._counters.Source(_plan.Name).Start(Host._clock);
        }

        protected override Task RunInstanceAsync(CancellationToken cancellationToken)
        {
            if (Current is IPollableSource pollable)
            {
                var runner = new PollableSourceRunner(pollable, Host._options.Runner, Host._clock, Host._loggerFactory.CreateLogger("Zooflow.Pipeline.SourceRunner"));
                return runner.RunAsync(cancellationToken);
            }
            return Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override async Task StopInstanceAsync()
        {
            await Host.StopQuietlyAsync(Current, _plan.Name).ConfigureAwait(false);
            Host._counters.Source(_plan.Name).Stop(Host._clock);
        }

        protected override void Recreate() => Current = _plan.Factory();
    }

    private sealed class RunningSinkUnit : Supervised
    {
        private readonly List<ISink> _sinks;

        public RunningSinkUnit(AgentHost host, SinkUnit unit) : base(host, (unit.Group is null ? "sink " : "sink group ") + unit.Name)
        {
            Unit = unit;
            _sinks = unit.Sinks.Select(s => s.Instance).ToList();
            Processor = CreateProcessor();
            Begin();
        }

        public SinkUnit Unit { get; }

        public ISinkProcessor Processor { get; private set; }

        private ISinkProcessor CreateProcessor() =>
            (Unit.Group?.Processor ?? SinkProcessorSettings.Default).Create(_sinks, Host._clock, Host._loggerFactory.CreateLogger("Zooflow.Pipeline.SinkProcessor"));

        protected override async Task StartInstanceAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < _sinks.Count; i++)
            {
                _sinks[i].Channel = Host.ChannelFor(Unit.Sinks[i].Channel);
            }
            await Processor.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var sink in _sinks)
            {
                Host._counters.Sink(sink.Name).Start(Host._clock);
            }
        }

        protected override Task RunInstanceAsync(CancellationToken cancellationToken)
        {
            var runner = new SinkRunner(Unit.Name, Processor, Host._options.Runner, Host._clock, Host._loggerFactory.CreateLogger("Zooflow.Pipeline.SinkRunner"));
            return runner.RunAsync(cancellationToken);
        }

        protected override async Task StopInstanceAsync()
        {
            await Host.StopQuietlyAsync(Processor, Name).ConfigureAwait(false);
            foreach (var sink in _sinks)
            {
                Host._counters.Sink(sink.Name).Stop(Host._clock);
            }
        }

        protected override void Recreate()
        {
            for (var i = 0; i < _sinks.Count; i++)
            {
                _sinks[i] = Unit.Sinks[i].Factory();
            }
            Processor = CreateProcessor();
        }
    }
}
