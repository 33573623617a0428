using Microsoft.Extensions.Logging;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Agent.Service;

/// <summary>How an agent reaches the coordination service.</summary>
public sealed record ServiceOptions
{
    /// <summary><c>host:port[,host:port...][/chroot]</c> (Flume's <c>-z/--zkConnString</c>).</summary>
    public required string ConnectString { get; init; }

    /// <summary>Requested session timeout. An agent whose process dies or is cut off is declared gone (its ephemerals
    /// deleted, singletons taken over) this long after it was last heard. Default 10 s (Curator's default that Flume
    /// uses is 60 s; a fleet wants failover sooner).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Credentials sent on every connection, e.g. <c>("digest", "user:password")</c>.</summary>
    public IReadOnlyList<(string Scheme, byte[] Auth)> Auth { get; init; } = [];

    /// <summary>Validates in one pass; returns every problem (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectString))
        {
            errors.Add("the connect string is empty (expected host:port[,host:port...][/chroot])");
        }
        else
        {
            try
            {
                Zooflow.Client.ConnectString.Parse(ConnectString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"connect string '{ConnectString}': {ex.Message}");
            }
        }
        if (SessionTimeout < TimeSpan.FromMilliseconds(500) || SessionTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"session timeout {SessionTimeout.TotalSeconds:0.###} s is out of range (allowed: 0.5 s .. 600 s)");
        }
        return errors;
    }

    /// <summary>Parses <c>scheme:credentials</c> as zkCli's <c>addauth</c> takes it (e.g. <c>digest:user:password</c>).
    /// Several entries may be separated by newlines or <c>;</c> (for the <c>ZOOFLOW_AUTH</c> variable).</summary>
    public static IReadOnlyList<(string Scheme, byte[] Auth)> ParseAuth(IEnumerable<string> entries, List<string> errors)
    {
        var result = new List<(string, byte[])>();
        foreach (var raw in entries.SelectMany(e => e.Split(['\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == raw.Length - 1)
            {
                errors.Add("auth entry is not scheme:credentials (e.g. digest:user:password)");
                continue;
            }
            var scheme = raw[..colon];
            var credentials = raw[(colon + 1)..];
            if (scheme == "digest" && !credentials.Contains(':', StringComparison.Ordinal))
            {
                errors.Add("digest auth needs user:password (e.g. digest:user:password)");
                continue;
            }
            result.Add((scheme, System.Text.Encoding.UTF8.GetBytes(credentials)));
        }
        return result;
    }
}

/// <summary>
/// One session with the service, as long as it lives. Its <see cref="Ended"/> token is cancelled when the server expired
/// it (or the agent stops); the client is then dead and a new lease with a new client follows.
/// </summary>
public sealed class SessionLease
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _ended = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal SessionLease(ZooKeeperClient client, int generation)
    {
        Client = client;
        Generation = generation;
        Ended = _ended.Token;
        client.StateChanged += OnStateChanged;
        OnStateChanged(client.State);
    }

    /// <summary>The client of this session; dead once <see cref="Ended"/> is cancelled.</summary>
    public ZooKeeperClient Client { get; }

    /// <summary>1 for the first session of the agent, 2 after the first expiry, ...</summary>
    public int Generation { get; }

    /// <summary>Cancelled when the session expired or the agent stops.</summary>
    public CancellationToken Ended { get; }

    /// <summary>The session id as ZooKeeper prints it (<c>0x...</c>).</summary>
    public string SessionIdText => "0x" + Client.SessionId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Raised on the client's event thread for every state change of this session's connection: Connecting
    /// means suspended (the session may live on), Connected means (re)connected with the session intact.</summary>
    public event Action<ConnectionState>? StateChanged;

    /// <summary>Completes once the client is connected (at once when it is).</summary>
    public async Task WaitConnectedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (Client.State == ConnectionState.Connected)
                {
                    return;
                }
                wait = _connected.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal void End()
    {
        Client.StateChanged -= OnStateChanged;
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void OnStateChanged(ConnectionState state)
    {
        lock (_lock)
        {
            if (state == ConnectionState.Connected)
            {
                _connected.TrySetResult();
            }
            else if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
        if (state is ConnectionState.Expired or ConnectionState.AuthFailed or ConnectionState.Closed)
        {
            try
            {
                _ended.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        try
        {
            StateChanged?.Invoke(state);
        }
#pragma warning disable CA1031 // a listener fault must not stop the client's event thread
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}

/// <summary>
/// Keeps an agent connected to the service across connection loss and session expiry. A broken connection is
/// repaired by the client (same session, watches re-registered); an expired session is replaced by a new client and a
/// new <see cref="SessionLease"/>, and everything that lived in the old session (ephemerals, election nodes, watches)
/// must be set up again by its owner — <see cref="SessionLoops.RunPerSessionAsync"/> does that for each participant.
/// </summary>
/// <remarks>Thread-safe. Logs with event ids 4000–4009.</remarks>
public sealed class ServiceSession : IAsyncDisposable
{
    private readonly ServiceOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource<SessionLease> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SessionLease? _current;
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the session keeper; nothing connects until <see cref="Start"/>.</summary>
    public ServiceSession(ServiceOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>The service settings.</summary>
    public ServiceOptions Options => _options;

    /// <summary>The live session, or null while there is none (before the first connect, between expiry and the next).</summary>
    public SessionLease? Current
    {
        get
        {
            lock (_lock)
            {
                return _current is { Ended.IsCancellationRequested: false } ? _current : null;
            }
        }
    }

    /// <summary>Raised when a new session starts (the first, and each one after an expiry).</summary>
    public event Action<SessionLease>? SessionStarted;

    /// <summary>Starts connecting in the background.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Returns the live session if it is newer than <paramref name="after"/>, else waits for the next one.</summary>
    public async Task<SessionLease> WaitForSessionAsync(SessionLease? after, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<SessionLease> next;
            lock (_lock)
            {
                if (_current is { Ended.IsCancellationRequested: false } current && (after is null || current.Generation > after.Generation))
                {
                    return current;
                }
                next = _next.Task;
            }
            var lease = await next.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (after is null || lease.Generation > after.Generation)
            {
                return lease;
            }
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var generation = 0;
        while (!stop.IsCancellationRequested)
        {
            var client = ZooKeeperClient.Create(_options.ConnectString, new ZooKeeperClientOptions
            {
                SessionTimeout = _options.SessionTimeout,
                AuthInfo = _options.Auth,
            });
            try
            {
                var waited = TimeSpan.Zero;
                while (true)
                {
                    try
                    {
                        await client.WaitConnectedAsync(stop).ConfigureAwait(false);
                        break;
                    }
                    catch (TimeoutException)
                    {
                        waited += _options.SessionTimeout;
                        _logger.LogWarning(new EventId(4000, "NoService"), "No session with {ConnectString} after {Seconds:0} s; still trying",
                            _options.ConnectString, waited.TotalSeconds);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                await client.DisposeAsync().ConfigureAwait(false);
                return;
            }
            catch (KeeperException ex)
            {
                _logger.LogError(new EventId(4001, "SessionFailed"), "Could not open a session with {ConnectString}: {Reason}; retrying", _options.ConnectString, ex.Message);
                await client.DisposeAsync().ConfigureAwait(false);
                await DelayQuietlyAsync(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                continue;
            }

            var lease = new SessionLease(client, ++generation);
            lock (_lock)
            {
                _current = lease;
                _next.TrySetResult(lease);
                _next = new TaskCompletionSource<SessionLease>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            _logger.LogInformation(new EventId(4002, "SessionStarted"), "Session {Session} with {ConnectString} established (timeout {Timeout} ms, session #{Generation})",
                lease.SessionIdText, _options.ConnectString, (int)client.SessionTimeout.TotalMilliseconds, generation);
            lease.StateChanged += state => OnState(lease, state);
            try
            {
                SessionStarted?.Invoke(lease);
            }
#pragma warning disable CA1031 // a listener fault must not stop the session keeper
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogError(new EventId(4003, "ListenerFailed"), ex, "A session listener failed");
            }

            using (var alive = CancellationTokenSource.CreateLinkedTokenSource(stop, lease.Ended))
            {
                await DelayQuietlyAsync(Timeout.InfiniteTimeSpan, alive.Token).ConfigureAwait(false);
            }
            lease.End();
            if (!stop.IsCancellationRequested)
            {
                _logger.LogWarning(new EventId(4004, "SessionExpired"), "Session {Session} ended ({State}); its ephemerals are gone. Starting a new session",
                    lease.SessionIdText, client.State);
            }
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void OnState(SessionLease lease, ConnectionState state)
    {
        switch (state)
        {
            case ConnectionState.Connecting:
                _logger.LogWarning(new EventId(4005, "Suspended"), "Connection to the service lost; session {Session} may live on, reconnecting", lease.SessionIdText);
                break;
            case ConnectionState.Connected:
                _logger.LogInformation(new EventId(4006, "Reconnected"), "Reconnected; session {Session} intact", lease.SessionIdText);
                break;
        }
    }

    private static async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Ends the current session (closing it deletes its ephemerals at once) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>Loops shared by everything that lives in the service's sessions.</summary>
public static class SessionLoops
{
    /// <summary>
    /// Runs <paramref name="body"/> once per session: with the current one, and again with each new session after an
    /// expiry. The body's token is cancelled when its session ends or <paramref name="cancellationToken"/> is. A body that
    /// fails for another reason is logged and run again on the same session after <paramref name="retryDelay"/>.
    /// </summary>
    public static async Task RunPerSessionAsync(ServiceSession session, string what, Func<SessionLease, CancellationToken, Task> body,
        ILogger logger, CancellationToken cancellationToken, TimeSpan? retryDelay = null)
    {
        SessionLease? lease = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (lease is null || lease.Ended.IsCancellationRequested)
                {
                    lease = await session.WaitForSessionAsync(lease, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Ended);
            try
            {
                await body(lease, linked.Token).ConfigureAwait(false);
                if (!linked.IsCancellationRequested)
                {
                    return; // the body finished its work
                }
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
            }
            catch (KeeperException ex) when (ex.Code is ErrorCode.SessionExpired or ErrorCode.SessionMoved || lease.Ended.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // one participant's fault must not stop the agent; it is logged and retried
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(new EventId(4007, "ParticipantFailed"), ex, "{What} failed; retrying", what);
                try
                {
                    await Task.Delay(retryDelay ?? TimeSpan.FromSeconds(1), linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    /// <summary>
    /// Within one session: calls <paramref name="refresh"/> now, and again whenever a watch it set fires (node events),
    /// after every reconnect (watches may have fired while away; re-reading is the safe way to catch up), and every
    /// <paramref name="period"/> when given. Wakes coalesce; calls never overlap. ConnectionLoss waits for the reconnect.
    /// </summary>
    public static async Task RunWatchLoopAsync(SessionLease lease, Func<Action<WatchedEvent>, CancellationToken, Task> refresh,
        TimeSpan? period, CancellationToken cancellationToken)
    {
        var wake = System.Threading.Channels.Channel.CreateBounded<bool>(new System.Threading.Channels.BoundedChannelOptions(1)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
        });
        void Watcher(WatchedEvent e)
        {
            if (e.Type != EventType.None)
            {
                wake.Writer.TryWrite(true);
            }
        }
        void OnState(ConnectionState state)
        {
            if (state == ConnectionState.Connected)
            {
                wake.Writer.TryWrite(true);
            }
        }
        lease.StateChanged += OnState;
        using var timer = period is { } p ? new Timer(_ => wake.Writer.TryWrite(true), null, p, p) : null;
        try
        {
            wake.Writer.TryWrite(true);
            while (await wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                wake.Reader.TryRead(out _);
                await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await refresh(Watcher, cancellationToken).ConfigureAwait(false);
                }
                catch (KeeperException ex) when (ex.Code == ErrorCode.ConnectionLoss)
                {
                    // The reconnect wakes us; if the connection is already back, go again at once.
                    if (lease.Client.State == ConnectionState.Connected)
                    {
                        wake.Writer.TryWrite(true);
                    }
                }
            }
        }
        finally
        {
            lease.StateChanged -= OnState;
        }
    }
}
