using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// A FIFO queue (ZooKeeper's queue recipe, kazoo's <c>Queue</c>): items are persistent-sequential children; a consumer
/// takes the lowest by deleting it, so each item is taken by exactly one consumer.
/// </summary>
/// <remarks>
/// An offer that fails with ConnectionLoss may or may not have been enqueued (at-most-once from the caller's view unless
/// it retries; retrying may duplicate). A take deletes before returning: an item taken by a consumer that then crashes is
/// lost (kazoo's <c>LockingQueue</c> trades that for complexity; not offered here).
/// </remarks>
public sealed class DistributedQueue
{
    private const string Prefix = "qn-";
    private readonly ZooKeeperClient _client;
    private readonly string _path;

    /// <summary>Creates a queue at <paramref name="path"/> (created on first use).</summary>
    public DistributedQueue(ZooKeeperClient client, string path)
    {
        _client = client;
        _path = path;
    }

    /// <summary>Adds an item at the tail; returns its node path.</summary>
    public async Task<string> OfferAsync(byte[] data, CancellationToken cancellationToken = default)
    {
        await _client.EnsurePathAsync(_path, cancellationToken).ConfigureAwait(false);
        return await _client.CreateAsync(ZkPaths.Join(_path, Prefix), data, mode: CreateMode.PersistentSequential, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Takes the head item, or null when the queue is empty.</summary>
    public async Task<byte[]?> PollAsync(CancellationToken cancellationToken = default)
    {
        var (item, _) = await TryTakeAsync(null, cancellationToken).ConfigureAwait(false);
        return item;
    }

    /// <summary>Returns the head item without taking it, or null when empty.</summary>
    public async Task<byte[]?> PeekAsync(CancellationToken cancellationToken = default)
    {
        foreach (var child in await SortedChildrenAsync(null, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                return (await _client.GetDataAsync(ZkPaths.Join(_path, child), cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
            {
            }
        }

        return null;
    }

    /// <summary>Takes the head item, waiting for one to arrive.</summary>
    public async Task<byte[]> TakeAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var signal = new Signal();
            var (item, _) = await TryTakeAsync(signal, cancellationToken).ConfigureAwait(false);
            if (item is not null)
            {
                return item;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_client.State == ConnectionState.Expired)
            {
                throw new KeeperException(ErrorCode.SessionExpired, _path);
            }
        }
    }

    /// <summary>Number of items currently queued.</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken = default) =>
        (await SortedChildrenAsync(null, cancellationToken).ConfigureAwait(false)).Count;

    private async Task<(byte[]? Item, bool Empty)> TryTakeAsync(Signal? watch, CancellationToken cancellationToken)
    {
        while (true)
        {
            var children = await SortedChildrenAsync(watch, cancellationToken).ConfigureAwait(false);
            if (children.Count == 0)
            {
                return (null, true);
            }

            foreach (var child in children)
            {
                var path = ZkPaths.Join(_path, child);
                try
                {
                    var (data, stat) = await ZkPaths.RetryAsync(() => _client.GetDataAsync(path, cancellationToken: cancellationToken), cancellationToken)
                        .ConfigureAwait(false);
                    await _client.DeleteAsync(path, stat.Version, cancellationToken).ConfigureAwait(false);
                    return (data, false);
                }
                catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
                {
                    // Another consumer took it first.
                }
            }
        }
    }

    private async Task<List<string>> SortedChildrenAsync(Signal? watch, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> children;
        try
        {
            children = watch is null
                ? await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false)
                : await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, watch.Watcher, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
            await _client.EnsurePathAsync(_path, cancellationToken).ConfigureAwait(false);
            return await SortedChildrenAsync(watch, cancellationToken).ConfigureAwait(false);
        }

        return ZkPaths.SortBySequence(children.Where(c => c.StartsWith(Prefix, StringComparison.Ordinal)));
    }
}

/// <summary>
/// A distributed counter (Curator's <c>DistributedAtomicLong</c> in optimistic mode): the value is an 8-byte big-endian
/// long in one node, updated by versioned compare-and-set so concurrent updates never lose an increment.
/// </summary>
public sealed class DistributedCounter
{
    private readonly ZooKeeperClient _client;
    private readonly string _path;

    /// <summary>Creates a counter at <paramref name="path"/> (starts at 0 when missing).</summary>
    public DistributedCounter(ZooKeeperClient client, string path)
    {
        _client = client;
        _path = path;
    }

    /// <summary>The current value and the node version it was read at.</summary>
    public async Task<(long Value, int Version)> GetAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            try
            {
                var (data, stat) = await ZkPaths.RetryAsync(() => _client.GetDataAsync(_path, cancellationToken: cancellationToken), cancellationToken)
                    .ConfigureAwait(false);
                return (Decode(data), stat.Version);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
            {
                await CreateIfMissingAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sets <paramref name="newValue"/> only if the node is still at <paramref name="expectedVersion"/>.</summary>
    /// <returns>False when another writer got there first (BadVersion).</returns>
    public async Task<bool> TrySetAsync(int expectedVersion, long newValue, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.SetDataAsync(_path, Encode(newValue), expectedVersion, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (KeeperException e) when (e.Code == ErrorCode.BadVersion)
        {
            return false;
        }
    }

    /// <summary>Sets the value only if it currently equals <paramref name="expected"/> (compare-and-set on the value).</summary>
    public async Task<bool> CompareAndSetAsync(long expected, long newValue, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (value, version) = await GetAsync(cancellationToken).ConfigureAwait(false);
            if (value != expected)
            {
                return false;
            }

            if (await TrySetAsync(version, newValue, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }
    }

    /// <summary>Adds <paramref name="delta"/> (retrying on contention) and returns the new value.</summary>
    /// <remarks>A ConnectionLoss on the write is surfaced: the increment may or may not have been applied.</remarks>
    public async Task<long> AddAsync(long delta, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (value, version) = await GetAsync(cancellationToken).ConfigureAwait(false);
            var next = checked(value + delta);
            if (await TrySetAsync(version, next, cancellationToken).ConfigureAwait(false))
            {
                return next;
            }
        }
    }

    /// <summary>Adds one and returns the new value.</summary>
    public Task<long> IncrementAsync(CancellationToken cancellationToken = default) => AddAsync(1, cancellationToken);

    private async Task CreateIfMissingAsync(CancellationToken cancellationToken)
    {
        var parent = _path[.._path.LastIndexOf('/')];
        if (parent.Length > 0)
        {
            await _client.EnsurePathAsync(parent, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await _client.CreateAsync(_path, Encode(0), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code is ErrorCode.NodeExists or ErrorCode.ConnectionLoss)
        {
        }
    }

    private static byte[] Encode(long value)
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static long Decode(byte[] data) =>
        data.Length == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(data)
        : data.Length == 0 ? 0
        : throw new FormatException($"counter node holds {data.Length} bytes, expected 8 (big-endian long)");
}
