using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Sinks;

/// <summary>Drives the sinks of one runner (Flume's <c>SinkProcessor</c>): starts and stops them and chooses which one
/// processes each batch. Called by one runner loop at a time.</summary>
public interface ISinkProcessor : ILifecycle
{
    /// <summary>The sinks this processor drives.</summary>
    IReadOnlyList<ISink> Sinks { get; }

    /// <summary>Processes one batch with one of the sinks.</summary>
    ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken);
}

/// <summary>A sink group's <c>processor.*</c> settings.</summary>
/// <param name="Type"><c>default</c>, <c>failover</c> or <c>load_balance</c>.</param>
/// <param name="Priorities">failover: <c>processor.priority.&lt;sink&gt;</c> (higher is preferred).</param>
/// <param name="MaxPenalty">failover: <c>processor.maxpenalty</c> (default 30000 ms).</param>
/// <param name="RandomSelector">load_balance: <c>processor.selector = random</c> (default round_robin).</param>
/// <param name="Backoff">load_balance: <c>processor.backoff</c> (default false).</param>
/// <param name="SelectorMaxTimeOut">load_balance: <c>processor.selector.maxTimeOut</c> (default 30000 ms).</param>
public sealed record SinkProcessorSettings(string Type, IReadOnlyDictionary<string, int> Priorities, TimeSpan MaxPenalty, bool RandomSelector, bool Backoff, TimeSpan SelectorMaxTimeOut)
{
    /// <summary>The default processor (one sink).</summary>
    public static SinkProcessorSettings Default { get; } = new("default", new Dictionary<string, int>(), TimeSpan.FromMilliseconds(30000), false, false, TimeSpan.FromMilliseconds(30000));

    /// <summary>Processor types and their Java class names.</summary>
    public static readonly IReadOnlyDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["default"] = "default",
        ["org.apache.flume.sink.DefaultSinkProcessor"] = "default",
        ["failover"] = "failover",
        ["org.apache.flume.sink.FailoverSinkProcessor"] = "failover",
        ["load_balance"] = "load_balance",
        ["org.apache.flume.sink.LoadBalancingSinkProcessor"] = "load_balance",
    };

    /// <summary>Reads <c>processor.*</c> from a sink group context.</summary>
    public static SinkProcessorSettings FromContext(ComponentContext group, IReadOnlyList<string> sinks)
    {
        var typeName = group.GetString("processor.type", "default")!;
        if (!Types.TryGetValue(typeName, out var type))
        {
            group.AddError("processor.type", $"'{typeName}' is not a sink processor type (allowed: default, failover, load_balance)");
            type = "default";
        }
        if (type == "default" && sinks.Count > 1)
        {
            group.AddError("processor.type", $"the default processor drives one sink but the group lists {sinks.Count} ({string.Join(", ", sinks)}) (allowed: failover or load_balance for several sinks)");
        }
        var priorities = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var sink in group.SubProperties("processor.priority.").Keys)
        {
            if (!sinks.Contains(sink))
            {
                group.AddError("processor.priority." + sink, $"names sink '{sink}', which is not in this group (allowed: {string.Join(", ", sinks)})");
            }
            priorities[sink] = group.GetInt("processor.priority." + sink, 0);
        }
        var maxPenalty = group.GetLong("processor.maxpenalty", 30000, 1);
        var selector = group.GetString("processor.selector", "round_robin")!;
        var random = false;
        if (string.Equals(selector, "random", StringComparison.OrdinalIgnoreCase))
        {
            random = true;
        }
        else if (!string.Equals(selector, "round_robin", StringComparison.OrdinalIgnoreCase))
        {
            group.AddError("processor.selector", $"'{selector}' is not a sink selector (allowed: round_robin, random)");
        }
        var backoff = group.GetBool("processor.backoff", false);
        var maxTimeOut = group.GetLong("processor.selector.maxTimeOut", 30000, 1);
        return new SinkProcessorSettings(type, priorities, TimeSpan.FromMilliseconds(maxPenalty), random, backoff, TimeSpan.FromMilliseconds(maxTimeOut));
    }

    /// <summary>Builds the processor over <paramref name="sinks"/> (in the group's listed order).</summary>
    public ISinkProcessor Create(IReadOnlyList<ISink> sinks, TimeProvider clock, ILogger logger) => Type switch
    {
        "failover" => new FailoverSinkProcessor(sinks, Priorities, MaxPenalty, clock, logger),
        "load_balance" => new LoadBalancingSinkProcessor(sinks, RandomSelector, Backoff, SelectorMaxTimeOut, clock, logger),
        _ => new DefaultSinkProcessor(sinks[0]),
    };
}

/// <summary>Base: starts the sinks in order and stops them in reverse.</summary>
public abstract class SinkProcessorBase(IReadOnlyList<ISink> sinks) : ISinkProcessor
{
    /// <inheritdoc />
    public IReadOnlyList<ISink> Sinks => sinks;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var sink in sinks)
        {
            await sink.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        for (var i = sinks.Count - 1; i >= 0; i--)
        {
            await sinks[i].StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public abstract ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken);
}

