using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Agent.Limits;

/// <summary>
/// Follows the limits that apply to one agent — its own znode, its group's znode, and how many agents of the group are
/// live (the children of <c>/zooflow/agents/&lt;group&gt;</c>) — and puts the effective limits in force: per rate, the
/// stricter of the agent's own limit and an equal share of the group's (group limit ÷ live members).
/// </summary>
/// <remarks>An invalid limits znode is reported (logged, and kept in <see cref="LastError"/> for the registry) and the
/// limits in force stay as they were.</remarks>
public sealed class LimitsFollower(ServiceSession session, string group, string agentId, FlowLimiter limiter, ILogger logger)
{
    private readonly TaskCompletionSource _firstRefresh = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _lastError;
    private string _lastApplied = "";

    /// <summary>Completes after the first read of the limits (applied or found invalid), so sources need not start
    /// unlimited before the limits are known.</summary>
    public Task FirstRefresh => _firstRefresh.Task;

    /// <summary>The last problem with a limits znode, or null.</summary>
    public string? LastError => _lastError;

    /// <summary>Members of the group counted at the last refresh.</summary>
    public int LiveMembers { get; private set; } = 1;

    /// <summary>Follows until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        SessionLoops.RunPerSessionAsync(session, "limits follower", (lease, ct) =>
            SessionLoops.RunWatchLoopAsync(lease, (watcher, token) => RefreshAsync(lease.Client, watcher, token), null, ct),
            logger, cancellationToken);

    private async Task RefreshAsync(ZooKeeperClient client, Action<WatchedEvent> watcher, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var agentPath = ZnodeLayout.AgentLimits(agentId);
        var groupPath = ZnodeLayout.GroupLimits(group);
        var agentLimits = await ReadAsync(client, agentPath, watcher, errors, cancellationToken).ConfigureAwait(false);
        var groupLimits = await ReadAsync(client, groupPath, watcher, errors, cancellationToken).ConfigureAwait(false);
        int members;
        try
        {
            members = (await client.GetChildrenAsync(ZnodeLayout.Group(group), watcher, cancellationToken).ConfigureAwait(false)).Count;
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            await client.ExistsAsync(ZnodeLayout.Group(group), watcher, cancellationToken).ConfigureAwait(false);
            members = 1;
        }
        LiveMembers = Math.Max(1, members);
        if (errors.Count > 0)
        {
            var message = string.Join("; ", errors);
            if (message != _lastError)
            {
                logger.LogError(new EventId(4301, "LimitsInvalid"), "Flow limits not changed: {Errors}", message);
            }
            _lastError = message;
            _firstRefresh.TrySetResult();
            return;
        }
        _lastError = null;
        var effective = FlowLimits.Effective(agentLimits!, groupLimits!, LiveMembers);
        limiter.Apply(effective);
        var text = effective.ToJson();
        if (text != _lastApplied)
        {
            _lastApplied = text;
            logger.LogInformation(new EventId(4300, "LimitsApplied"), "Flow limits now {Limits} (agent {AgentPath}, group {GroupPath} shared by {Members} live agents)",
                text, agentPath, groupPath, LiveMembers);
        }
        _firstRefresh.TrySetResult();
    }

    private static async Task<FlowLimits?> ReadAsync(ZooKeeperClient client, string path, Action<WatchedEvent> watcher, List<string> errors, CancellationToken cancellationToken)
    {
        if (await client.ExistsAsync(path, watcher, cancellationToken).ConfigureAwait(false) is null)
        {
            return FlowLimits.None;
        }
        try
        {
            var (data, _) = await client.GetDataAsync(path, watcher, cancellationToken).ConfigureAwait(false);
            return FlowLimits.Parse(data, path, errors);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return FlowLimits.None;
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoAuth)
        {
            errors.Add($"{path}: {ex.Message}: not readable with this agent's credentials");
            return null;
        }
    }
}
