using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.DataTree;
using Zooflow.Server.Configuration;
using Zooflow.Server.Network;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server;

/// <summary>
/// The composition root of a standalone server: listener → connections → state machine (prep, apply, reply) ⇄ log stage,
/// plus the session tick and the container/TTL reaper timers. <see cref="StartAsync"/> wires the chain in one place
/// (ZooKeeper's <c>setupRequestProcessors</c>); an ensemble role will wire its own chain the same way.
/// </summary>
public sealed class StandaloneServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly byte[] _sessionSecret;
    private readonly ITxnLog _log;
    private readonly ZnodeTree? _tree;
    private readonly CancellationTokenSource _stopping = new();
    private Channel<Work>? _inbox;
    private StateMachine? _machine;
    private ClientListener? _listener;
    private Task _listenerTask = Task.CompletedTask;
    private Task _timers = Task.CompletedTask;
    private bool _disposed;

    /// <param name="options">Validated options.</param>
    /// <param name="loggerFactory">Where log lines go; null for none.</param>
    /// <param name="time">The clock (tests may pass a fake one); null for the system clock.</param>
    /// <param name="sessionSecret">Secret that session passwords derive from; null for 32 random bytes.</param>
    /// <param name="log">The transaction log; null for the in-memory pass-through. Owned: disposed with the server.</param>
    /// <param name="tree">The committed tree to serve, e.g. recovered from snapshot + log (its sessions are restored and
    /// expire unless their clients reconnect in time); null for an empty tree.</param>
    public StandaloneServer(ServerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? time = null, byte[]? sessionSecret = null,
        ITxnLog? log = null, ZnodeTree? tree = null)
    {
        _tree = tree;
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _time = time ?? TimeProvider.System;
        _sessionSecret = sessionSecret ?? RandomNumberGenerator.GetBytes(32);
        _log = log ?? new InMemoryTxnLog();
    }

    /// <summary>The endpoint clients connect to (valid after <see cref="StartAsync"/>; the real port when 0 was configured).</summary>
    public IPEndPoint EndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Binds the port and starts every stage. Throws <see cref="System.Net.Sockets.SocketException"/> when the port is taken.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var logger = _loggerFactory.CreateLogger("Zooflow.Server");
        _inbox = Channel.CreateBounded<Work>(new BoundedChannelOptions(_options.MaxQueuedRequests)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var context = new ServerContext(_options, _time, logger, _inbox.Writer);
        var tree = _tree ?? new ZnodeTree();

        // The chain: connections → inbox → state machine (prep) → log stage → state machine (apply, notify, reply).
        _machine = new StateMachine(context, _inbox, tree, _log, _sessionSecret);
        _listener = new ClientListener(context);
        _machine.Start(_stopping.Token);
        _listenerTask = _listener.RunAsync(_stopping.Token);
        _timers = Task.WhenAll(
            LoopTimers.RunAsync(_inbox.Writer, TickWork.Instance, TimeSpan.FromMilliseconds(Math.Max(10, _options.TickTimeMs / 2)), _time, _stopping.Token),
            LoopTimers.RunAsync(_inbox.Writer, ReapWork.Instance, TimeSpan.FromMilliseconds(_options.ContainerCheckIntervalMs), _time, _stopping.Token));
        ServerLog.Ready(logger, _listener.LocalEndPoint, _options.DataDir);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the state machine loop, the only thread that may touch the tree (e.g. a fuzzy
    /// snapshot copying a chunk of nodes between transactions). Completes when the action ran.
    /// </summary>
    public Task RunOnLoopAsync(Action<ZnodeTree> action, CancellationToken cancellationToken) =>
        LoopTimers.RunOnLoopAsync(_inbox?.Writer ?? throw new InvalidOperationException("The server has not started."), action, cancellationToken);

    /// <summary>Stops accepting, closes connections, drains the stages.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        ServerLog.Stopping(_loggerFactory.CreateLogger("Zooflow.Server"));
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _listenerTask.ConfigureAwait(false);
        await _timers.ConfigureAwait(false);
        _inbox?.Writer.TryComplete();
        if (_machine is not null)
        {
            await _machine.Completion.ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        await _log.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
