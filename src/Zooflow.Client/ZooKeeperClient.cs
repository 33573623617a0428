using System.Threading.Channels;
using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>
/// An asynchronous client for any server that speaks ZooKeeper's client protocol (Apache ZooKeeper 3.5+, Zooflow).
/// </summary>
/// <remarks>
/// <para><b>Session.</b> One session, kept across connections: when a connection breaks, requests in flight or queued fail
/// with <see cref="ErrorCode.ConnectionLoss"/>, watchers hear <see cref="KeeperState.Disconnected"/>, and the client
/// reconnects to the hosts of the connect string (shuffled once, then in turn) with the same session id and password,
/// re-sends its credentials and re-registers its watches (setWatches / setWatches2). If the server says the session
/// expired, every request fails with <see cref="ErrorCode.SessionExpired"/>, watchers hear
/// <see cref="KeeperState.Expired"/>, and the client stays dead: create a new one.</para>
/// <para><b>Ordering.</b> Requests are pipelined on one connection: a single writer assigns xids in the order requests
/// were submitted, and replies are matched in FIFO order. Watch callbacks run one at a time on one event loop in arrival
/// order; a reply that arrives after a watch event completes only after that event's callbacks ran.</para>
/// <para><b>Watchers</b> are <see cref="Action{WatchedEvent}"/>s; <c>watch: true</c> means the default watcher (the
/// <see cref="ZooKeeperClientOptions.DefaultWatcher"/> callback and the <see cref="Events"/> stream). State changes go
/// to every registered watcher and to the default one, as in ZooKeeper's Java client.</para>
/// <para><b>Thread-safety.</b> Every member may be called from any thread concurrently. Every call takes a
/// <see cref="CancellationToken"/>; cancelling abandons the wait (a request already sent may still be applied).</para>
/// </remarks>
public sealed partial class ZooKeeperClient : IAsyncDisposable
{
    private const int EventStreamCapacity = 10_000;
    private readonly ConnectString _connectString;
    private readonly ZooKeeperClientOptions _options;
    private readonly Random _random;
    private readonly WatchRegistry _watches = new();
    private readonly EventDispatcher _dispatcher = new();
    private readonly List<(string Scheme, byte[] Auth)> _authInfo;
    private readonly Channel<WatchedEvent> _events = Channel.CreateBounded<WatchedEvent>(
        new BoundedChannelOptions(EventStreamCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<WatchedEvent> _defaultWatcher;
    private readonly Task _connectionLoop;
    private volatile ConnectionState _state = ConnectionState.Connecting;
    private long _sessionId;
    private byte[] _sessionPassword = new byte[16];
    private int _negotiatedTimeoutMs;
    private long _lastZxid;
    private int _closing;

    private ZooKeeperClient(ConnectString connectString, ZooKeeperClientOptions options)
    {
        _connectString = connectString;
        _options = options;
        _random = options.Random ?? new Random();
        _authInfo = [.. options.AuthInfo];
        if (options.ResumeSession is { } resume)
        {
            _sessionId = resume.SessionId;
            _sessionPassword = resume.Password;
        }

        _defaultWatcher = e =>
        {
            _events.Writer.TryWrite(e);
            options.DefaultWatcher?.Invoke(e);
        };
        _connectionLoop = Task.Run(RunConnectionLoopAsync);
    }

    /// <summary>Raised on the event loop when the connection state changes (Connected, Connecting, Expired, AuthFailed, Closed).</summary>
    public event Action<ConnectionState>? StateChanged;

    /// <summary>The current state.</summary>
    public ConnectionState State => _state;

    /// <summary>The session id (0 before the first connect).</summary>
    public long SessionId => Interlocked.Read(ref _sessionId);

    /// <summary>The session password (to resume the session from another client).</summary>
    public byte[] SessionPassword => _sessionPassword;

    /// <summary>The session timeout the server granted (zero before the first connect).</summary>
    public TimeSpan SessionTimeout => TimeSpan.FromMilliseconds(_negotiatedTimeoutMs);

    /// <summary>The last zxid seen in a reply.</summary>
    public long LastZxid => Interlocked.Read(ref _lastZxid);

    /// <summary>The parsed connect string (hosts and chroot).</summary>
    public ConnectString ConnectString => _connectString;

    /// <summary>
    /// Events for the default watcher, in order: state changes and watches set with <c>watch: true</c>. Buffered (the
    /// latest <c>10,000</c> are kept when nobody reads); one reader at a time.
    /// </summary>
    public IAsyncEnumerable<WatchedEvent> Events => _events.Reader.ReadAllAsync();

    private int RequestedTimeoutMs => (int)_options.SessionTimeout.TotalMilliseconds;

    /// <summary>
    /// Creates a client and waits until its session is established.
    /// </summary>
    /// <param name="connectString"><c>host:port[,host:port...][/chroot]</c>.</param>
    /// <param name="options">Settings, or null for <see cref="ZooKeeperClientOptions.Default"/>.</param>
    /// <param name="cancellationToken">Abandons the wait (the client is closed).</param>
    /// <exception cref="TimeoutException">No session within <see cref="ZooKeeperClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="KeeperException">The session to resume expired, or authentication failed.</exception>
    public static async Task<ZooKeeperClient> ConnectAsync(string connectString, ZooKeeperClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var client = Create(connectString, options);
        try
        {
            await client.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates a client that starts connecting in the background (requests queue until the session exists).</summary>
    public static ZooKeeperClient Create(string connectString, ZooKeeperClientOptions? options = null)
    {
        options ??= ZooKeeperClientOptions.Default;
        options.Validate();
        return new ZooKeeperClient(ConnectString.Parse(connectString), options);
    }

    /// <summary>Waits for the first session (bounded by <see cref="ZooKeeperClientOptions.ConnectTimeout"/>).</summary>
    public async Task WaitConnectedAsync(CancellationToken cancellationToken = default)
    {
        var timeout = _options.ConnectTimeout ?? _options.SessionTimeout;
        try
        {
            await _firstConnected.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no ZooKeeper session with {string.Join(',', _connectString.Hosts.Select(h => h.Host + ":" + h.Port))} within {timeout.TotalSeconds:0.###} s");
        }
    }

    // ---- operations ----------------------------------------------------------------------------------------------

    /// <summary>Creates a node and returns its client path (with the sequence suffix for sequential modes).</summary>
    /// <param name="path">Client path.</param>
    /// <param name="data">Data (null = empty).</param>
    /// <param name="acl">ACL (null = world:anyone:cdrwa).</param>
    /// <param name="mode">Create mode; TTL modes need <paramref name="ttl"/>.</param>
    /// <param name="ttl">Time to live for TTL modes.</param>
    /// <param name="cancellationToken">Abandons the wait.</param>
    public async Task<string> CreateAsync(string path, byte[]? data, IReadOnlyList<Acl>? acl = null, CreateMode mode = CreateMode.Persistent,
        TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        (await CreateWithStatAsync(path, data, acl, mode, ttl, cancellationToken).ConfigureAwait(false)).Path;

    /// <summary>Creates a node and returns its client path and Stat (create2 / createContainer / createTTL).</summary>
    public async Task<(string Path, Stat Stat)> CreateWithStatAsync(string path, byte[]? data, IReadOnlyList<Acl>? acl = null,
        CreateMode mode = CreateMode.Persistent, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        var (op, body) = CreateBody(new CreateOp(path, data ?? [], acl ?? Acl.OpenAclUnsafe, mode, ttl));
        var reply = await SubmitAsync(op, body, null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        var response = (Create2Response)reply.Body!;
        return (_connectString.ToClientPath(response.Path), response.Stat);
    }

    /// <summary>Deletes a node if its version matches (-1 = any version).</summary>
    public async Task DeleteAsync(string path, int version = -1, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var reply = await SubmitAsync(OpCode.Delete, new DeleteRequest(ServerPath(path), version), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
    }

    /// <summary>Returns the node's Stat, or null if it does not exist; <paramref name="watch"/> sets a default-watcher watch
    /// (fires on create, delete or data change).</summary>
    public Task<Stat?> ExistsAsync(string path, bool watch = false, CancellationToken cancellationToken = default) =>
        ExistsCoreAsync(path, watch ? _defaultWatcher : null, cancellationToken);

    /// <summary>Returns the node's Stat, or null if it does not exist, and leaves <paramref name="watcher"/> on it.</summary>
    public Task<Stat?> ExistsAsync(string path, Action<WatchedEvent> watcher, CancellationToken cancellationToken = default) =>
        ExistsCoreAsync(path, watcher, cancellationToken);

    /// <summary>Returns the node's data and Stat; <paramref name="watch"/> sets a default-watcher data watch.</summary>
    public Task<(byte[] Data, Stat Stat)> GetDataAsync(string path, bool watch = false, CancellationToken cancellationToken = default) =>
        GetDataCoreAsync(path, watch ? _defaultWatcher : null, cancellationToken);

    /// <summary>Returns the node's data and Stat and leaves <paramref name="watcher"/> on it.</summary>
    public Task<(byte[] Data, Stat Stat)> GetDataAsync(string path, Action<WatchedEvent> watcher, CancellationToken cancellationToken = default) =>
        GetDataCoreAsync(path, watcher, cancellationToken);

    /// <summary>Sets the node's data if its version matches (-1 = any); returns the new Stat.</summary>
    public async Task<Stat> SetDataAsync(string path, byte[]? data, int version = -1, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var reply = await SubmitAsync(OpCode.SetData, new SetDataRequest(ServerPath(path), data ?? [], version), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        return ((StatResponse)reply.Body!).Stat;
    }

    /// <summary>Returns the node's ACL and Stat.</summary>
    public async Task<(IReadOnlyList<Acl> Acl, Stat Stat)> GetAclAsync(string path, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var reply = await SubmitAsync(OpCode.GetAcl, new GetAclRequest(ServerPath(path)), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        var response = (GetAclResponse)reply.Body!;
        return (response.Acl, response.Stat);
    }

    /// <summary>Sets the node's ACL if its ACL version matches (-1 = any); returns the new Stat.</summary>
    public async Task<Stat> SetAclAsync(string path, IReadOnlyList<Acl> acl, int aclVersion = -1, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        ArgumentNullException.ThrowIfNull(acl);
        var reply = await SubmitAsync(OpCode.SetAcl, new SetAclRequest(ServerPath(path), acl, aclVersion), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        return ((StatResponse)reply.Body!).Stat;
    }

    /// <summary>Returns the node's children (unordered names); <paramref name="watch"/> sets a default-watcher child watch.</summary>
    public async Task<IReadOnlyList<string>> GetChildrenAsync(string path, bool watch = false, CancellationToken cancellationToken = default) =>
        (await GetChildrenCoreAsync(path, watch ? _defaultWatcher : null, withStat: false, cancellationToken).ConfigureAwait(false)).Children;

    /// <summary>Returns the node's children and leaves <paramref name="watcher"/> on it (fires on child create/delete and on
    /// the node's own deletion).</summary>
    public async Task<IReadOnlyList<string>> GetChildrenAsync(string path, Action<WatchedEvent> watcher, CancellationToken cancellationToken = default) =>
        (await GetChildrenCoreAsync(path, watcher, withStat: false, cancellationToken).ConfigureAwait(false)).Children;

    /// <summary>Returns the node's children and its Stat (getChildren2).</summary>
    public Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenWithStatAsync(string path, bool watch = false, CancellationToken cancellationToken = default) =>
        GetChildrenCoreAsync(path, watch ? _defaultWatcher : null, withStat: true, cancellationToken);

    /// <summary>Returns the node's children and its Stat (getChildren2) and leaves <paramref name="watcher"/> on it.</summary>
    public Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenWithStatAsync(string path, Action<WatchedEvent> watcher, CancellationToken cancellationToken = default) =>
        GetChildrenCoreAsync(path, watcher, withStat: true, cancellationToken);

    /// <summary>Number of all descendants of the node (not counting itself).</summary>
    public async Task<int> GetAllChildrenNumberAsync(string path, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var reply = await SubmitAsync(OpCode.GetAllChildrenNumber, new GetAllChildrenNumberRequest(ServerPath(path)), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        return ((GetAllChildrenNumberResponse)reply.Body!).TotalNumber;
    }

    /// <summary>The session's ephemeral nodes whose path starts with <paramref name="prefixPath"/> (client paths).</summary>
    public async Task<IReadOnlyList<string>> GetEphemeralsAsync(string prefixPath = "/", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefixPath);
        var reply = await SubmitAsync(OpCode.GetEphemerals, new GetEphemeralsRequest(ServerPath(prefixPath)), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, prefixPath);
        var ephemerals = ((GetEphemeralsResponse)reply.Body!).Ephemerals;
        return _connectString.Chroot is null ? ephemerals : [.. ephemerals.Select(_connectString.ToClientPath)];
    }

    /// <summary>Waits until the server this client talks to has caught up with the leader for <paramref name="path"/>.</summary>
    public async Task<string> SyncAsync(string path, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var reply = await SubmitAsync(OpCode.Sync, new SyncRequest(ServerPath(path)), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        return _connectString.ToClientPath(((SyncResponse)reply.Body!).Path);
    }

    /// <summary>The identities this session authenticated as (whoAmI, ZooKeeper 3.7+).</summary>
    public async Task<IReadOnlyList<ClientInfo>> WhoAmIAsync(CancellationToken cancellationToken = default)
    {
        var reply = await SubmitAsync(OpCode.WhoAmI, null, null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, null);
        return ((WhoAmIResponse)reply.Body!).ClientInfo;
    }

    /// <summary>
    /// Adds credentials (e.g. scheme <c>digest</c>, <see cref="DigestAuth.AuthBytes"/>). They are re-sent after every
    /// reconnect. When connected, waits for the server's answer; a rejected credential kills the client
    /// (<see cref="ErrorCode.AuthFailed"/>), as in ZooKeeper.
    /// </summary>
    public async Task AddAuthAsync(string scheme, byte[] auth, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        ArgumentNullException.ThrowIfNull(auth);
        lock (_authInfo)
        {
            _authInfo.Add((scheme, auth));
        }

        if (_state != ConnectionState.Connected)
        {
            return;
        }

        var reply = await SubmitAsync(OpCode.Auth, new AuthPacket(0, scheme, auth), null, cancellationToken).ConfigureAwait(false);
        if (reply.Err == ErrorCode.ConnectionLoss)
        {
            return; // re-sent when the connection is back
        }

        ThrowIfError(reply, null);
    }

    /// <summary>
    /// Runs <paramref name="ops"/> as one transaction: all apply or none. On failure throws a <see cref="KeeperException"/>
    /// with the first failing operation's code and path and every result in <see cref="KeeperException.Results"/>.
    /// </summary>
    public async Task<IReadOnlyList<OpResult>> MultiAsync(IEnumerable<Op> ops, CancellationToken cancellationToken = default)
    {
        var list = ops.ToList();
        if (list.Count == 0)
        {
            return [];
        }

        var request = new MultiRequest([.. list.Select(ToMultiOp)]);
        var reply = await SubmitAsync(OpCode.Multi, request, null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, null);
        var results = ToResults((MultiResponse)reply.Body!);
        for (var i = 0; i < results.Count; i++)
        {
            if (results[i] is ErrorResult { Code: not (ErrorCode.Ok or ErrorCode.RuntimeInconsistency) } error)
            {
                throw new KeeperException(error.Code, i < list.Count ? list[i].Path : null) { Results = results };
            }
        }

        return results;
    }

    /// <summary>Runs getData / getChildren operations in one request; each result is its data or an <see cref="ErrorResult"/>.</summary>
    public async Task<IReadOnlyList<OpResult>> MultiReadAsync(IEnumerable<Op> ops, CancellationToken cancellationToken = default)
    {
        var list = ops.ToList();
        if (list.Any(op => op is not (GetDataOp or GetChildrenOp)))
        {
            throw new ArgumentException("multiRead takes only getData and getChildren operations", nameof(ops));
        }

        if (list.Count == 0)
        {
            return [];
        }

        var reply = await SubmitAsync(OpCode.MultiRead, new MultiRequest([.. list.Select(ToMultiOp)]), null, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, null);
        return ToResults((MultiResponse)reply.Body!);
    }

    /// <summary>Adds a persistent (or persistent recursive) watch: it stays after firing until removed (ZooKeeper 3.6+).</summary>
    /// <param name="path">Client path.</param>
    /// <param name="mode">Persistent or PersistentRecursive.</param>
    /// <param name="watcher">Callback, or null for the default watcher.</param>
    /// <param name="cancellationToken">Abandons the wait.</param>
    public async Task AddWatchAsync(string path, AddWatchMode mode, Action<WatchedEvent>? watcher = null, CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var kind = mode == AddWatchMode.PersistentRecursive ? WatchKind.PersistentRecursive : WatchKind.Persistent;
        var reply = await SubmitAsync(OpCode.AddWatch, new AddWatchRequest(ServerPath(path), mode),
            new WatchRegistration(kind, path, watcher ?? _defaultWatcher), cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
    }

    /// <summary>
    /// Removes watches of <paramref name="type"/> on <paramref name="path"/>: only <paramref name="watcher"/> when given
    /// (checkWatches), else all of them (removeWatches). Removed watchers hear a *WatchRemoved event. With
    /// <paramref name="local"/>, they are removed here even when the server cannot be reached.
    /// </summary>
    /// <exception cref="KeeperException"><see cref="ErrorCode.NoWatcher"/> when no such watch exists.</exception>
    public async Task RemoveWatchesAsync(string path, WatcherType type, Action<WatchedEvent>? watcher = null, bool local = false,
        CancellationToken cancellationToken = default)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        if (!_watches.Contains(path, type, watcher))
        {
            throw new KeeperException(ErrorCode.NoWatcher, path);
        }

        var op = watcher is null ? OpCode.RemoveWatches : OpCode.CheckWatches;
        var reply = await SubmitAsync(op, new RemoveWatchesRequest(ServerPath(path), type), null, cancellationToken).ConfigureAwait(false);
        if (reply.Err != ErrorCode.Ok && !local)
        {
            ThrowIfError(reply, path);
        }

        var removed = _watches.Remove(path, type, watcher);
        if (removed.Count > 0)
        {
            _dispatcher.Enqueue(() =>
            {
                foreach (var (w, eventType) in removed)
                {
                    InvokeWatcher(w, new WatchedEvent(eventType, KeeperState.SyncConnected, path));
                }
            });
        }
    }

    /// <summary>
    /// Closes the session (closeSession, so its ephemerals go at once) and the connection. Pending requests fail with
    /// ConnectionLoss; watchers hear <see cref="KeeperState.Closed"/>.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            await _connectionLoop.ConfigureAwait(false);
            return;
        }

        if (_state == ConnectionState.Connected)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await SubmitAsync(OpCode.CloseSession, null, null, timeout.Token, internalCall: true).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var wasTerminal = _state is ConnectionState.Expired or ConnectionState.AuthFailed;
        if (!wasTerminal)
        {
            _state = ConnectionState.Closed;
        }

        _outgoing.Writer.TryComplete();
        await _closeCts.CancelAsync().ConfigureAwait(false);
        DropSocket();
        try
        {
            await _connectionLoop.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing must not throw for the connection's own faults
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        FailAll(ErrorCode.ConnectionLoss);
        _firstConnected.TrySetException(new KeeperException(ErrorCode.ConnectionLoss, null, "client closed"));
        if (!wasTerminal)
        {
            DeliverStateEvent(KeeperState.Closed, ConnectionState.Closed, clearWatches: true);
        }

        _events.Writer.TryComplete();
        await _dispatcher.CompleteAsync().ConfigureAwait(false);
        _closeCts.Dispose();
    }

    /// <inheritdoc cref="CloseAsync"/>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    /// <summary>Drops the current TCP connection (the session survives and the client reconnects). For tests and tools.</summary>
    public void DropConnection() => DropSocket();

    // ---- helpers -------------------------------------------------------------------------------------------------

    private async Task<Stat?> ExistsCoreAsync(string path, Action<WatchedEvent>? watcher, CancellationToken cancellationToken)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var registration = watcher is null ? null : new WatchRegistration(WatchKind.Exists, path, watcher);
        var reply = await SubmitAsync(OpCode.Exists, new ExistsRequest(ServerPath(path), watcher is not null), registration, cancellationToken).ConfigureAwait(false);
        if (reply.Err == ErrorCode.NoNode)
        {
            return null;
        }

        ThrowIfError(reply, path);
        return ((StatResponse)reply.Body!).Stat;
    }

    private async Task<(byte[] Data, Stat Stat)> GetDataCoreAsync(string path, Action<WatchedEvent>? watcher, CancellationToken cancellationToken)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var registration = watcher is null ? null : new WatchRegistration(WatchKind.Data, path, watcher);
        var reply = await SubmitAsync(OpCode.GetData, new GetDataRequest(ServerPath(path), watcher is not null), registration, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        var response = (GetDataResponse)reply.Body!;
        return (response.Data, response.Stat);
    }

    private async Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenCoreAsync(string path, Action<WatchedEvent>? watcher, bool withStat,
        CancellationToken cancellationToken)
    {
        ZooKeeperClientOptions.ValidatePath(path);
        var registration = watcher is null ? null : new WatchRegistration(WatchKind.Child, path, watcher);
        var op = withStat ? OpCode.GetChildren2 : OpCode.GetChildren;
        var reply = await SubmitAsync(op, new GetChildrenRequest(ServerPath(path), watcher is not null), registration, cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, path);
        return reply.Body switch
        {
            GetChildren2Response r => (r.Children, r.Stat),
            GetChildrenResponse r => (r.Children, default),
            _ => throw new KeeperException(ErrorCode.MarshallingError, path),
        };
    }

    private Task<Reply> SubmitAsync(OpCode op, IJuteWritable? body, WatchRegistration? watch, CancellationToken cancellationToken, bool internalCall = false)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<Reply>(cancellationToken);
        }

        var terminal = _state switch
        {
            ConnectionState.Expired => ErrorCode.SessionExpired,
            ConnectionState.AuthFailed => ErrorCode.AuthFailed,
            ConnectionState.Closed => ErrorCode.ConnectionLoss,
            _ => ErrorCode.Ok,
        };
        if (terminal == ErrorCode.Ok && Volatile.Read(ref _closing) != 0 && !internalCall)
        {
            terminal = ErrorCode.ConnectionLoss;
        }

        var packet = new Packet(op, body, watch);
        if (terminal != ErrorCode.Ok || !_outgoing.Writer.TryWrite(packet))
        {
            return Task.FromResult(new Reply(terminal == ErrorCode.Ok ? ErrorCode.ConnectionLoss : terminal, null, 0));
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return packet.Completion.Task;
        }

        return WaitCancellableAsync(packet, cancellationToken);
    }

    private static async Task<Reply> WaitCancellableAsync(Packet packet, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(
            static (state, token) => ((Packet)state!).Completion.TrySetCanceled(token), packet);
        return await packet.Completion.Task.ConfigureAwait(false);
    }

    private void ThrowIfError(Reply reply, string? path)
    {
        if (reply.Err != ErrorCode.Ok)
        {
            var detail = reply.Err == ErrorCode.ConnectionLoss && _state == ConnectionState.Closed ? "client closed" : null;
            throw new KeeperException(reply.Err, path, detail);
        }
    }

    private string ServerPath(string clientPath) => _connectString.ToServerPath(clientPath);

    private (OpCode Op, IJuteWritable Body) CreateBody(CreateOp create)
    {
        var sequential = create.Mode is CreateMode.PersistentSequential or CreateMode.EphemeralSequential or CreateMode.PersistentSequentialWithTtl;
        ZooKeeperClientOptions.ValidatePath(create.Path, sequential);
        var serverPath = ServerPath(create.Path);
        switch (create.Mode)
        {
            case CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl:
                if (create.Ttl is not { } ttl || ttl <= TimeSpan.Zero)
                {
                    throw new ArgumentException("TTL modes need a positive ttl", nameof(create));
                }

                return (OpCode.CreateTtl, new CreateTtlRequest(serverPath, create.Data, create.Acl, create.Mode, (long)ttl.TotalMilliseconds));
            case CreateMode.Container:
                return (OpCode.CreateContainer, new CreateRequest(serverPath, create.Data, create.Acl, create.Mode));
            default:
                if (create.Ttl is not null)
                {
                    throw new ArgumentException("ttl is only valid with a TTL create mode", nameof(create));
                }

                return (OpCode.Create2, new CreateRequest(serverPath, create.Data, create.Acl, create.Mode));
        }
    }

    private MultiOp ToMultiOp(Op op)
    {
        switch (op)
        {
            case CreateOp create:
                var (code, body) = CreateBody(create);
                return new MultiOp(code, body);
            case DeleteOp delete:
                ZooKeeperClientOptions.ValidatePath(delete.Path);
                return new MultiOp(OpCode.Delete, new DeleteRequest(ServerPath(delete.Path), delete.Version));
            case SetDataOp set:
                ZooKeeperClientOptions.ValidatePath(set.Path);
                return new MultiOp(OpCode.SetData, new SetDataRequest(ServerPath(set.Path), set.Data, set.Version));
            case CheckOp check:
                ZooKeeperClientOptions.ValidatePath(check.Path);
                return new MultiOp(OpCode.Check, new CheckVersionRequest(ServerPath(check.Path), check.Version));
            case GetChildrenOp children:
                ZooKeeperClientOptions.ValidatePath(children.Path);
                return new MultiOp(OpCode.GetChildren, new GetChildrenRequest(ServerPath(children.Path), false));
            case GetDataOp get:
                ZooKeeperClientOptions.ValidatePath(get.Path);
                return new MultiOp(OpCode.GetData, new GetDataRequest(ServerPath(get.Path), false));
            default:
                throw new ArgumentException($"unknown operation {op?.GetType().Name}", nameof(op));
        }
    }

    private List<OpResult> ToResults(MultiResponse response)
    {
        var results = new List<OpResult>(response.Results.Count);
        foreach (var result in response.Results)
        {
            results.Add(result.Response switch
            {
                Create2Response r => new CreateResult(_connectString.ToClientPath(r.Path), r.Stat),
                CreateResponse r => new CreateResult(_connectString.ToClientPath(r.Path), null),
                StatResponse r => new SetDataResult(r.Stat),
                GetChildrenResponse r => new GetChildrenResult(r.Children),
                GetDataResponse r => new GetDataResult(r.Data, r.Stat),
                ErrorResponse r => new ErrorResult(r.Err),
                null when result.Type == OpCode.Delete => new DeleteResult(),
                null when result.Type == OpCode.Check => new CheckResult(),
                _ => new ErrorResult(result.Err),
            });
        }

        return results;
    }
}
