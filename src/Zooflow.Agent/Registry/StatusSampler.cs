using Zooflow.Agent.Election;
using Zooflow.Agent.Limits;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Agent.Registry;

/// <summary>
/// Builds the component, channel and throughput parts of an <see cref="AgentStatus"/> from the agent host and its Flume
/// counters. States that depend on what happened "during the last interval" compare counters with the previous sample;
/// samples closer together than <see cref="WindowMin"/> reuse the previous window, so an early write does not report
/// noise.
/// </summary>
/// <remarks>Thread-safe (samples are serialised).</remarks>
public sealed class StatusSampler(AgentHost host, CounterRegistry counters, FlowLimiter limiter, TimeProvider clock)
{
    /// <summary>The shortest window rates and "last interval" states are computed over.</summary>
    public static readonly TimeSpan WindowMin = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private Dictionary<string, long> _previous = new(StringComparer.Ordinal);
    private long _previousTimestamp;
    private Sample _last = new([], [], new MetricsStatus(), []);

    /// <summary>The sampled parts of a status.</summary>
    public sealed record Sample(IReadOnlyList<ComponentStatus> Components, IReadOnlyList<ChannelStatus> Channels, MetricsStatus Metrics,
        IReadOnlyList<SingletonStatus> Singletons);

    /// <summary>Samples now, for the plan currently running (null: nothing runs).</summary>
    public Sample Take(AgentPlan? plan)
    {
        lock (_lock)
        {
            var now = clock.GetTimestamp();
            var elapsed = _previousTimestamp == 0 ? TimeSpan.Zero : clock.GetElapsedTime(_previousTimestamp, now);
            if (_previousTimestamp != 0 && elapsed < WindowMin)
            {
                return _last;
            }
            var current = new Dictionary<string, long>(StringComparer.Ordinal);
            long Delta(string key, long value)
            {
                current[key] = value;
                return _previous.TryGetValue(key, out var before) ? Math.Max(0, value - before) : 0;
            }

            var components = new List<ComponentStatus>();
            var singletons = new List<SingletonStatus>();
            var sources = host.Sources;
            long eventsIn = 0, eventsOut = 0, inDelta = 0, outDelta = 0;
            var writeFailsByChannel = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, instance) in sources.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var counter = counters.Source(name);
                eventsIn += counter.EventAcceptedCount;
                inDelta += Delta("in." + name, counter.EventAcceptedCount);
                var writeFails = Delta("swf." + name, counter.ChannelWriteFail);
                var waited = Delta("wait." + name, limiter.WaitedFor(name).Ticks);
                foreach (var channel in plan?.Sources.FirstOrDefault(s => s.Name == name)?.Channels ?? [])
                {
                    writeFailsByChannel[channel] = writeFailsByChannel.GetValueOrDefault(channel) + counter.ChannelWriteFail;
                }
                string state;
                string? detail = null;
                if (instance is SingletonSource singleton)
                {
                    state = singleton.State switch
                    {
                        SingletonState.Running => "running",
                        SingletonState.Failing => "failing",
                        SingletonState.Stopped => "stopped",
                        _ => "standby",
                    };
                    detail = state == "standby" ? $"singleton {singleton.Singleton} runs on another agent" : null;
                    singletons.Add(new SingletonStatus { Name = singleton.Singleton, Source = name, State = state });
                }
                else
                {
                    (state, detail) = Lifecycle(counter);
                }
                if (state == "running" && writeFails > 0)
                {
                    (state, detail) = ("blocked", $"channel refused {writeFails} batch{(writeFails == 1 ? "" : "es")} (full)");
                }
                else if (state == "running" && waited > 0)
                {
                    (state, detail) = ("blocked", $"held by the flow limit {TimeSpan.FromTicks(waited).TotalSeconds:0.#} s of the last {elapsed.TotalSeconds:0.#} s");
                }
                components.Add(new ComponentStatus { Kind = "source", Name = name, State = state, Detail = detail });
            }

            var channels = new List<ChannelStatus>();
            foreach (var (name, channel) in host.Channels.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var counter = counters.Channel(name);
                var (state, detail) = Lifecycle(counter);
                components.Add(new ComponentStatus { Kind = "channel", Name = name, State = state, Detail = detail });
                var size = channel.Size;
                var capacity = channel.Capacity;
                channels.Add(new ChannelStatus
                {
                    Name = name,
                    Size = size,
                    Capacity = capacity,
                    FillPercent = capacity <= 0 ? 100 : Math.Round(size * 100.0 / capacity, 2),
                    PutAttempts = counter.EventPutAttemptCount,
                    PutSuccesses = counter.EventPutSuccessCount,
                    PutFailures = writeFailsByChannel.GetValueOrDefault(name),
                });
            }

            foreach (var (name, _) in host.Sinks.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var counter = counters.Sink(name);
                eventsOut += counter.EventDrainSuccessCount;
                var delivered = Delta("out." + name, counter.EventDrainSuccessCount);
                outDelta += delivered;
                var failed = Delta("wf." + name, counter.EventWriteFail);
                var (state, detail) = Lifecycle(counter);
                if (state == "running" && failed > 0 && delivered == 0)
                {
                    (state, detail) = ("failing", $"{failed} failed write{(failed == 1 ? "" : "s")} and nothing delivered in the last {elapsed.TotalSeconds:0.#} s");
                }
                components.Add(new ComponentStatus { Kind = "sink", Name = name, State = state, Detail = detail });
            }

            var seconds = elapsed.TotalSeconds;
            var metrics = new MetricsStatus
            {
                EventsIn = eventsIn,
                EventsOut = eventsOut,
                EventsInPerSecond = seconds > 0 ? Math.Round(inDelta / seconds, 1) : 0,
                EventsOutPerSecond = seconds > 0 ? Math.Round(outDelta / seconds, 1) : 0,
            };
            _previous = current;
            _previousTimestamp = now;
            _last = new Sample(components, channels, metrics, singletons);
            return _last;
        }
    }

    /// <summary>Running when the host started it and has not stopped it; otherwise the host is restarting it.</summary>
    private static (string State, string? Detail) Lifecycle(ComponentCounter counter) =>
        counter.StartTime > 0 && counter.StopTime == 0 ? ("running", null)
        : counter.StartTime == 0 ? ("failing", "has not started yet (start failed; restarting with backoff)")
        : ("failing", "stopped after a failure; restarting with backoff");
}
