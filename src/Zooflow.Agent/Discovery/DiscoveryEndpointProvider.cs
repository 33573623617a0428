using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Recipes;

namespace Zooflow.Agent.Discovery;

/// <summary>How a discovery sink spreads its batches over the live instances of its service.</summary>
public enum DiscoveryPolicy
{
    /// <summary>Each batch to the next live instance in turn (Flume's load_balance processor, round_robin selector).</summary>
    RoundRobin,

    /// <summary>Each batch to a live instance picked at random (load_balance with the random selector).</summary>
    Random,

    /// <summary>Every batch to one instance — the longest registered — until it fails or leaves, then the next (Flume's
    /// failover processor, with registration age as the priority).</summary>
    Failover,
}

/// <summary>
/// The <c>discovery.*</c> keys of an avro sink that targets a service instead of a fixed host.
/// </summary>
/// <param name="Service"><c>discovery</c>: the service whose instances receive the batches.</param>
/// <param name="Policy"><c>discovery.policy</c>: round_robin (default), random or failover.</param>
/// <param name="MaxBackoff"><c>discovery.maxBackoff</c> (ms, default 30000): an instance whose connect or batch failed is
/// skipped for 1 s, doubling with each further failure up to this.</param>
/// <param name="WaitForInstance">How long a batch waits for a live instance to appear before it fails (the batch stays in
/// the channel): the first read of the service after start, or a service with no instance at all.</param>
public sealed record DiscoverySettings(string Service, DiscoveryPolicy Policy, TimeSpan MaxBackoff, TimeSpan WaitForInstance)
{
    /// <summary>The sink keys this feature reads.</summary>
    public const string ServiceKey = "discovery";

    /// <summary>Reads the <c>discovery.*</c> keys, recording every problem in <paramref name="context"/>.</summary>
    public static DiscoverySettings Read(ComponentContext context)
    {
        var service = context.GetString(ServiceKey) ?? "";
        if (ZnodeLayout.ValidateName(service) is { } problem)
        {
            context.AddError(ServiceKey, $"{problem} (allowed: the name a source registers with <source>.register, e.g. collectors)");
        }
        foreach (var key in (string[])["hostname", "port"])
        {
            if (context.Properties.ContainsKey(key))
            {
                context.AddError(key, $"is set together with discovery = {service} (allowed: either discovery or hostname and port, not both)");
            }
        }
        var policy = context.GetChoice(ServiceKey + ".policy", "round_robin", "round_robin", "random", "failover") switch
        {
            "random" => DiscoveryPolicy.Random,
            "failover" => DiscoveryPolicy.Failover,
            _ => DiscoveryPolicy.RoundRobin,
        };
        var maxBackoff = TimeSpan.FromMilliseconds(context.GetLong(ServiceKey + ".maxBackoff", 30_000, 1, 3_600_000));
        return new DiscoverySettings(service, policy, maxBackoff, TimeSpan.FromSeconds(1));
    }
}

/// <summary>No live instance of a discovery sink's service could be used; the batch was not taken.</summary>
public sealed class NoLiveInstanceException(string message) : Exception(message);

/// <summary>
/// Feeds an avro sink the endpoints of a service's live instances (<c>&lt;sink&gt;.discovery = &lt;service&gt;</c>):
/// one per batch by the configured <see cref="DiscoveryPolicy"/>, skipping instances that recently failed, and telling
/// the sink to leave an instance as soon as it is no longer registered.
/// </summary>
/// <remarks>
/// <para><b>Failover without loss.</b> A batch to an instance that dies fails (connection reset, timeout or a FAILED
/// reply), so the sink rolls it back into its channel; the instance is put aside (1 s, doubling up to
/// <see cref="DiscoverySettings.MaxBackoff"/>) and the next batch goes to another live instance. The dead instance's
/// ephemeral registration goes when its session expires — within one session timeout — and the sink then closes its
/// connection to it. At least once: an instance that received a batch but died before answering may have delivered it,
/// and the batch goes to another instance too.</para>
/// <para><b>When every instance is put aside</b>, the one whose pause ends first is tried (a restarted collector is
/// used at once); with no instance registered at all, a batch waits up to <see cref="DiscoverySettings.WaitForInstance"/>
/// and then fails with <see cref="NoLiveInstanceException"/> without taking anything from the channel.</para>
/// <para>Thread-safety: one sink runner calls it at a time (the <see cref="IRpcEndpointProvider"/> contract).</para>
/// </remarks>
public sealed class DiscoveryEndpointProvider : IRpcEndpointProvider
{
    private readonly Func<ServiceMembers> _resolve;
    private readonly DiscoverySettings _settings;
    private readonly Random _random;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Dictionary<RpcEndpoint, (int Failures, long RestoreAt)> _failures = [];
    private ServiceMembers? _members;
    private IReadOnlyList<ServiceInstance>? _liveOf;
    private List<RpcEndpoint> _live = [];
    private RpcEndpoint? _sticky;
    private long _next;

