using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Recipes;

namespace Zooflow.Agent.Election;

/// <summary>
/// A source's progress kept in one znode (<c>/zooflow/progress/&lt;group&gt;/&lt;name&gt;</c>), written only by the current
/// leader: every save is a multi of <c>check(fence)</c> and the write, where the fence is this leader's election node. If
/// the leader's session expired (its node is gone) or it otherwise lost the node, the save fails with
/// <see cref="ProgressFencedException"/> and nothing is written, so a deposed leader can never overwrite its successor's
/// progress.
/// </summary>
public sealed class ZnodeProgressStore(ZooKeeperClient client, string path, string fencePath) : ISourceProgressStore
{
    /// <inheritdoc />
    public string Location => path;

    /// <inheritdoc />
    public async ValueTask<byte[]?> LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (data, _) = await ZkPaths.RetryAsync(() => client.GetDataAsync(path, cancellationToken: cancellationToken), cancellationToken, attemptsMax: 5)
                .ConfigureAwait(false);
            return data;
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(ReadOnlyMemory<byte> progress, CancellationToken cancellationToken)
    {
        if (progress.Length > ISourceProgressStore.ProgressBytesMax)
        {
            throw new ArgumentException($"progress for {path} is {progress.Length} bytes (allowed: at most {ISourceProgressStore.ProgressBytesMax})");
        }
        var data = progress.ToArray();
        try
        {
            await client.MultiAsync([Op.Check(fencePath, -1), Op.SetData(path, data)], cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode && ex.Path == path)
        {
            await client.EnsurePathAsync(path[..path.LastIndexOf('/')], cancellationToken).ConfigureAwait(false);
            try
            {
                await client.MultiAsync([Op.Check(fencePath, -1), Op.Create(path, data)], cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException inner) when (inner.Code == ErrorCode.NoNode && inner.Path == fencePath)
            {
                throw Fenced();
            }
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode && ex.Path == fencePath)
        {
            throw Fenced();
        }
    }

    private ProgressFencedException Fenced() => new(
        $"progress not saved to {path}: this agent no longer holds leadership (its election node {fencePath} is gone)");
}
