using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// A fair, non-reentrant inter-process mutex (ZooKeeper's lock recipe, Curator's <c>InterProcessMutex</c>): waiters queue
/// by ephemeral-sequential node and each watches only its predecessor.
/// </summary>
/// <remarks>
/// Connection loss while waiting is retried (the session, and so the place in the queue, survives). A holder whose session
/// expires has lost the lock: its <see cref="LockHandle.Lost"/> token is cancelled. Work guarded by the lock should observe
/// that token. Thread-safe; each <see cref="AcquireAsync"/> returns its own handle.
/// </remarks>
public sealed class DistributedLock
{
    private readonly ZooKeeperClient _client;
    private readonly LockInternals _internals;

    /// <summary>Creates a lock rooted at <paramref name="path"/> (created if missing).</summary>
    public DistributedLock(ZooKeeperClient client, string path)
    {
        _client = client;
        Path = path;
        _internals = new LockInternals(client, path, "lock-", static (sorted, index) => index == 0 ? null : sorted[index - 1]);
    }

    /// <summary>The lock's parent node.</summary>
    public string Path { get; }

    /// <summary>Waits until the lock is held.</summary>
    public async Task<LockHandle> AcquireAsync(CancellationToken cancellationToken = default) =>
        (await TryAcquireAsync(null, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Waits up to <paramref name="timeout"/> (null = forever); null if not acquired in time.</summary>
    public async Task<LockHandle?> TryAcquireAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var node = await _internals.AcquireAsync(timeout, cancellationToken).ConfigureAwait(false);
        return node is null ? null : await LockHandle.CreateAsync(_client, node, _internals.DeleteOurNodeAsync).ConfigureAwait(false);
    }
}

/// <summary>A held lock (or lease). Dispose to release. <see cref="Lost"/> is cancelled if the lock is lost before.</summary>
public sealed class LockHandle : IAsyncDisposable
{
    private readonly ZooKeeperClient _client;
    private readonly Func<string, Task> _release;
    private readonly CancellationTokenSource _lost = new();
    private int _released;

    private LockHandle(ZooKeeperClient client, string nodePath, Func<string, Task> release)
    {
        _client = client;
        NodePath = nodePath;
        _release = release;
    }

    /// <summary>The ephemeral node that represents this holder.</summary>
    public string NodePath { get; }

    /// <summary>Cancelled when the lock is lost: the session expired or was closed, or the node was deleted by someone else.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once the lock is known to be lost.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    internal static async Task<LockHandle> CreateAsync(ZooKeeperClient client, string nodePath, Func<string, Task> release)
    {
        var handle = new LockHandle(client, nodePath, release);
        client.StateChanged += handle.OnStateChanged;
        try
        {
            var stat = await ZkPaths.RetryAsync(() => client.ExistsAsync(nodePath, handle.OnNodeEvent), CancellationToken.None).ConfigureAwait(false);
            if (stat is null)
            {
                handle.MarkLost();
            }
        }
        catch (KeeperException)
        {
            handle.MarkLost();
        }

        if (client.State is ConnectionState.Expired or ConnectionState.Closed)
        {
            handle.MarkLost();
        }

        return handle;
    }

    /// <summary>Releases the lock (deletes the node). Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _client.StateChanged -= OnStateChanged;
        await _release(NodePath).ConfigureAwait(false);
        _lost.Dispose();
    }

    private void OnStateChanged(ConnectionState state)
    {
        if (state is ConnectionState.Expired or ConnectionState.Closed or ConnectionState.AuthFailed)
        {
            MarkLost();
        }
    }

    private void OnNodeEvent(WatchedEvent e)
    {
        if (e.Type == EventType.NodeDeleted)
        {
            MarkLost();
        }
        else if (e.Type != EventType.None && Volatile.Read(ref _released) == 0)
        {
            _ = _client.ExistsAsync(NodePath, OnNodeEvent);
        }
    }

