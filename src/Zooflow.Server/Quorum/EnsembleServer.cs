using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Consensus;
using Zooflow.Server.Configuration;
using Zooflow.Server.Network;
using Zooflow.Server.Persistence;
using Zooflow.Server.Pipeline;
using Zooflow.Storage;

namespace Zooflow.Server.Quorum;

/// <summary>
/// The composition root of a replicated-ensemble member (zoo.cfg with <c>server.N</c> lines and <c>dataDir/myid</c>):
/// recovers the data directory (snapshot only: the consensus core re-delivers committed records), opens the consensus
/// state (<see cref="ZabLogStore"/>), and wires the member's chain in <see cref="StartAsync"/>, the counterpart of
/// <see cref="StandaloneServer.StartAsync"/> (ZooKeeper's <c>setupRequestProcessors</c> per role; the role itself changes
/// at run time, so the chain is the same for leader, follower and observer and <see cref="StateMachine"/> branches on it).
/// </summary>
public sealed class EnsembleServer : IAsyncDisposable
{
    /// <summary>The secret session passwords derive from on every member: a session created through one member must be
    /// resumable on any other, so all members share it. ZooKeeper uses a fixed constant the same way
    /// (<c>SessionTrackerImpl</c>'s superSecret); a password only guards against a client resuming someone else's
    /// session by mistake, never against an attacker who can reach the port.</summary>
    private static readonly byte[] EnsembleSessionSecret = SHA256.HashData(Encoding.ASCII.GetBytes("zooflow ensemble session passwords v1"));

    private readonly ServerOptions _options;
    private readonly PersistentStore _store;
    private readonly ZabLogStore _zabStore;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private Channel<Work>? _inbox;
    private StateMachine? _machine;
    private ZabDriver? _driver;
    private ClientListener? _listener;
    private Snapshotter? _snapshotter;
    private Task _listenerTask = Task.CompletedTask;
    private Task _timers = Task.CompletedTask;
    private bool _disposed;

    private EnsembleServer(ServerOptions options, PersistentStore store, ZabLogStore zabStore, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _options = options;
        _store = store;
        _zabStore = zabStore;
        _loggerFactory = loggerFactory;
        _time = time;
    }

    /// <summary>The endpoint clients connect to.</summary>
    public IPEndPoint EndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Completes with the reason when the member must stop (a failed persist, a broken consensus invariant).</summary>
    public Task<string> Fatal => _driver?.Fatal ?? Task.FromResult("not started");

