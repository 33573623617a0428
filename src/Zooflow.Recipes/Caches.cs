using System.Threading.Channels;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>A node's data and Stat as a cache holds it.</summary>
public sealed record ChildData(string Path, byte[] Data, Stat Stat);

/// <summary>
/// Runs a refresh function on one background task each time it is woken (wakes coalesce), so a cache applies changes in
/// order without blocking the client's event thread.
/// </summary>
internal sealed class RefreshLoop : IAsyncDisposable
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<CancellationToken, Task> _refresh;
    private Task? _loop;

    public RefreshLoop(Func<CancellationToken, Task> refresh)
    {
        _refresh = refresh;
    }

    public void Start() => _loop = Task.Run(RunAsync);

    public void Wake() => _wake.Writer.TryWrite(true);

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                try
                {
                    await _refresh(token).ConfigureAwait(false);
                }
                catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss)
                {
                    // The reconnect's SyncConnected event wakes us again.
                }
                catch (KeeperException e) when (e.Code is ErrorCode.SessionExpired or ErrorCode.AuthFailed)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}

/// <summary>
/// Keeps the latest data of one node (Curator's <c>NodeCache</c>): set watches on it and re-reads after each change and
/// after every reconnect. <see cref="Changed"/> is raised on a background task, in order, with the new value (null when the
/// node is gone).
/// </summary>
public sealed class NodeCache : IAsyncDisposable
{
    private readonly ZooKeeperClient _client;
    private readonly string _path;
    private readonly RefreshLoop _loop;
    private readonly Action<WatchedEvent> _watcher;
    private ChildData? _current;

    /// <summary>Creates a cache of <paramref name="path"/> (which need not exist).</summary>
    public NodeCache(ZooKeeperClient client, string path)
    {
        _client = client;
        _path = path;
        _loop = new RefreshLoop(RefreshAsync);
        _watcher = e =>
        {
            if (e.Type != EventType.None || e.State == KeeperState.SyncConnected)
            {
                _loop.Wake();
            }
        };
    }

    /// <summary>Raised with the node's new data, or null when it was deleted.</summary>
    public event Action<ChildData?>? Changed;

    /// <summary>The cached data, or null when the node does not exist.</summary>
    public ChildData? Current => Volatile.Read(ref _current);

