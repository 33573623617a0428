using System.Text.Json;
using System.Text.Json.Serialization;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// One registered instance of a service, stored as JSON in the layout of Curator's service discovery
/// (<c>basePath/name/id</c>, fields <c>name, id, address, port, payload, registrationTimeUTC, serviceType</c>).
/// </summary>
public sealed record ServiceInstance(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("port")] int? Port,
    [property: JsonPropertyName("payload")] IReadOnlyDictionary<string, string>? Payload = null)
{
    /// <summary>When the instance registered (ms since the Unix epoch, UTC).</summary>
    [JsonPropertyName("registrationTimeUTC")]
    public long RegistrationTimeUtcMs { get; init; }

    /// <summary>DYNAMIC (ephemeral) as Curator writes it.</summary>
    [JsonPropertyName("serviceType")]
    public string ServiceType { get; init; } = "DYNAMIC";
}

/// <summary>
/// Service discovery (Curator's <c>ServiceDiscovery</c>): instances register as ephemeral nodes, so they disappear with
/// their session; clients list them or follow them with a <see cref="ServiceCache"/>.
/// </summary>
/// <remarks>A registration lives as long as the client's session. After the session expires, register again from a new client.</remarks>
public sealed class ServiceDiscovery
{
    private readonly ZooKeeperClient _client;
    private readonly string _basePath;

    /// <summary>Creates a discovery view rooted at <paramref name="basePath"/>.</summary>
    public ServiceDiscovery(ZooKeeperClient client, string basePath)
    {
        _client = client;
        _basePath = basePath;
    }

    /// <summary>Registers <paramref name="instance"/> (replacing a previous registration with the same id).</summary>
    public async Task RegisterAsync(ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var servicePath = ZkPaths.Join(_basePath, instance.Name);
        await _client.EnsurePathAsync(servicePath, cancellationToken).ConfigureAwait(false);
        var stamped = instance.RegistrationTimeUtcMs == 0 ? instance with { RegistrationTimeUtcMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } : instance;
        var data = JsonSerializer.SerializeToUtf8Bytes(stamped);
        var path = ZkPaths.Join(servicePath, instance.Id);
        try
        {
            await _client.CreateAsync(path, data, mode: CreateMode.Ephemeral, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
        {
            await _client.DeleteAsync(path, -1, cancellationToken).ConfigureAwait(false);
            await _client.CreateAsync(path, data, mode: CreateMode.Ephemeral, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes a registration (missing is fine).</summary>
    public async Task UnregisterAsync(ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        try
        {
            await ZkPaths.RetryAsync(() => _client.DeleteAsync(ZkPaths.Join(ZkPaths.Join(_basePath, instance.Name), instance.Id), -1, cancellationToken),
                cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
        }
    }

    /// <summary>The names of the registered services.</summary>
    public async Task<IReadOnlyList<string>> QueryForNamesAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return [.. (await _client.GetChildrenAsync(_basePath, cancellationToken: cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal)];
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
            return [];
        }
    }

    /// <summary>The instances of <paramref name="name"/> registered now (sorted by id).</summary>
    public Task<IReadOnlyList<ServiceInstance>> QueryForInstancesAsync(string name, CancellationToken cancellationToken = default) =>
        QueryAsync(name, null, cancellationToken);

    /// <summary>A cache of the instances of <paramref name="name"/> that follows registrations as they come and go.</summary>
    public ServiceCache CreateCache(string name) => new(this, _client, ZkPaths.Join(_basePath, name), name);

    internal async Task<IReadOnlyList<ServiceInstance>> QueryAsync(string name, Action<WatchedEvent>? watcher, CancellationToken cancellationToken)
    {
        var servicePath = ZkPaths.Join(_basePath, name);
        IReadOnlyList<string> ids;
        try
        {
            ids = watcher is null
                ? await _client.GetChildrenAsync(servicePath, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await _client.GetChildrenAsync(servicePath, watcher, cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
            if (watcher is not null)
            {
                await _client.ExistsAsync(servicePath, watcher, cancellationToken).ConfigureAwait(false);
            }

            return [];
        }

        var result = new List<ServiceInstance>(ids.Count);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            try
            {
                var (data, _) = await _client.GetDataAsync(ZkPaths.Join(servicePath, id), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (JsonSerializer.Deserialize<ServiceInstance>(data) is { } instance)
                {
                    result.Add(instance);
                }
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
            {
            }
            catch (JsonException)
            {
                // Not an instance record: skip it rather than fail the whole query.
            }
        }

        return result;
    }
}

/// <summary>Follows the instances of one service; <see cref="Changed"/> is raised (on a background task) with each new list.</summary>
public sealed class ServiceCache : IAsyncDisposable
{
    private readonly ServiceDiscovery _discovery;
    private readonly ZooKeeperClient _client;
    private readonly string _name;
    private readonly RefreshLoop _loop;
    private readonly Action<WatchedEvent> _watcher;
    private IReadOnlyList<ServiceInstance> _instances = [];

    internal ServiceCache(ServiceDiscovery discovery, ZooKeeperClient client, string servicePath, string name)
    {
        _discovery = discovery;
        _client = client;
        _name = name;
        ServicePath = servicePath;
        _loop = new RefreshLoop(RefreshAsync);
        _watcher = e =>
        {
            if (e.Type != EventType.None || e.State == KeeperState.SyncConnected)
            {
                _loop.Wake();
            }
        };
    }

    /// <summary>The znode holding the instances.</summary>
    public string ServicePath { get; }

    /// <summary>Raised with the instances after each change.</summary>
    public event Action<IReadOnlyList<ServiceInstance>>? Changed;

    /// <summary>The instances known now.</summary>
    public IReadOnlyList<ServiceInstance> Instances => Volatile.Read(ref _instances);

    /// <summary>Loads the instances and starts following them.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        _loop.Start();
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var next = await _discovery.QueryAsync(_name, _watcher, cancellationToken).ConfigureAwait(false);
        var previous = Volatile.Read(ref _instances);
        if (!previous.SequenceEqual(next, InstanceComparer.Instance))
        {
            Volatile.Write(ref _instances, next);
            Changed?.Invoke(next);
        }
    }

    /// <summary>Stops following.</summary>
    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    private sealed class InstanceComparer : IEqualityComparer<ServiceInstance>
    {
        public static readonly InstanceComparer Instance = new();

        public bool Equals(ServiceInstance? x, ServiceInstance? y) =>
            x is not null && y is not null && x.Id == y.Id && x.Address == y.Address && x.Port == y.Port && x.RegistrationTimeUtcMs == y.RegistrationTimeUtcMs;

        public int GetHashCode(ServiceInstance obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }
}
