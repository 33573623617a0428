using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Storage;

namespace Zooflow.Server.Persistence;

/// <summary>Settings of the durable store, from zoo.cfg.</summary>
public sealed record PersistenceOptions
{
    /// <summary><c>dataDir</c>: snapshots, the session secret and (without <see cref="DataLogDir"/>) the log.</summary>
    public required string DataDir { get; init; }

    /// <summary><c>dataLogDir</c>; null = <see cref="DataDir"/>.</summary>
    public string? DataLogDir { get; init; }

    /// <summary><c>snapCount</c>.</summary>
    public int SnapCount { get; init; } = 100_000;

    /// <summary><c>forceSync</c>; false is UNSAFE (no fsync).</summary>
    public bool ForceSync { get; init; } = true;

    /// <summary><c>autopurge.snapRetainCount</c> (at least 3).</summary>
    public int SnapRetainCount { get; init; } = 3;

    /// <summary><c>autopurge.purgeInterval</c> in hours; 0 = off.</summary>
    public int PurgeIntervalHours { get; init; }

    /// <summary>TTL node decoding (<c>extendedTypesEnabled</c>).</summary>
    public bool ExtendedTypesEnabled { get; init; }

    /// <summary>Log segment preallocation (tests shrink it).</summary>
    public long PreallocateBytes { get; init; } = TxnLogOptions.DefaultPreallocateBytes;

    /// <summary>The effective log directory.</summary>
    public string EffectiveDataLogDir => DataLogDir ?? DataDir;
}

/// <summary>
/// Opens a data directory for a server: takes the directory locks, opens the log (repairing a torn tail), loads the newest
/// valid snapshot, replays the log after it, and hands out the recovered <see cref="ZnodeTree"/> with its
/// <see cref="DurableTxnLog"/>, <see cref="Snapshotter"/> and the persistent session secret (so a client reconnecting after a
/// restart, within its timeout, presents a password the server still accepts).
/// </summary>
public sealed class PersistentStore : IAsyncDisposable
{
    /// <summary>File in dataDir holding the 32-byte secret session passwords derive from.</summary>
    public const string SecretFileName = "session.secret";

    private readonly DataDirectoryLock _dataLock;
    private readonly DataDirectoryLock? _logLock;
    private readonly ILogger _logger;
    private readonly PersistenceOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private Snapshotter? _snapshotter;
    private Task _purge = Task.CompletedTask;
    private bool _disposed;

    private PersistentStore(PersistenceOptions options, DataDirectoryLock dataLock, DataDirectoryLock? logLock, SnapshotStore snapshots,
        DurableTxnLog log, ZnodeTree tree, byte[] secret, RecoveryReport report, ILogger logger)
    {
        _options = options;
        _dataLock = dataLock;
        _logLock = logLock;
        Snapshots = snapshots;
        Log = log;
        Tree = tree;
        SessionSecret = secret;
        Recovery = report;
        _logger = logger;
    }

    /// <summary>The recovered tree (hand it to the state machine; from then on the loop owns it).</summary>
    public ZnodeTree Tree { get; }

    /// <summary>The log to give the state machine.</summary>
    public DurableTxnLog Log { get; }

    /// <summary>The snapshot files.</summary>
    public SnapshotStore Snapshots { get; }

    /// <summary>The persistent session secret.</summary>
    public byte[] SessionSecret { get; }

    /// <summary>What recovery found and did.</summary>
    public RecoveryReport Recovery { get; }

    /// <summary>The snapshotter once <see cref="StartBackground"/> ran.</summary>
    public Snapshotter? Snapshotter => _snapshotter;