    /// <summary>Recovers <paramref name="persistence"/>'s data directory and starts the member.</summary>
    /// <param name="options">Validated options with <see cref="ServerOptions.Quorum"/> set.</param>
    /// <param name="persistence">Data directories and retention.</param>
    /// <param name="loggerFactory">Where log lines go.</param>
    /// <param name="time">The clock; null for the system clock.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <exception cref="System.Net.Sockets.SocketException">A client, quorum or election port is taken.</exception>
    /// <exception cref="IOException">The data directory is locked by another server, or cannot be recovered (the
    /// message says what to do).</exception>
    public static async Task<EnsembleServer> StartAsync(ServerOptions options, PersistenceOptions persistence, ILoggerFactory? loggerFactory = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Quorum is null)
        {
            throw new ArgumentException("the options have no ensemble (server.N lines); run a StandaloneServer", nameof(options));
        }

        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("Zooflow.Persistence");
        var store = await PersistentStore.OpenAsync(persistence, logger, cancellationToken, replayLog: false).ConfigureAwait(false);
        EnsembleServer? server = null;
        try
        {
            ZabLogStore zabStore;
            try
            {
                zabStore = ZabLogStore.Open(persistence.DataDir, store.Log.Log, store.Snapshots, store.Tree.LastProcessedZxid, persistence.SnapCount, logger);
            }
            catch (InvalidDataException ex)
            {
                throw new StorageException("cannot start this ensemble member: " + ex.Message, persistence.DataDir, 0, ex);
            }

            server = new EnsembleServer(options, store, zabStore, loggerFactory, time ?? TimeProvider.System);
            server.StartChain();
            return server;
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// The member's chain: client connections → inbox → state machine (sessions, reads, replies; learner: forward writes;
    /// leader: prep → propose) ⇄ consensus driver (persist → send → apply → advance) ⇄ peer transport.
    /// </summary>
    private void StartChain()
    {
        var quorum = _options.Quorum!;
        var logger = _loggerFactory.CreateLogger("Zooflow.Server");
        _inbox = Channel.CreateBounded<Work>(new BoundedChannelOptions(_options.MaxQueuedRequests)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var context = new ServerContext(_options, _time, logger, _inbox.Writer);
        _machine = new StateMachine(context, _inbox, _store.Tree, new InMemoryTxnLog(), EnsembleSessionSecret);

        // Ticks of the core: fine enough for election timers (finalizeWait 200 ms), coarse enough to cost nothing.
        var tickIntervalMs = Math.Clamp(_options.TickTimeMs / 20, 10, 50);
        var zabOptions = ZabOptions.FromZooKeeper(quorum.MyId, new Membership(quorum.VoterIds, quorum.ObserverIds), _options.TickTimeMs,
            quorum.InitLimit, quorum.SyncLimit, tickIntervalMs, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8))) with
        {
            DiffEntriesMax = _options.LearnerSyncDiffMax,
        };
        // An ordinary peer frame holds one proposal (at most jute.maxbuffer) or a ping reply's session reports.
        var frameBytesMax = (int)Math.Min(int.MaxValue / 2, 16L * Math.Max(_options.JuteMaxBufferBytes, 1 << 20));
        _driver = new ZabDriver(zabOptions, _zabStore, quorum, frameBytesMax, _machine.PostControl, tickIntervalMs, _time,
            _loggerFactory.CreateLogger("Zooflow.Quorum"));
        _machine.AttachEnsemble(_driver);

        _snapshotter = _store.StartSnapshotter(RunOnLoopAsync);
        _zabStore.SnapshotDue += _snapshotter.Request;
        _driver.Start(_machine, ProduceSnapshotAsync);
        _machine.Start(_stopping.Token);

        _listener = new ClientListener(context);
        _listenerTask = _listener.RunAsync(_stopping.Token);
        var timers = new List<Task>
        {
            LoopTimers.RunAsync(_inbox.Writer, TickWork.Instance, TimeSpan.FromMilliseconds(Math.Max(10, _options.TickTimeMs / 2)), _time, _stopping.Token),
            LoopTimers.RunAsync(_inbox.Writer, ReapWork.Instance, TimeSpan.FromMilliseconds(_options.ContainerCheckIntervalMs), _time, _stopping.Token),
        };
        if (_options.AutopurgePurgeIntervalHours > 0)
        {
            timers.Add(PurgeLoopAsync(TimeSpan.FromHours(_options.AutopurgePurgeIntervalHours), _stopping.Token));
        }

        _timers = Task.WhenAll(timers);
        ServerLog.Ready(logger, _listener.LocalEndPoint, _options.DataDir);
    }

    private Task RunOnLoopAsync(Action<Zooflow.DataTree.ZnodeTree> action, CancellationToken cancellationToken) =>
        LoopTimers.RunOnLoopAsync(_inbox!.Writer, action, cancellationToken);

    /// <summary>A snapshot of the applied tree for a SNAP learner: a fresh fuzzy snapshot (written like any other, so it
    /// also serves recovery), read back from its verified file.</summary>
    private async Task<SnapshotData> ProduceSnapshotAsync(CancellationToken cancellationToken)
    {
        var zxid = await _snapshotter!.TakeAsync(cancellationToken).ConfigureAwait(false);
        var file = _store.Snapshots.List().FirstOrDefault(s => s.Zxid == zxid);
        if (file.Path is null)
        {
            throw new IOException($"the snapshot at zxid 0x{zxid:x} just written is gone");
        }

        byte[] bytes = [];
        await SnapshotStore.ReadFileAsync(file.Path, async (body, info, ct) =>
        {
            using var copy = new MemoryStream();
            await body.CopyToAsync(copy, ct).ConfigureAwait(false);
            bytes = copy.ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return new SnapshotData(zxid, bytes);
    }

    private async Task PurgeLoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                _machine!.PostControl(new PurgeWork(Math.Max(SnapshotStore.MinRetainCount, _options.AutopurgeSnapRetainCount)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops accepting clients, closes the peer links, drains the loop, closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_snapshotter is not null)
        {
            _zabStore.SnapshotDue -= _snapshotter.Request;
        }

        await _store.StopBackgroundAsync().ConfigureAwait(false);
        await _listenerTask.ConfigureAwait(false);
        await _timers.ConfigureAwait(false);
        if (_driver is not null)
        {
            await _driver.DisposeAsync().ConfigureAwait(false);
        }

        _inbox?.Writer.TryComplete();
        if (_machine is not null)
        {
            await _machine.Completion.ConfigureAwait(false);
        }

        await _zabStore.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