/// <summary>Flume's <c>DefaultSinkProcessor</c>: one sink.</summary>
public sealed class DefaultSinkProcessor(ISink sink) : SinkProcessorBase([sink])
{
    /// <inheritdoc />
    public override ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken) => sink.ProcessAsync(cancellationToken);
}

/// <summary>
/// Flume's <c>FailoverSinkProcessor</c>: the live sink with the highest priority processes; a sink that throws is moved
/// to the failed set for min(maxpenalty, 2^failures s) and the next one is tried at once; a failed sink whose
/// penalty expired is tried first and restored on success. Unset priorities follow the listed order.
/// </summary>
public sealed class FailoverSinkProcessor : SinkProcessorBase
{
    private readonly List<(ISink Sink, int Priority)> _ordered;
    private readonly Dictionary<ISink, (int Failures, long RetryAt)> _failed = new(ReferenceEqualityComparer.Instance);
    private readonly TimeSpan _maxPenalty;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;

    /// <summary>Creates the processor.</summary>
    public FailoverSinkProcessor(IReadOnlyList<ISink> sinks, IReadOnlyDictionary<string, int> priorities, TimeSpan maxPenalty, TimeProvider clock, ILogger logger) : base(sinks)
    {
        // Unset priorities: earlier listed sinks rank higher (Flume assigns decreasing implicit priorities).
        _ordered = sinks.Select((s, i) => (s, priorities.TryGetValue(s.Name, out var p) ? p : -i - 1_000_000))
            .OrderByDescending(x => x.Item2).ToList();
        _maxPenalty = maxPenalty;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Names of the sinks currently in the failed set.</summary>
    public IReadOnlyList<string> FailedSinks => _failed.Keys.Select(s => s.Name).ToArray();

    /// <inheritdoc />
    public override async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetTimestamp();
        // Failed sinks whose penalty expired get a chance first, highest priority first.
        foreach (var (sink, _) in _ordered)
        {
            if (_failed.TryGetValue(sink, out var f) && f.RetryAt <= now)
            {
                try
                {
                    var status = await sink.ProcessAsync(cancellationToken).ConfigureAwait(false);
                    _failed.Remove(sink);
                    return status;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Penalize(sink, ex);
                }
            }
        }
        foreach (var (sink, _) in _ordered)
        {
            if (_failed.ContainsKey(sink))
            {
                continue;
            }
            try
            {
                return await sink.ProcessAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Penalize(sink, ex);
            }
        }
        throw new EventDeliveryException("All sinks failed to process, nothing left to failover to");
    }

    private void Penalize(ISink sink, Exception ex)
    {
        var failures = _failed.TryGetValue(sink, out var f) ? f.Failures + 1 : 1;
        var penalty = TimeSpan.FromMilliseconds(Math.Min(_maxPenalty.TotalMilliseconds, (1L << Math.Min(failures, 30)) * 1000.0));
        _failed[sink] = (failures, _clock.GetTimestamp() + (long)(penalty.TotalSeconds * _clock.TimestampFrequency));
        _logger.LogWarning(new EventId(2301, "FailoverSinkFailed"), ex, "Sink {Sink} failed and was put aside for {Penalty}", sink.Name, penalty);
    }
}

/// <summary>
/// Flume's <c>LoadBalancingSinkProcessor</c>: each batch is offered to the sinks in round-robin (or random) order
/// until one processes it; with <c>backoff</c> a failed sink is skipped for min(maxTimeOut, 2^failures s). When all
/// fail the failure propagates.
/// </summary>
public sealed class LoadBalancingSinkProcessor(IReadOnlyList<ISink> sinks, bool random, bool backoff, TimeSpan maxTimeOut, TimeProvider clock, ILogger logger) : SinkProcessorBase(sinks)
{
    private readonly (int Failures, long RestoreAt)[] _state = new (int, long)[sinks.Count];
    private int _next;

    /// <inheritdoc />
    public override async ValueTask<ProcessStatus> ProcessAsync(CancellationToken cancellationToken)
    {
        var n = Sinks.Count;
        var start = random ? Random.Shared.Next(n) : _next++ % n;
        var now = clock.GetTimestamp();
        for (var k = 0; k < n; k++)
        {
            var i = (start + k) % n;
            if (backoff && _state[i].RestoreAt > now)
            {
                continue;
            }
            try
            {
                var status = await Sinks[i].ProcessAsync(cancellationToken).ConfigureAwait(false);
                _state[i] = (0, 0);
                return status;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(new EventId(2302, "LoadBalanceSinkFailed"), ex, "Sink {Sink} failed to process", Sinks[i].Name);
                if (backoff)
                {
                    var failures = _state[i].Failures + 1;
                    var ms = Math.Min(maxTimeOut.TotalMilliseconds, (1L << Math.Min(failures, 30)) * 1000.0);
                    _state[i] = (failures, clock.GetTimestamp() + (long)(ms / 1000.0 * clock.TimestampFrequency));
                }
            }
        }
        throw new EventDeliveryException("All sinks failed to process, nothing left to failover to");
    }
}