    /// <summary>Opens and recovers. Throws <see cref="DataDirectoryLockedException"/> when another server holds the directory,
    /// <see cref="StorageException"/> when nothing safe can be started from (a gap between snapshot and log).</summary>
    /// <param name="options">Settings.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="cancellationToken">Cancels recovery.</param>
    /// <param name="replayLog">True (standalone): replay the log after the snapshot into the tree. False (an ensemble
    /// member): the tree is the snapshot alone, because the log may end with records that were never committed; the
    /// consensus core hands the committed ones out again (docs/consensus.md, "Restart").</param>
    public static async Task<PersistentStore> OpenAsync(PersistenceOptions options, ILogger logger, CancellationToken cancellationToken = default,
        bool replayLog = true)
    {
        Directory.CreateDirectory(options.DataDir);
        Directory.CreateDirectory(options.EffectiveDataLogDir);
        var dataLock = DataDirectoryLock.Acquire(options.DataDir);
        DataDirectoryLock? logLock = null;
        TxnLog? txnLog = null;
        try
        {
            if (!SamePath(options.DataDir, options.EffectiveDataLogDir))
            {
                logLock = DataDirectoryLock.Acquire(options.EffectiveDataLogDir);
            }

            if (!options.ForceSync)
            {
                PersistenceLog.ForceSyncOff(logger);
            }

            PersistenceLog.Opened(logger, Path.GetFullPath(options.DataDir), Path.GetFullPath(options.EffectiveDataLogDir), options.SnapCount,
                options.PurgeIntervalHours, options.SnapRetainCount);
            var secret = LoadOrCreateSecret(options.DataDir);
            txnLog = TxnLog.Open(new TxnLogOptions
            {
                Directory = options.EffectiveDataLogDir,
                ForceSync = options.ForceSync,
                PreallocateBytes = options.PreallocateBytes,
                SegmentBytesMax = Math.Max(options.PreallocateBytes, TxnLogOptions.DefaultPreallocateBytes),
            }, logger);
            foreach (var repair in txnLog.Recovery.Truncations)
            {
                PersistenceLog.LogRepaired(logger, repair.ToString());
            }

            var snapshots = new SnapshotStore(options.DataDir, logger);
            var (tree, report) = replayLog
                ? await RecoverAsync(options, snapshots, txnLog, logger, cancellationToken).ConfigureAwait(false)
                : await LoadSnapshotOnlyAsync(options, snapshots, txnLog, logger, cancellationToken).ConfigureAwait(false);
            var log = new DurableTxnLog(txnLog, options.SnapCount);
            return new PersistentStore(options, dataLock, logLock, snapshots, log, tree, secret, report, logger);
        }
        catch
        {
            if (txnLog is not null)
            {
                await txnLog.DisposeAsync().ConfigureAwait(false);
            }

            logLock?.Dispose();
            dataLock.Dispose();
            throw;
        }
    }