    /// <summary>Creates the provider; <paramref name="members"/> is called on first use (so a configuration that is only
    /// validated follows nothing).</summary>
    public DiscoveryEndpointProvider(Func<ServiceMembers> members, DiscoverySettings settings, Random random, TimeProvider clock, ILogger logger)
    {
        _resolve = members;
        _settings = settings;
        _random = random;
        _clock = clock;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Description => $"discovery {_settings.Service}";

    /// <summary>The settings.</summary>
    public DiscoverySettings Settings => _settings;

    /// <inheritdoc />
    public async ValueTask<RpcEndpoint> SelectAsync(CancellationToken cancellationToken)
    {
        var members = _members ??= _resolve();
        var live = Live(members.Instances);
        if (live.Count == 0)
        {
            // Wait a little for the first read or a new registration; the sink keeps its events meanwhile.
            var deadline = _clock.GetTimestamp() + (long)(_settings.WaitForInstance.TotalSeconds * _clock.TimestampFrequency);
            while (live.Count == 0)
            {
                var left = _clock.GetElapsedTime(_clock.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero)
                {
                    throw new NoLiveInstanceException(members.Loaded
                        ? $"no live instance of service '{_settings.Service}' is registered (no children with a port under {members.Path}); the events stay in the channel"
                        : $"the instances of service '{_settings.Service}' ({members.Path}) have not been read yet (no session with the service); the events stay in the channel");
                }
                var change = members.NextChange;
                live = Live(members.Instances);
                if (live.Count > 0)
                {
                    break;
                }
                try
                {
                    await change.WaitAsync(left, _clock, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
                live = Live(members.Instances);
            }
        }
        return Choose(live);
    }

    /// <summary>The endpoints of <paramref name="instances"/> that have a port, oldest registration first (computed once
    /// per snapshot: the list is asked for before every batch).</summary>
    private List<RpcEndpoint> Live(IReadOnlyList<ServiceInstance> instances)
    {
        if (ReferenceEquals(instances, _liveOf))
        {
            return _live;
        }
        var result = new List<RpcEndpoint>(instances.Count);
        foreach (var instance in instances.OrderBy(i => i.RegistrationTimeUtcMs).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            if (instance.Port is > 0 and <= 65535 && !string.IsNullOrEmpty(instance.Address))
            {
                var endpoint = new RpcEndpoint(instance.Address, instance.Port.Value);
                if (!result.Contains(endpoint))
                {
                    result.Add(endpoint);
                }
            }
        }
        _liveOf = instances;
        _live = result;
        return result;
    }

    private RpcEndpoint Choose(List<RpcEndpoint> live)
    {
        var now = _clock.GetTimestamp();
        var available = live.Where(e => !_failures.TryGetValue(e, out var f) || f.RestoreAt <= now).ToList();
        if (available.Count == 0)
        {
            // Every instance failed recently: try the one whose pause ends first rather than none.
            available.Add(live.MinBy(e => _failures[e].RestoreAt)!);
        }
        RpcEndpoint chosen;
        switch (_settings.Policy)
        {
            case DiscoveryPolicy.Failover:
                chosen = _sticky is { } sticky && available.Contains(sticky) ? sticky : available[0];
                if (chosen != _sticky)
                {
                    _logger.LogInformation(new EventId(4301, "FailoverTarget"), "Discovery {Service}: sending to {Endpoint}{Previous}",
                        _settings.Service, chosen, _sticky is null ? "" : $" (was {_sticky})");
                    _sticky = chosen;
                }
                break;
            case DiscoveryPolicy.Random:
                chosen = available[_random.Next(available.Count)];
                break;
            default:
                chosen = available[(int)(_next++ % available.Count)];
                break;
        }
        return chosen;
    }

    /// <inheritdoc />
    public bool IsCurrent(RpcEndpoint endpoint) => _members is null || Live(_members.Instances).Contains(endpoint);

    /// <inheritdoc />
    public void ReportSuccess(RpcEndpoint endpoint) => _failures.Remove(endpoint);

    /// <inheritdoc />
    public void ReportFailure(RpcEndpoint endpoint, Exception error)
    {
        var failures = _failures.TryGetValue(endpoint, out var f) ? f.Failures + 1 : 1;
        var pauseMs = Math.Min(_settings.MaxBackoff.TotalMilliseconds, 1000.0 * (1L << Math.Min(failures - 1, 30)));
        _failures[endpoint] = (failures, _clock.GetTimestamp() + (long)(pauseMs / 1000.0 * _clock.TimestampFrequency));
        _logger.LogWarning(new EventId(4302, "InstanceFailed"), "Discovery {Service}: {Endpoint} failed ({Error}); other instances get the batches for {Pause} ms",
            _settings.Service, endpoint, error.Message, pauseMs);
        // Forget instances that left, so the table stays as small as the live set.
        if (_members is not null && _failures.Count > 16)
        {
            var live = Live(_members.Instances);
            foreach (var gone in _failures.Keys.Where(k => !live.Contains(k)).ToList())
            {
                _failures.Remove(gone);
            }
        }
    }
}
