using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// A barrier (Curator's <c>DistributedBarrier</c>): while the node exists, <see cref="WaitOnBarrierAsync"/> blocks; removing
/// it releases every waiter.
/// </summary>
public sealed class DistributedBarrier
{
    private readonly ZooKeeperClient _client;
    private readonly string _path;

    /// <summary>Creates a barrier at <paramref name="path"/>.</summary>
    public DistributedBarrier(ZooKeeperClient client, string path)
    {
        _client = client;
        _path = path;
    }

    /// <summary>Raises the barrier (creates the node and its parents; already raised is fine).</summary>
    public async Task SetBarrierAsync(CancellationToken cancellationToken = default)
    {
        var parent = _path[.._path.LastIndexOf('/')];
        if (parent.Length > 0)
        {
            await _client.EnsurePathAsync(parent, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await ZkPaths.RetryAsync(() => _client.CreateAsync(_path, null, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
        {
        }
    }

    /// <summary>Removes the barrier, releasing the waiters.</summary>
    public async Task RemoveBarrierAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await ZkPaths.RetryAsync(() => _client.DeleteAsync(_path, -1, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
        }
    }

    /// <summary>Waits until the barrier is removed (returns at once if it is not raised).</summary>
    /// <exception cref="KeeperException">SessionExpired.</exception>
    public async Task WaitOnBarrierAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var signal = new Signal();
            if (await ZkPaths.RetryAsync(() => _client.ExistsAsync(_path, signal.Watcher, cancellationToken), cancellationToken).ConfigureAwait(false) is null)
            {
                return;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_client.State == ConnectionState.Expired)
            {
                throw new KeeperException(ErrorCode.SessionExpired, _path);
            }
        }
    }
}

/// <summary>
/// A double barrier (ZooKeeper's recipe, Curator's <c>DistributedDoubleBarrier</c>): <see cref="EnterAsync"/> returns once
/// <see cref="MemberCount"/> members have entered; <see cref="LeaveAsync"/> returns once all of them have left.
/// </summary>
public sealed class DistributedDoubleBarrier
{
    private const string ReadyNode = "ready";
    private readonly ZooKeeperClient _client;
    private readonly string _path;
    private readonly string _ourPath;

    /// <summary>Creates a double barrier at <paramref name="path"/> for <paramref name="memberCount"/> members.</summary>
    public DistributedDoubleBarrier(ZooKeeperClient client, string path, int memberCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memberCount, 1);
        _client = client;
        _path = path;
        MemberCount = memberCount;
        _ourPath = ZkPaths.Join(path, Guid.NewGuid().ToString("N"));
    }

    /// <summary>Members needed to pass.</summary>
    public int MemberCount { get; }

    /// <summary>Enters and waits until <see cref="MemberCount"/> members have entered.</summary>
    public async Task EnterAsync(CancellationToken cancellationToken = default)
    {
        await _client.EnsurePathAsync(_path, cancellationToken).ConfigureAwait(false);
        var readyPath = ZkPaths.Join(_path, ReadyNode);
        var readySignal = new Signal();
        var readyExists = await ZkPaths.RetryAsync(() => _client.ExistsAsync(readyPath, readySignal.Watcher, cancellationToken), cancellationToken)
            .ConfigureAwait(false) is not null;
        try
        {
            await ZkPaths.RetryAsync(() => _client.CreateAsync(_ourPath, null, mode: CreateMode.Ephemeral, cancellationToken: cancellationToken), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
        {
        }

        var members = (await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, cancellationToken: cancellationToken), cancellationToken)
            .ConfigureAwait(false)).Count(c => c != ReadyNode);
        if (members >= MemberCount)
        {
            try
            {
                await ZkPaths.RetryAsync(() => _client.CreateAsync(readyPath, null, cancellationToken: cancellationToken), cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
            {
            }

            return;
        }

        while (!readyExists)
        {
            await readySignal.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_client.State == ConnectionState.Expired)
            {
                throw new KeeperException(ErrorCode.SessionExpired, _path);
            }

            readySignal = new Signal();
            readyExists = await ZkPaths.RetryAsync(() => _client.ExistsAsync(readyPath, readySignal.Watcher, cancellationToken), cancellationToken)
                .ConfigureAwait(false) is not null;
        }
    }

    /// <summary>Leaves and waits until every member has left (the last one removes the ready node).</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await ZkPaths.RetryAsync(() => _client.DeleteAsync(_ourPath, -1, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
        }

        while (true)
        {
            var signal = new Signal();
            var members = (await ZkPaths.RetryAsync(() => _client.GetChildrenAsync(_path, signal.Watcher, cancellationToken), cancellationToken)
                .ConfigureAwait(false)).Where(c => c != ReadyNode).ToList();
            if (members.Count == 0)
            {
                try
                {
                    await _client.DeleteAsync(ZkPaths.Join(_path, ReadyNode), -1, cancellationToken).ConfigureAwait(false);
                }
                catch (KeeperException e) when (e.Code is ErrorCode.NoNode or ErrorCode.ConnectionLoss)
                {
                }

                return;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_client.State == ConnectionState.Expired)
            {
                throw new KeeperException(ErrorCode.SessionExpired, _path);
            }
        }
    }
}