    /// <summary>Loads the node and starts following it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        _client.StateChanged += OnState;
        _loop.Start();
    }

    private void OnState(ConnectionState state)
    {
        if (state == ConnectionState.Connected)
        {
            _loop.Wake();
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        ChildData? next = null;
        var stat = await _client.ExistsAsync(_path, _watcher, cancellationToken).ConfigureAwait(false);
        if (stat is not null)
        {
            try
            {
                var (data, dataStat) = await _client.GetDataAsync(_path, _watcher, cancellationToken).ConfigureAwait(false);
                next = new ChildData(_path, data, dataStat);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
            {
            }
        }

        var previous = Volatile.Read(ref _current);
        var changed = (previous, next) switch
        {
            (null, null) => false,
            (null, _) or (_, null) => true,
            _ => previous.Stat.Mzxid != next.Stat.Mzxid || previous.Stat.Czxid != next.Stat.Czxid,
        };
        if (changed)
        {
            Volatile.Write(ref _current, next);
            Changed?.Invoke(next);
        }
    }

    /// <summary>Stops following the node.</summary>
    public ValueTask DisposeAsync()
    {
        _client.StateChanged -= OnState;
        return _loop.DisposeAsync();
    }
}

/// <summary>What happened to a node of a <see cref="TreeCache"/>.</summary>
public enum TreeCacheEventType
{
    /// <summary>A node appeared (or was found by the initial load).</summary>
    Added,
    /// <summary>A node's data changed.</summary>
    Updated,
    /// <summary>A node was deleted.</summary>
    Removed,
    /// <summary>The initial load finished.</summary>
    Initialized,
}

/// <summary>A change in a <see cref="TreeCache"/>.</summary>
public sealed record TreeCacheEvent(TreeCacheEventType Type, ChildData? Data, string? Path);

/// <summary>
/// Mirrors a whole subtree (Curator's <c>CuratorCache</c>): one persistent recursive watch (ZooKeeper 3.6+) on the root,
/// each node event applied in order by re-reading that node, and a full resynchronisation after every reconnect
/// (events that happened while disconnected are not replayed for persistent watches).
/// </summary>
public sealed class TreeCache : IAsyncDisposable
{
    private readonly ZooKeeperClient _client;
    private readonly string _root;
    private readonly Channel<WatchedEvent> _events = Channel.CreateUnbounded<WatchedEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, ChildData> _nodes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<WatchedEvent> _watcher;
    private Task? _loop;

    /// <summary>Creates a cache of the subtree at <paramref name="root"/>.</summary>
    public TreeCache(ZooKeeperClient client, string root)
    {
        _client = client;
        _root = root;
        _watcher = e => _events.Writer.TryWrite(e);
    }

    /// <summary>Raised (in order, on a background task) for every change.</summary>
    public event Action<TreeCacheEvent>? Changed;

    /// <summary>A snapshot of the mirrored nodes by path.</summary>
    public IReadOnlyDictionary<string, ChildData> Current
    {
        get
        {
            lock (_nodes)
            {
                return new Dictionary<string, ChildData>(_nodes, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The cached node at <paramref name="path"/>, or null.</summary>
    public ChildData? Get(string path)
    {
        lock (_nodes)
        {
            return _nodes.GetValueOrDefault(path);
        }
    }

    /// <summary>Sets the recursive watch, loads the subtree (raising Added for each node, then Initialized) and follows it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _client.AddWatchAsync(_root, AddWatchMode.PersistentRecursive, _watcher, cancellationToken).ConfigureAwait(false);
        await ResyncAsync(cancellationToken).ConfigureAwait(false);
        Raise(new TreeCacheEvent(TreeCacheEventType.Initialized, null, null));
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            await foreach (var e in _events.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                try
                {
                    await ApplyAsync(e, token).ConfigureAwait(false);
                }
                catch (KeeperException k) when (k.Code == ErrorCode.ConnectionLoss)
                {
                    // SyncConnected follows the reconnect and triggers a resync.
                }
                catch (KeeperException k) when (k.Code is ErrorCode.SessionExpired or ErrorCode.AuthFailed)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task ApplyAsync(WatchedEvent e, CancellationToken token)
    {
        switch (e.Type)
        {
            case EventType.None when e.State == KeeperState.SyncConnected:
                await ResyncAsync(token).ConfigureAwait(false);
                break;
            case EventType.NodeCreated or EventType.NodeDataChanged when e.Path is not null:
                await RefreshNodeAsync(e.Path, token).ConfigureAwait(false);
                break;
            case EventType.NodeDeleted when e.Path is not null:
                RemoveSubtree(e.Path);
                break;
        }
    }

    private async Task RefreshNodeAsync(string path, CancellationToken token)
    {
        try
        {
            var (data, stat) = await _client.GetDataAsync(path, cancellationToken: token).ConfigureAwait(false);
            Put(new ChildData(path, data, stat));
        }
        catch (KeeperException k) when (k.Code == ErrorCode.NoNode)
        {
            RemoveSubtree(path);
        }
    }

    private async Task ResyncAsync(CancellationToken token)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await LoadAsync(_root, seen, token).ConfigureAwait(false);
        List<string> stale;
        lock (_nodes)
        {
            stale = [.. _nodes.Keys.Where(p => !seen.Contains(p))];
        }

        foreach (var path in stale)
        {
            RemoveSubtree(path);
        }
    }

    private async Task LoadAsync(string path, HashSet<string> seen, CancellationToken token)
    {
        (byte[] Data, Stat Stat) node;
        IReadOnlyList<string> children;
        try
        {
            node = await _client.GetDataAsync(path, cancellationToken: token).ConfigureAwait(false);
            children = await _client.GetChildrenAsync(path, cancellationToken: token).ConfigureAwait(false);
        }
        catch (KeeperException k) when (k.Code == ErrorCode.NoNode)
        {
            return;
        }

        seen.Add(path);
        Put(new ChildData(path, node.Data, node.Stat));
        foreach (var child in children)
        {
            await LoadAsync(ZkPaths.Join(path, child), seen, token).ConfigureAwait(false);
        }
    }

    private void Put(ChildData data)
    {
        TreeCacheEventType? type;
        lock (_nodes)
        {
            var had = _nodes.TryGetValue(data.Path, out var old);
            type = !had ? TreeCacheEventType.Added
                : old!.Stat.Mzxid != data.Stat.Mzxid || old.Stat.Czxid != data.Stat.Czxid ? TreeCacheEventType.Updated
                : null;
            _nodes[data.Path] = data;
        }

        if (type is { } t)
        {
            Raise(new TreeCacheEvent(t, data, data.Path));
        }
    }

    private void RemoveSubtree(string path)
    {
        List<ChildData> removed = [];
        lock (_nodes)
        {
            foreach (var (p, d) in _nodes)
            {
                if (p == path || p.StartsWith(path == "/" ? "/" : path + "/", StringComparison.Ordinal))
                {
                    removed.Add(d);
                }
            }

            foreach (var d in removed)
            {
                _nodes.Remove(d.Path);
            }
        }

        foreach (var d in removed.OrderByDescending(d => d.Path.Length))
        {
            Raise(new TreeCacheEvent(TreeCacheEventType.Removed, d, d.Path));
        }
    }

    private void Raise(TreeCacheEvent e)
    {
        try
        {
            Changed?.Invoke(e);
        }
#pragma warning disable CA1031 // a listener fault must not stop the cache
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Stops following the subtree (removes the recursive watch when connected).</summary>
    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_client.State == ConnectionState.Connected)
        {
            try
            {
                await _client.RemoveWatchesAsync(_root, WatcherType.Any, _watcher, local: true).ConfigureAwait(false);
            }
            catch (KeeperException)
            {
            }
        }

        _stop.Dispose();
    }
}
