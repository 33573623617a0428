using Zooflow.Jute;
using Zooflow.Client;

namespace Zooflow.Recipes;

/// <summary>Path helpers shared by the recipes.</summary>
public static class ZkPaths
{
    /// <summary>Joins a parent path and a child name.</summary>
    public static string Join(string parent, string child) => parent == "/" ? "/" + child : parent + "/" + child;

    /// <summary>The last segment of <paramref name="path"/>.</summary>
    public static string NodeName(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>The 10-digit sequence suffix ZooKeeper appends to sequential nodes, or -1 when there is none.</summary>
    public static long SequenceOf(string name)
    {
        if (name.Length < 10)
        {
            return -1;
        }

        var digits = name.AsSpan(name.Length - 10);
        return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : -1;
    }

    /// <summary>Sorts sequential node names by their sequence suffix (names of different prefixes interleave correctly).</summary>
    public static List<string> SortBySequence(IEnumerable<string> names) =>
        [.. names.OrderBy(SequenceOf).ThenBy(n => n, StringComparer.Ordinal)];

    /// <summary>Creates <paramref name="path"/> and any missing parents as persistent nodes (exists is fine).</summary>
    public static async Task EnsurePathAsync(this ZooKeeperClient client, string path, CancellationToken cancellationToken = default)
    {
        if (path == "/")
        {
            return;
        }

        if (await RetryAsync(() => client.ExistsAsync(path, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "";
        foreach (var segment in segments)
        {
            current += "/" + segment;
            try
            {
                await RetryAsync(() => client.CreateAsync(current, null, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
            {
            }
        }
    }

    /// <summary>Sibling subtrees deleted concurrently by <see cref="DeleteRecursiveAsync"/>: enough to fill a group commit,
    /// few enough to keep the client's pending-request table small.</summary>
    private const int SiblingDeletesInFlightMax = 256;

    /// <summary>Deletes <paramref name="path"/> and everything under it (missing nodes are fine).</summary>

    public static async Task DeleteRecursiveAsync(this ZooKeeperClient client, string path, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> children;
        try
        {
            children = await client.GetChildrenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
            return;
        }

        // Siblings are deleted with many requests in flight (the client pipelines them on one connection): one at a time,
        // each waiting for its fsync, a 100,000-node subtree took minutes.
        var pending = new List<Task>(SiblingDeletesInFlightMax);
        foreach (var child in children)
        {
            pending.Add(client.DeleteRecursiveAsync(Join(path, child), cancellationToken));
            if (pending.Count == SiblingDeletesInFlightMax)
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
                pending.Clear();
            }
        }
        await Task.WhenAll(pending).ConfigureAwait(false);

        try
        {
            if (path != "/")
            {
                await client.DeleteAsync(path, -1, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
        }
    }

    /// <summary>
    /// Runs <paramref name="operation"/> again after ConnectionLoss (the session may survive; the client reconnects), a
    /// bounded number of times with a short pause. SessionExpired and every other error propagate.
    /// </summary>
    /// <remarks>Only for idempotent operations: a write that hit ConnectionLoss may have been applied.</remarks>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken, int attemptsMax = 100)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss && attempt < attemptsMax && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Math.Min(1000, 20 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc cref="RetryAsync{T}(Func{Task{T}}, CancellationToken, int)"/>
    public static Task RetryAsync(Func<Task> operation, CancellationToken cancellationToken, int attemptsMax = 100) =>
        RetryAsync(async () =>
        {
            await operation().ConfigureAwait(false);
            return true;
        }, cancellationToken, attemptsMax);
}

/// <summary>A one-shot signal a watcher can set from the event thread and a waiter can await with cancellation.</summary>
internal sealed class Signal
{
    private readonly TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Signal()
    {
        Watcher = e =>
        {
            if (e.Type != EventType.None || e.State is KeeperState.Expired or KeeperState.Closed or KeeperState.SyncConnected)
            {
                _tcs.TrySetResult();
            }
        };
    }

    /// <summary>Fires on any node event, and on Expired/Closed/SyncConnected (so waiters re-check after a reconnect).</summary>
    public Action<WatchedEvent> Watcher { get; }

    public Task WaitAsync(CancellationToken cancellationToken) => _tcs.Task.WaitAsync(cancellationToken);
}
