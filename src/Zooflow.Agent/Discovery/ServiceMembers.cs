using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Recipes;

namespace Zooflow.Agent.Discovery;

/// <summary>
/// The live instances of one service as this agent sees them: a <see cref="ServiceCache"/> over
/// <c>/zooflow/services/&lt;service&gt;</c> in every session of the agent (set up again after an expiry). The last list
/// read stays in use while the service cannot be reached, so a control-plane outage does not stop the data plane; an
/// instance that dies meanwhile is avoided by the sinks' own failure backoff.
/// </summary>
/// <remarks>Thread-safe: the list is an immutable snapshot replaced on each change.</remarks>
public sealed class ServiceMembers
{
    private readonly ServiceSession _session;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private IReadOnlyList<ServiceInstance> _instances = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _loaded;

    /// <summary>Creates the view; nothing is read until <see cref="RunAsync"/>.</summary>
    public ServiceMembers(ServiceSession session, string service, ILogger logger)
    {
        _session = session;
        Service = service;
        _logger = logger;
    }

    /// <summary>The service name.</summary>
    public string Service { get; }

    /// <summary>The znode holding its instances.</summary>
    public string Path => ZnodeLayout.Service(Service);

    /// <summary>True once the instances were read at least once.</summary>
    public bool Loaded => _loaded;

    /// <summary>The instances known now (sorted by id; empty before the first read).</summary>
    public IReadOnlyList<ServiceInstance> Instances => Volatile.Read(ref _instances);

    /// <summary>Completes at the next change of <see cref="Instances"/> (or the first read).</summary>
    public Task NextChange
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Follows the instances in every session until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        SessionLoops.RunPerSessionAsync(_session, $"discovery of service '{Service}'", FollowInSessionAsync, _logger, cancellationToken);

    private async Task FollowInSessionAsync(SessionLease lease, CancellationToken cancellationToken)
    {
        await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        var cache = new ServiceDiscovery(lease.Client, ZnodeLayout.ServicesRoot).CreateCache(Service);
        cache.Changed += Update;
        try
        {
            await cache.StartAsync(cancellationToken).ConfigureAwait(false);
            Update(cache.Instances);
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            cache.Changed -= Update;
            await cache.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Update(IReadOnlyList<ServiceInstance> instances)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            var previous = _instances;
            var first = !_loaded;
            _instances = instances;
            _loaded = true;
            if (!first && SameEndpoints(previous, instances))
            {
                return;
            }
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _logger.LogInformation(new EventId(4300, "ServiceMembers"), "Service {Service}: {Count} live instance(s){List}", Service, instances.Count,
            instances.Count == 0 ? "" : ": " + string.Join(", ", instances.Select(i => $"{i.Id} at {i.Address}:{i.Port}")));
        changed.TrySetResult();
    }

    private static bool SameEndpoints(IReadOnlyList<ServiceInstance> a, IReadOnlyList<ServiceInstance> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Id == p.Second.Id && p.First.Address == p.Second.Address && p.First.Port == p.Second.Port
            && p.First.RegistrationTimeUtcMs == p.Second.RegistrationTimeUtcMs);
}

/// <summary>
/// The services an agent's sinks discover: one <see cref="ServiceMembers"/> per service name, started on first use and
/// followed until the agent stops (an agent names few services; a watch per name costs one znode watch).
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class DiscoveryHub : IAsyncDisposable
{
    private readonly ServiceSession _session;
    private readonly ILoggerFactory _loggerFactory;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (ServiceMembers Members, Task Loop)> _services = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates the hub over the agent's session.</summary>
    public DiscoveryHub(ServiceSession session, ILoggerFactory loggerFactory)
    {
        _session = session;
        _loggerFactory = loggerFactory;
    }

    /// <summary>The members of <paramref name="service"/>, followed from now on.</summary>
    public ServiceMembers Get(string service)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_services.TryGetValue(service, out var entry))
            {
                var members = new ServiceMembers(_session, service, _loggerFactory.CreateLogger("Zooflow.Agent.Discovery"));
                entry = (members, Task.Run(() => members.RunAsync(_stop.Token)));
                _services[service] = entry;
            }
            return entry.Members;
        }
    }

    /// <summary>Stops following every service.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Task> loops;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            loops = _services.Values.Select(e => e.Loop).ToList();
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        _stop.Dispose();
    }
}
