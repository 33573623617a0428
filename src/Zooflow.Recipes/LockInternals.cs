using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// The ZooKeeper lock recipe shared by the mutex, the read-write lock and leader election: create an
/// ephemeral-sequential node whose name carries a random "protected" id (so a create that hit ConnectionLoss can find its
/// node instead of leaking it), list the children sorted by sequence, and either own the lock or watch exactly the one
/// node the policy names (no herd effect), then re-check when it goes.
/// </summary>
internal sealed class LockInternals
{
    private readonly ZooKeeperClient _client;
    private readonly string _path;
    private readonly string _prefix;
    private readonly Func<IReadOnlyList<string>, int, string?> _nodeToWait;

    /// <param name="client">The session that will own the lock node.</param>
    /// <param name="path">The parent of the lock nodes.</param>
    /// <param name="prefix">Name prefix of this kind of node (e.g. <c>lock-</c>, <c>read-</c>).</param>
    /// <param name="nodeToWait">Given the sorted children and our index: null if we hold the lock, else the node to watch
    /// ("" = watch the child list itself).</param>
    public LockInternals(ZooKeeperClient client, string path, string prefix, Func<IReadOnlyList<string>, int, string?> nodeToWait)
    {
        _client = client;
        _path = path;
        _prefix = prefix;
        _nodeToWait = nodeToWait;
    }

    /// <summary>Waits for the lock. Returns our node's full path, or null on timeout (our node is then deleted).</summary>
    /// <exception cref="KeeperException">SessionExpired (the wait cannot continue) or another non-retryable error.</exception>
    public async Task<string?> AcquireAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
        {
            timeoutCts.CancelAfter(t);
        }

        await _client.EnsurePathAsync(_path, cancellationToken).ConfigureAwait(false);
        var protectedId = "_c_" + Guid.NewGuid().ToString("N") + "-";
        string? ourPath = null;
        try
        {
            ourPath = await CreateProtectedAsync(protectedId, cancellationToken).ConfigureAwait(false);
            var ourName = ZkPaths.NodeName(ourPath);
            while (true)
            {
                var children = await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, cancellationToken: cancellationToken), cancellationToken)
                    .ConfigureAwait(false);
                var sorted = ZkPaths.SortBySequence(children);
                var index = sorted.IndexOf(ourName);
                if (index < 0)
                {
                    // Our node is gone: only a session expiry (or someone deleting it) does that.
                    throw new KeeperException(ErrorCode.NoNode, ourPath, "lock node vanished while waiting");
                }

                var wait = _nodeToWait(sorted, index);
                if (wait is null)
                {
                    return ourPath;
                }

                var signal = new Signal();
                if (wait.Length == 0)
                {
                    // Policy asked to watch the whole queue (any departure ahead of us may matter).
                    var again = await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, signal.Watcher, cancellationToken), cancellationToken)
                        .ConfigureAwait(false);
                    if (!again.SequenceEqual(children))
                    {
                        continue;
                    }
                }
                else if (await ZkPaths.RetryAsync(() => _client.ExistsAsync(ZkPaths.Join(_path, wait), signal.Watcher, cancellationToken), cancellationToken)
                    .ConfigureAwait(false) is null)
                {
                    continue;
                }

                try
                {
                    await signal.WaitAsync(timeoutCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await DeleteOurNodeAsync(ourPath).ConfigureAwait(false);
                    ourPath = null;
                    return null;
                }

                if (_client.State is ConnectionState.Expired)
                {
                    throw new KeeperException(ErrorCode.SessionExpired, ourPath);
                }
            }
        }
        catch when (ourPath is not null)
        {
            await DeleteOurNodeAsync(ourPath).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Deletes our node (retrying ConnectionLoss; NoNode and SessionExpired mean it is gone already).</summary>
    public async Task DeleteOurNodeAsync(string ourPath)
    {
        try
        {
            await ZkPaths.RetryAsync(() => _client.DeleteAsync(ourPath, -1), CancellationToken.None, attemptsMax: 20).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code is ErrorCode.NoNode or ErrorCode.SessionExpired or ErrorCode.ConnectionLoss)
        {
        }
    }

    private async Task<string> CreateProtectedAsync(string protectedId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _client.CreateAsync(ZkPaths.Join(_path, protectedId + _prefix), null, mode: CreateMode.EphemeralSequential,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss && attempt < 100)
            {
                // The create may have been applied: look for our protected id before creating again.
                await Task.Delay(Math.Min(1000, 20 * attempt), cancellationToken).ConfigureAwait(false);
                try
                {
                    var children = await _client.GetChildrenAsync(_path, cancellationToken: cancellationToken).ConfigureAwait(false);
                    var ours = children.FirstOrDefault(c => c.StartsWith(protectedId, StringComparison.Ordinal));
                    if (ours is not null)
                    {
                        return ZkPaths.Join(_path, ours);
                    }
                }
                catch (KeeperException inner) when (inner.Code == ErrorCode.ConnectionLoss)
                {
                }
            }
        }
    }
}
