using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Recipes;

namespace Zooflow.Agent.Registry;

/// <summary>
/// Keeps an agent's ephemeral registry znode <c>/zooflow/agents/&lt;group&gt;/&lt;id&gt;</c> alive and current: created in every
/// session (so an agent whose session expired comes back), rewritten every status interval and soon after
/// <see cref="RequestUpdate"/> (at most one write per <see cref="UpdateSpacingMin"/>), with versionless setData.
/// </summary>
/// <remarks>
/// If the znode already belongs to another session — another process runs with the same group and id, or this agent's
/// previous process was killed and its session has not expired yet — the agent waits for it to go (watching it) and says
/// so in its log, instead of taking it over.
/// </remarks>
public sealed class AgentRegistration
{
    /// <summary>The least time between two status writes.</summary>
    public static readonly TimeSpan UpdateSpacingMin = TimeSpan.FromMilliseconds(200);

    private readonly ServiceSession _session;
    private readonly string _group;
    private readonly string _id;
    private readonly Func<AgentStatus> _snapshot;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _writes;

    /// <summary>Creates the registration; <paramref name="snapshot"/> builds the status to write (called on each write).</summary>
    public AgentRegistration(ServiceSession session, string group, string id, Func<AgentStatus> snapshot, TimeSpan interval, ILogger logger, TimeProvider clock)
    {
        _session = session;
        _group = group;
        _id = id;
        _snapshot = snapshot;
        _interval = interval;
        _logger = logger;
        _clock = clock;
    }

    /// <summary>The registry znode.</summary>
    public string Path => ZnodeLayout.AgentStatus(_group, _id);

    /// <summary>Status writes so far.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Asks for a status write soon (a configuration was applied or refused, a singleton changed hands).</summary>
    public void RequestUpdate() => _wake.Writer.TryWrite(true);

    /// <summary>Registers in every session until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        SessionLoops.RunPerSessionAsync(_session, "registration " + Path, RunInSessionAsync, _logger, cancellationToken);

    /// <summary>Writes a last status and marks the known record stopped (a clean stop shows as "stopped", not "gone").</summary>
    public async Task MarkStoppedAsync(CancellationToken cancellationToken)
    {
        if (_session.Current is not { } lease || lease.Client.State != ConnectionState.Connected)
        {
            return;
        }
        try
        {
            var status = _snapshot() with { State = "stopping" };
            await lease.Client.SetDataAsync(Path, status.ToBytes(), -1, cancellationToken).ConfigureAwait(false);
            await WriteKnownAsync(lease.Client, status, _clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex)
        {
            _logger.LogWarning(new EventId(4204, "UnregisterFailed"), "Could not mark {Path} stopped: {Reason}", Path, ex.Message);
        }
    }

    private async Task RunInSessionAsync(SessionLease lease, CancellationToken cancellationToken)
    {
        var client = lease.Client;
        await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        await client.EnsurePathAsync(ZnodeLayout.Group(_group), cancellationToken).ConfigureAwait(false);
        // The known record first: an agent that was ever seen live always has one, so a crash right after the
        // ephemeral appears still shows as "gone" rather than vanishing from the fleet.
        await WriteKnownAsync(client, _snapshot(), 0, cancellationToken).ConfigureAwait(false);
        await CreateAsync(lease, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation(new EventId(4200, "Registered"), "Registered as {Path} (session {Session})", Path, lease.SessionIdText);
        var last = _clock.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(_interval);
                try
                {
                    await _wake.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                    _wake.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The interval passed.
                }
            }
            var spacing = UpdateSpacingMin - _clock.GetElapsedTime(last);
            if (spacing > TimeSpan.Zero)
            {
                await Task.Delay(spacing, _clock, cancellationToken).ConfigureAwait(false);
            }
            await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            last = _clock.GetTimestamp();
            try
            {
                await client.SetDataAsync(Path, _snapshot().ToBytes(), -1, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _writes);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
                _logger.LogWarning(new EventId(4201, "Unregistered"), "{Path} was deleted by someone else; registering again", Path);
                await CreateAsync(lease, cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.ConnectionLoss)
            {
                // Written again after the reconnect.
            }
        }
    }

    /// <summary>Creates the ephemeral znode, waiting while another session holds it.</summary>
    private async Task CreateAsync(SessionLease lease, CancellationToken cancellationToken)
    {
        var client = lease.Client;
        var warned = false;
        while (true)
        {
            await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await client.CreateAsync(Path, _snapshot().ToBytes(), mode: CreateMode.Ephemeral, cancellationToken: cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _writes);
                return;
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NodeExists)
            {
                var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var stat = await client.ExistsAsync(Path, e =>
                {
                    if (e.Type != EventType.None || e.State == KeeperState.SyncConnected)
                    {
                        gone.TrySetResult();
                    }
                }, cancellationToken).ConfigureAwait(false);
                if (stat is null)
                {
                    continue;
                }
                if (stat.Value.EphemeralOwner == client.SessionId)
                {
                    return; // ours: a create that hit ConnectionLoss had applied
                }
                if (!warned)
                {
                    warned = true;
                    _logger.LogWarning(new EventId(4202, "RegistrationTaken"),
                        "{Path} is held by session 0x{Owner:x}: another agent runs with group '{Group}' and id '{Id}', or this agent's previous process has not expired yet; waiting for it to go",
                        Path, stat.Value.EphemeralOwner, _group, _id);
                }
                await gone.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.ConnectionLoss)
            {
                // Retried after the reconnect; a create that did apply is found as ours above.
            }
        }
    }

    private async Task WriteKnownAsync(ZooKeeperClient client, AgentStatus status, long stopTime, CancellationToken cancellationToken)
    {
        var known = new KnownAgent { Agent = status.Agent, Host = status.Host, Pid = status.Pid, StartTime = status.StartTime, StopTime = stopTime };
        var data = JsonSerializer.SerializeToUtf8Bytes(known, AgentStatus.Json);
        var path = ZnodeLayout.Known(_group, _id);
        try
        {
            await client.SetDataAsync(path, data, -1, cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            await client.EnsurePathAsync(path[..path.LastIndexOf('/')], cancellationToken).ConfigureAwait(false);
            try
            {
                await client.CreateAsync(path, data, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException inner) when (inner.Code == ErrorCode.NodeExists)
            {
                await client.SetDataAsync(path, data, -1, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