    private void MarkLost()
    {
        if (Volatile.Read(ref _released) == 0)
        {
            try
            {
                _lost.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}

/// <summary>
/// A fair read-write lock (Curator's <c>InterProcessReadWriteLock</c>): readers share, writers exclude everyone. A writer
/// waits for its predecessor; a reader waits only for the nearest writer ahead of it.
/// </summary>
public sealed class DistributedReadWriteLock
{
    private const string ReadPrefix = "__READ__";
    private const string WritePrefix = "__WRIT__";
    private readonly ZooKeeperClient _client;
    private readonly LockInternals _read;
    private readonly LockInternals _write;

    /// <summary>Creates a read-write lock rooted at <paramref name="path"/>.</summary>
    public DistributedReadWriteLock(ZooKeeperClient client, string path)
    {
        _client = client;
        _write = new LockInternals(client, path, WritePrefix, static (sorted, index) => index == 0 ? null : sorted[index - 1]);
        _read = new LockInternals(client, path, ReadPrefix, static (sorted, index) =>
        {
            for (var i = index - 1; i >= 0; i--)
            {
                if (sorted[i].Contains(WritePrefix, StringComparison.Ordinal))
                {
                    return sorted[i];
                }
            }

            return null;
        });
    }

    /// <summary>Acquires a shared read lock.</summary>
    public async Task<LockHandle> AcquireReadAsync(CancellationToken cancellationToken = default)
    {
        var node = await _read.AcquireAsync(null, cancellationToken).ConfigureAwait(false);
        return await LockHandle.CreateAsync(_client, node!, _read.DeleteOurNodeAsync).ConfigureAwait(false);
    }

    /// <summary>Acquires the exclusive write lock.</summary>
    public async Task<LockHandle> AcquireWriteAsync(CancellationToken cancellationToken = default)
    {
        var node = await _write.AcquireAsync(null, cancellationToken).ConfigureAwait(false);
        return await LockHandle.CreateAsync(_client, node!, _write.DeleteOurNodeAsync).ConfigureAwait(false);
    }

    /// <summary>Tries the write lock for up to <paramref name="timeout"/>.</summary>
    public async Task<LockHandle?> TryAcquireWriteAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var node = await _write.AcquireAsync(timeout, cancellationToken).ConfigureAwait(false);
        return node is null ? null : await LockHandle.CreateAsync(_client, node, _write.DeleteOurNodeAsync).ConfigureAwait(false);
    }
}

/// <summary>
/// A counting semaphore (kazoo's <c>Semaphore</c>, Curator's <c>InterProcessSemaphoreV2</c> in spirit): up to
/// <see cref="MaxLeases"/> holders at once, granted in arrival (sequence) order.
/// </summary>
public sealed class DistributedSemaphore
{
    private readonly ZooKeeperClient _client;
    private readonly LockInternals _internals;

    /// <summary>Creates a semaphore at <paramref name="path"/> with <paramref name="maxLeases"/> leases.</summary>
    public DistributedSemaphore(ZooKeeperClient client, string path, int maxLeases)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLeases, 1);
        _client = client;
        MaxLeases = maxLeases;
        // Holding while among the first maxLeases; otherwise any departure ahead of us may let us in, so watch the queue.
        _internals = new LockInternals(client, path, "lease-", (_, index) => index < maxLeases ? null : "");
    }

    /// <summary>How many holders may hold a lease at once.</summary>
    public int MaxLeases { get; }

    /// <summary>Waits for a lease.</summary>
    public async Task<LockHandle> AcquireAsync(CancellationToken cancellationToken = default) =>
        (await TryAcquireAsync(null, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Waits up to <paramref name="timeout"/> for a lease; null if none was granted in time.</summary>
    public async Task<LockHandle?> TryAcquireAsync(TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var node = await _internals.AcquireAsync(timeout, cancellationToken).ConfigureAwait(false);
        return node is null ? null : await LockHandle.CreateAsync(_client, node, _internals.DeleteOurNodeAsync).ConfigureAwait(false);
    }
}
