using Zooflow.Jute;
using Zooflow.Server.Pipeline;
using Zooflow.Storage;

namespace Zooflow.Server.Persistence;

/// <summary>
/// The durable <see cref="ITxnLog"/>: each <see cref="LoggedTxn"/> is serialized with <see cref="TxnCodec"/> (ZooKeeper's
/// transaction-log entry format, <c>TxnHeader</c> + body) and appended to a <see cref="TxnLog"/>. All appends of one batch are
/// queued before any is awaited, so the log's writer coalesces them into one write and one fsync (group commit).
/// </summary>
/// <remarks>
/// <para>Every <c>snapCount</c> transactions (randomised per server, as ZooKeeper's <c>SyncRequestProcessor</c>:
/// snapCount/2 + random(snapCount/2)) the log rolls to a new segment and the <see cref="Snapshotter"/> is asked for a
/// snapshot; it runs in the background and never blocks appends.</para>
/// <para>A failed append throws <see cref="TxnLogWriteException"/>: nothing of that batch is in the log and the state
/// machine must refuse it (the zxids may be reused). Retention (<see cref="PurgeAsync"/>) runs between batches so it never
/// races an append.</para>
/// </remarks>
public sealed class DurableTxnLog : ITxnLog
{
    private readonly TxnLog _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int _snapCount;
    private readonly Random _random;
    private ValueTask[] _pending = new ValueTask[64];
    private long _sinceSnapshot;
    private long _snapshotAt;
    private bool _disposed;

    /// <param name="log">The open log (owned: disposed with this).</param>
    /// <param name="snapCount">Transactions between snapshots (ZooKeeper's <c>snapCount</c>), at least 2.</param>
    /// <param name="random">Randomises the first snapshot point; null for a shared random.</param>
    public DurableTxnLog(TxnLog log, int snapCount, Random? random = null)
    {
        _log = log;
        _snapCount = Math.Max(2, snapCount);
        _random = random ?? Random.Shared;
        _snapshotAt = NextSnapshotPoint();
    }

    /// <summary>Raised on the log stage's thread (between batches) when a snapshot is due; the handler must not block.</summary>
    public event Action? SnapshotDue;

    /// <summary>The underlying log.</summary>
    public TxnLog Log => _log;

    /// <summary>Transactions appended since the last snapshot point.</summary>
    public long SinceSnapshot => Interlocked.Read(ref _sinceSnapshot);

    /// <inheritdoc />
    public long LastZxid => _log.LastZxid;

    /// <inheritdoc />
    public async ValueTask AppendAsync(IReadOnlyList<LoggedTxn> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_pending.Length < batch.Count)
            {
                _pending = new ValueTask[Math.Max(batch.Count, _pending.Length * 2)];
            }

            var queued = 0;
            Exception? failure = null;
            try
            {
                for (; queued < batch.Count; queued++)
                {
                    var txn = batch[queued];
                    var payload = TxnCodec.Serialize(txn.Header, txn.Txn);
                    _pending[queued] = _log.AppendAsync(txn.Header.Zxid, payload, CancellationToken.None);
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            // Await every queued append (each ValueTask exactly once) even after a failure.
            for (var i = 0; i < queued; i++)
            {
                try
                {
                    await _pending[i].ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    failure ??= ex;
                }

                _pending[i] = default;
            }

            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            }

            _sinceSnapshot += batch.Count;
            if (_sinceSnapshot >= _snapshotAt)
            {
                _sinceSnapshot = 0;
                _snapshotAt = NextSnapshotPoint();
                _log.RollSegment();
                SnapshotDue?.Invoke();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies the retention rule between batches (autopurge), so no append is pending while segments go.</summary>
    public async Task<PurgeResult> PurgeAsync(SnapshotStore snapshots, int snapRetainCount, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return StorageRetention.Purge(snapshots, _log, snapRetainCount);
        }
        finally
        {
            _gate.Release();
        }
    }

    private long NextSnapshotPoint() => _snapCount / 2 + _random.NextInt64(Math.Max(1, _snapCount / 2));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _log.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