    private static async Task<ZnodeTree> LoadNewestSnapshotAsync(PersistenceOptions options, SnapshotStore snapshots, ILogger logger,
        List<SnapshotRejection> rejected, Action<SnapshotFileInfo?> loadedInfo, CancellationToken cancellationToken)
    {
        ZnodeTree? tree = null;
        var load = await snapshots.LoadNewestAsync((body, info, ct) =>
        {
            tree = TreeSnapshot.Load(body, info.Zxid, options.ExtendedTypesEnabled);
            return ValueTask.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var r in load.Rejected)
        {
            PersistenceLog.SnapshotRejected(logger, r.Snapshot.Path, r.Snapshot.Zxid, r.Reason);
        }

        rejected.AddRange(load.Rejected);
        loadedInfo(load.Loaded);
        tree ??= new ZnodeTree();
        if (load.Loaded is { } loaded)
        {
            PersistenceLog.SnapshotLoaded(logger, loaded.Path, loaded.Zxid, tree.NodeCount, tree.Sessions.Count);
        }

        return tree;
    }

    private static async Task<(ZnodeTree Tree, RecoveryReport Report)> LoadSnapshotOnlyAsync(PersistenceOptions options, SnapshotStore snapshots, TxnLog log,
        ILogger logger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var rejected = new List<SnapshotRejection>();
        SnapshotFileInfo? loaded = null;
        var tree = await LoadNewestSnapshotAsync(options, snapshots, logger, rejected, info => loaded = info, cancellationToken).ConfigureAwait(false);
        PersistenceLog.MemberRecovered(logger, tree.LastProcessedZxid, log.LastZxid);
        return (tree, new RecoveryReport(loaded, rejected, log.Recovery, 0, tree.LastProcessedZxid, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
    }

    private static async Task<(ZnodeTree Tree, RecoveryReport Report)> RecoverAsync(PersistenceOptions options, SnapshotStore snapshots, TxnLog log,
        ILogger logger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var rejected = new List<SnapshotRejection>();
        SnapshotFileInfo? loaded = null;
        var tree = await LoadNewestSnapshotAsync(options, snapshots, logger, rejected, info => loaded = info, cancellationToken).ConfigureAwait(false);
        var snapZxid = loaded?.Zxid ?? 0;
        if (log.FirstZxid > snapZxid + 1)
        {
            // The log starts after the snapshot: transactions in between are gone (purged with a snapshot that is now bad).
            throw new StorageException(
                $"cannot recover: the newest valid snapshot is at zxid {Zxid.Format(snapZxid)} but the transaction log starts at {Zxid.Format(log.FirstZxid)}; " +
                $"{rejected.Count} snapshot(s) were rejected. Restore a snapshot or remove the data directory to start empty.",
                snapshots.Directory, 0);
        }

        long replayed = 0, first = 0, last = 0;
        long badZxid = 0;
        string badProblem = string.Empty;
        foreach (var record in log.ReadFrom(snapZxid + 1))
        {
            TxnEntry entry;
            try
            {
                entry = TxnCodec.Deserialize(record.Payload);
            }
            catch (Exception ex) when (ex is ProtocolException or InvalidDataException or ArgumentException or InvalidOperationException)
            {
                badZxid = record.Zxid;
                badProblem = ex.Message;
                break;
            }

            tree.Apply(entry.Header, entry.Txn);
            first = first == 0 ? record.Zxid : first;
            last = record.Zxid;
            replayed++;
        }

        if (badZxid != 0)
        {
            // A record that passed its CRC but does not decode (another version, or a bug): stop there, cut the log so it
            // has no gap, and say exactly what was dropped.
            long dropped = 0;
            foreach (var unused in log.ReadFrom(badZxid))
            {
                dropped++;
            }

            log.TruncateAfter(badZxid - 1);
            PersistenceLog.UndecodableTxn(logger, badZxid, badProblem, dropped - 1);
        }

        var lastZxid = Math.Max(tree.LastProcessedZxid, Math.Max(log.LastZxid, snapZxid));
        if (tree.LastProcessedZxid < lastZxid)
        {
            tree.SetLastProcessedZxid(lastZxid);
        }

        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        PersistenceLog.Replayed(logger, replayed, first, last, ms, tree.NodeCount, tree.Sessions.Count, lastZxid);
        return (tree, new RecoveryReport(loaded, rejected, log.Recovery, replayed, lastZxid, ms));
    }

    /// <summary>
    /// Starts the background snapshotter (asked by the log every snapCount transactions) and autopurge.
    /// </summary>
    /// <param name="onLoop">Runs an action on the state machine loop that owns <see cref="Tree"/>.</param>
    public void StartBackground(Func<Action<ZnodeTree>, CancellationToken, Task> onLoop)
    {
        Log.SnapshotDue += StartSnapshotter(onLoop).Request;
        if (_options.PurgeIntervalHours > 0)
        {
            _purge = Task.Run(() => PurgeLoopAsync(TimeSpan.FromHours(_options.PurgeIntervalHours), _stop.Token));
        }
    }

    /// <summary>Starts the background snapshotter alone (an ensemble member triggers it from its own log and purges
    /// through its consensus store).</summary>
    public Snapshotter StartSnapshotter(Func<Action<ZnodeTree>, CancellationToken, Task> onLoop)
    {
        _snapshotter = new Snapshotter(Snapshots, onLoop, _logger);
        _snapshotter.Start();
        return _snapshotter;
    }

    /// <summary>Runs the retention rule once (autopurge's body).</summary>
    public async Task<PurgeResult> PurgeAsync(CancellationToken cancellationToken)
    {
        var result = await Log.PurgeAsync(Snapshots, Math.Max(SnapshotStore.MinRetainCount, _options.SnapRetainCount), cancellationToken).ConfigureAwait(false);
        PersistenceLog.Purged(_logger, _options.SnapRetainCount, result.OldestKeptZxid is { } z ? Zxid.Format(z) : "none",
            result.DeletedSnapshots.Count, result.DeletedLogSegments.Count);
        return result;
    }

    private async Task PurgeLoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await PurgeAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    PersistenceLog.PurgeFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static byte[] LoadOrCreateSecret(string dataDir)
    {
        var path = Path.Combine(dataDir, SecretFileName);
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length == 32)
            {
                return bytes;
            }
        }

        // Written in place and fsynced; a torn file (length != 32) is replaced, costing only the sessions of that crash.
        var secret = RandomNumberGenerator.GetBytes(32);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(secret);
            stream.Flush(flushToDisk: true);
        }

        return secret;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>Stops the snapshotter and autopurge (before the server stops, so no snapshot waits on a stopped loop).</summary>
    public async Task StopBackgroundAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _purge.ConfigureAwait(false);
        if (_snapshotter is not null)
        {
            Log.SnapshotDue -= _snapshotter.Request;
            await _snapshotter.DisposeAsync().ConfigureAwait(false);
            _snapshotter = null;
        }
    }

    /// <summary>Stops background work, closes the log (writing what is queued) and releases the locks.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopBackgroundAsync().ConfigureAwait(false);
        await Log.DisposeAsync().ConfigureAwait(false);
        _logLock?.Dispose();
        _dataLock.Dispose();
        _stop.Dispose();
    }
}

/// <summary>What recovery did.</summary>
/// <param name="Snapshot">The snapshot loaded, if any.</param>
/// <param name="RejectedSnapshots">Snapshots skipped as invalid, newest first, with reasons.</param>
/// <param name="Log">The log's own repair report (truncated tails, set-aside segments).</param>
/// <param name="Replayed">Transactions replayed after the snapshot.</param>
/// <param name="LastZxid">The last zxid of the recovered state.</param>
/// <param name="ElapsedMs">Time taken.</param>
public sealed record RecoveryReport(SnapshotFileInfo? Snapshot, IReadOnlyList<SnapshotRejection> RejectedSnapshots, LogRecoveryReport Log,
    long Replayed, long LastZxid, double ElapsedMs);
