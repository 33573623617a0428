using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Common;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// Flume's durable file channel (<c>type = file</c>): nothing a source committed is lost across a crash, and it is fast.
/// </summary>
/// <remarks>
/// <para><b>Design.</b> A put or take transaction writes nothing until it commits. Its commit is one checksummed record in
/// a data directory's write-ahead log (<see cref="DataLog"/>, grammar on <see cref="DataRecord"/>): the events for a put,
/// pointers to the taken events for a take. One writer thread per directory appends every record queued meanwhile with one
/// write and one <c>fdatasync</c> (group commit: concurrent put and take commits share a flush), and the commit returns
/// once its record is durable. The queue in memory holds 12-byte pointers (data file, offset), plus the events themselves
/// while they fit in <see cref="FileChannelOptions.EventCacheBytes"/>, so a sink that keeps up never reads the disk.
/// Every <see cref="FileChannelOptions.CheckpointInterval"/> the queue is written as a checkpoint
/// (<see cref="CheckpointFormat"/>; temp + fsync + rename, optionally a backup copy) off the commit path; a restart
/// loads the checkpoint and replays only the records after it (<see cref="QueueRecovery"/>), and data files that hold no
/// queued event and nothing after the checkpoint are deleted.</para>
/// <para><b>Guarantees.</b> A put is durable when its commit returns; a take is final when its commit returns. After a
/// crash the channel holds exactly the committed, not-taken events, in order; the events of take transactions that were
/// open come back. Records are applied to the queue in write order, so a checkpoint at write order W reflects exactly the
/// records up to W.</para>
/// <para><b>Space.</b> Below minimumRequiredSpace a put commit fails with <see cref="ChannelFullException"/> (Flume's
/// "Usable space exhausted" text), which sources treat as back-pressure; takes and checkpoints may still use the reserve,
/// so sinks can drain and data files can be deleted.</para>
/// <para>Thread-safety: any number of transactions may run concurrently; each is used by one flow at a time.</para>
/// </remarks>
public sealed partial class FileChannel : IDurableChannel, ITransactionCapacity, IChannelEventsSignal, IDirectoryOwner, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly ChannelCounter _counter;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string _descriptor;
    private readonly Queue<PendingCommit> _commits = new();
    private readonly HashSet<Transaction> _openTakes = [];
    private readonly CancellationTokenSource _stopping = new();
    private Deque<QueueEntry> _queue = new(16);
    private DataLog? _data;
    private List<DataDirectoryLock> _locks = [];
    private SnapshotStore? _checkpoints;
    private SnapshotStore? _backupCheckpoints;
    private Task _background = Task.CompletedTask;
    private int _lifecycle;
    private bool _open;
    private long _reservedTakes;
    private long _reservedPuts;
    private long _cachedBytes;
    private long _applied;
    private bool _spaceLow;
    private TaskCompletionSource _space = NewSignal();
    private readonly PutSignal _puts = new();

    /// <summary>Creates the channel; nothing touches the disk until <see cref="StartAsync"/> (validation creates
    /// instances it never starts).</summary>
    public FileChannel(string name, FileChannelOptions options, ChannelCounter? counter = null, TimeProvider? clock = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        _descriptor = $"[channel={name}]";
        _counter = counter ?? new ChannelCounter(name);
        _clock = clock ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _counter.Bind(() => Size, options.Capacity);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The settings.</summary>
    public FileChannelOptions Options { get; }

    /// <inheritdoc />
    public long Capacity => Options.Capacity;

    /// <inheritdoc />
    public int TransactionCapacity => Options.TransactionCapacity;

    /// <inheritdoc />
    public IReadOnlyList<OwnedDirectory> OwnedDirectories => Options.OwnedDirectories();

    /// <summary>How the queue was restored at start (null before).</summary>
    public FileChannelRecovery? Recovery { get; private set; }

    /// <summary>Events that could not be read back from a data file (checksum mismatch, file damaged) and were skipped.</summary>
    public long CorruptEventsSkipped => Interlocked.Read(ref _corruptSkipped);

    private long _corruptSkipped;

    /// <inheritdoc />
    public long Size
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>The write order of the last record applied to the queue.</summary>
    public long AppliedWriteOrder
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    /// <inheritdoc />
    public long PutGeneration
    {
        get
        {
            lock (_lock)
            {
                return _puts.Generation;
            }
        }
    }

    /// <inheritdoc />
    public IChannelTransaction BeginTransaction()
    {
        lock (_lock)
        {
            EnsureOpen();
        }
        return new Transaction(this);
    }

    /// <inheritdoc />
    public Task WaitForEventsAsync(long afterGeneration, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _puts.WaitAsync(afterGeneration, cancellationToken);
        }
    }

    /// <summary>
    /// Locks the directories, opens the data logs (repairing torn tails), restores the queue from the newest usable
    /// checkpoint and the records after it, and starts the background checkpoints. Never fails because of bad content
    /// (that is logged and reported in <see cref="Recovery"/>); fails for a locked or unusable directory.
    /// </summary>
    /// <exception cref="ChannelException">A directory is locked by another process or channel, or holds foreign files.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            throw new InvalidOperationException($"File channel {Name} was already started");
        }
        var started = _clock.GetTimestamp();
        _locks = LockDirectories();
        _checkpoints = new SnapshotStore(Options.CheckpointDir, _logger, CheckpointFormat.FilePrefix);
        if (Options.UseDualCheckpoints && Options.BackupCheckpointDir is { } backup)
        {
            _backupCheckpoints = new SnapshotStore(backup, _logger, CheckpointFormat.FilePrefix);
        }
        _data = DataLog.Open(Options, _descriptor, _clock, _logger);
        var (queue, applied, report) = await QueueRecovery.RunAsync(Name, Options, _data, started, _logger, _clock, cancellationToken).ConfigureAwait(false);
        TaskCompletionSource? wake;
        lock (_lock)
        {
            _queue = queue;
            _applied = applied;
            // Checkpoint at once unless the checkpoint just loaded describes the state exactly: after a replay the next
            // start should not replay the same again, and a new channel gets its first checkpoint.
            _lastCheckpoint = report.FromCheckpoint && report.ReplayedRecords == 0 && report.Dropped.Count == 0 ? report.CheckpointWriteOrder : -1;
            _open = true;
            wake = _puts.Advance();
        }
        wake?.TrySetResult();
        Recovery = report;
        if (queue.Count > Options.Capacity)
        {
            FileChannelLogEvents.OverCapacity(_logger, Name, queue.Count, Options.Capacity);
        }
        _counter.Bind(() => Size, Options.Capacity);
        _counter.Start(_clock);
        _background = Task.Run(() => BackgroundAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Stops: new transactions and commits are refused, queued records are written, a checkpoint is written (with
    /// checkpointOnClose), the logs are closed and the directory locks released. Events stay on disk for the next start.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lifecycle, 2) != 1)
        {
            ReleaseLocks();
            return;
        }
        long size;
        lock (_lock)
        {
            _open = false;
            size = _queue.Count;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _background.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        await WaitForCommitsAsync(cancellationToken).ConfigureAwait(false);
        if (Options.CheckpointOnClose)
        {
            await CheckpointAsync(CancellationToken.None).ConfigureAwait(false);
        }
        if (_data is not null)
        {
            await _data.DisposeAsync().ConfigureAwait(false);
        }
        _counter.Stop(_clock);
        FileChannelLogEvents.Closed(_logger, Name, size, _lastCheckpoint);
        ReleaseLocks();
        _stopping.Dispose();
    }

    /// <summary>Stops the channel if it was started (as <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _lifecycle) == 1)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The data directories (for tests: their logs' statistics).</summary>
    internal DataLog? Data => _data;

    /// <summary>Writer counters summed over the data directories: records written (one per committed transaction, more
    /// for large ones), write batches and flushes. Records per flush is the group-commit factor.</summary>
    public Zooflow.Storage.TxnLogStatistics Statistics
    {
        get
        {
            long records = 0, batches = 0, flushes = 0, failed = 0;
            foreach (var directory in _data?.Directories ?? [])
            {
                var s = directory.Log.Statistics;
                records += s.Appends;
                batches += s.Batches;
                flushes += s.Fsyncs;
                failed += s.FailedAppends;
            }
            return new Zooflow.Storage.TxnLogStatistics(records, batches, flushes, failed);
        }
    }

    /// <summary>Writes a checkpoint now (tests and tools; the channel also does it every checkpointInterval).</summary>
    /// <returns>True when a checkpoint was written, false when nothing changed since the last one or writing failed.</returns>
    public Task<bool> CheckpointNowAsync(CancellationToken cancellationToken = default) => CheckpointAsync(cancellationToken);

    private List<DataDirectoryLock> LockDirectories()
    {
        var locks = new List<DataDirectoryLock>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, path) in Options.OwnedDirectories())
            {
                if (!seen.Add(Path.TrimEndingDirectorySeparator(path)))
                {
                    continue;
                }
                try
                {
                    locks.Add(DataDirectoryLock.Acquire(path));
                }
                catch (DataDirectoryLockedException ex)
                {
                    throw new ChannelException(
                        $"File channel {Name}: {key} '{path}' is in use: its lock file {ex.FilePath} is held by another agent or another channel ({ex.InnerException?.Message}). Give each file channel directories of its own {_descriptor}", ex);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new ChannelException($"File channel {Name}: {key} '{path}' cannot be created or locked: {ex.Message} {_descriptor}", ex);
                }
            }
            return locks;
        }
        catch
        {
            foreach (var held in locks)
            {
                held.Dispose();
            }
            throw;
        }
    }

    private void ReleaseLocks()
    {
        foreach (var held in _locks)
        {
            held.Dispose();
        }
        _locks = [];
    }

    private async Task WaitForCommitsAsync(CancellationToken cancellationToken)
    {
        // Sinks and sources stop before their channel, so commits still running here are rare; they finish with their
        // flush, or fail when the logs close.
        Task[] running;
        lock (_lock)
        {
            running = _commits.Select(c => (Task)c.Applied.Task).ToArray();
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10), _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Closing the logs fails whatever is still queued; those commits are not acknowledged.
        }
    }

    private void EnsureOpen()
    {
        if (!_open)
        {
            throw new ChannelException($"Channel closed {_descriptor}");
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
