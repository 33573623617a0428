using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using Zooflow.Recipes;

namespace Zooflow.Agent.Spool;

/// <summary>What a shared spooling directory needs from its agent.</summary>
/// <param name="Session">The agent's service session.</param>
/// <param name="Group">The agent's group: the directory is shared by the agents of this group.</param>
/// <param name="AgentId">The agent's registry id (stored in its member and claim nodes, for operators).</param>
/// <param name="LoggerFactory">Loggers.</param>
public sealed record SpoolShareContext(ServiceSession Session, string Group, string AgentId, ILoggerFactory LoggerFactory);

/// <summary>
/// <c>&lt;source&gt;.partition = &lt;name&gt;</c>: the agents of a group whose spooldir sources name the same partition
/// share one spooling directory (on shared storage) and divide its files through the service, each file read by one
/// agent at a time; the files of an agent that dies are taken over and resumed from their stored position. One instance
/// per source instance, used as both its <see cref="ISpoolFileClaimer"/> and its <see cref="ISpoolProgressStore"/>.
/// </summary>
/// <remarks>
/// <para><b>Znodes</b> under <c>/zooflow/spool/&lt;group&gt;/&lt;name&gt;</c> (<see cref="ZnodeLayout"/>):
/// <c>members/member-N</c> ephemeral sequential, one per session of this source instance — the fence;
/// <c>claims/&lt;file&gt;</c> ephemeral, data <c>&lt;agent id&gt; &lt;member&gt;</c> — held while the file is read;
/// <c>progress/&lt;file&gt;</c> persistent, data <c>&lt;inode&gt; &lt;offset&gt; &lt;records-into-block&gt;</c> (ASCII decimals) —
/// the committed position, deleted once the file is finished.</para>
/// <para><b>Claiming.</b> A file is read only after creating its claim node; a create that finds the node held by another
/// session skips the file this round. Exactly one agent can hold a claim, and a dead agent's claims go with its
/// session (one session timeout after it was last heard), after which another agent claims the file and continues from
/// <c>progress/&lt;file&gt;</c>: at most the one batch the dead agent committed but had not recorded is read twice.</para>
/// <para><b>Finished files need no marker.</b> The source renames (or deletes) a file before it gives up its claim, so an
/// agent that listed the file before the rename and claims it afterwards finds it gone and skips it; a file renamed by an
/// agent that died before deleting its progress leaves a stale progress node, removed by the sweep each new member runs.
/// <c>trackingPolicy = tracker_dir</c> (files stay under their name) is refused with <c>partition</c>.</para>
/// <para><b>Fencing.</b> Every position is written in a multi with a check of this instance's member node. An agent cut
/// off from the service for longer than its session timeout has lost its claims: its next write fails (the member node
/// is gone, or the session expired), it stops reading that file, and the agent that took the file over is not
/// overwritten. While the connection is down, writes wait for it (the source does not read on past one batch).</para>
/// <para>Used by one source loop at a time; not thread-safe.</para>
/// </remarks>
public sealed class SpoolShare : ISpoolFileClaimer, ISpoolProgressStore
{
    private readonly SpoolShareContext _context;
    private readonly string _name;
    private readonly string _root;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _claims = new(StringComparer.Ordinal);
    private SpoolDirectorySettings? _settings;
    private SessionLease? _lease;
    private string? _member;

    /// <summary>Creates the share of partition <paramref name="name"/> for one source instance.</summary>
    public SpoolShare(string name, SpoolShareContext context)
    {
        _context = context;
        _name = name;
        _root = ZnodeLayout.Spool(context.Group, name);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Agent.Spool");
    }

    /// <summary>The partition name.</summary>
    public string Name => _name;

    /// <summary>The member node of the current session, or null.</summary>
    public string? Member => _member;

    /// <summary>Relative paths of the files claimed now.</summary>
    public IReadOnlyCollection<string> Claimed => _claims.Keys;

    /// <summary>Binds the source's validated settings (the seam's progress-store factory calls it at start).</summary>
    public SpoolShare For(SpoolDirectorySettings settings)
    {
        _settings = settings;
        return this;
    }

    private string ClaimPath(string relative) => _root + "/claims/" + ZnodeLayout.EncodeFileName(relative);

    private string ProgressPath(string relative) => _root + "/progress/" + ZnodeLayout.EncodeFileName(relative);

    /// <summary>The live session with this instance's member node in it, or null when there is no session now.</summary>
    private async Task<SessionLease?> MemberAsync(CancellationToken cancellationToken)
    {
        var lease = _context.Session.Current;
        if (lease is null || lease.Client.State != ConnectionState.Connected)
        {
            return null;
        }
        if (_lease == lease && _member is not null)
        {
            return lease;
        }
        // A new session: the claims of the old one are gone with it.
        _claims.Clear();
        await lease.Client.EnsurePathAsync(_root + "/members", cancellationToken).ConfigureAwait(false);
        await lease.Client.EnsurePathAsync(_root + "/claims", cancellationToken).ConfigureAwait(false);
        await lease.Client.EnsurePathAsync(_root + "/progress", cancellationToken).ConfigureAwait(false);
        _member = await lease.Client.CreateAsync(_root + "/members/member-", Encoding.UTF8.GetBytes(_context.AgentId),
            mode: CreateMode.EphemeralSequential, cancellationToken: cancellationToken).ConfigureAwait(false);
        _lease = lease;
        _logger.LogInformation(new EventId(4400, "SpoolMember"), "Spool partition {Name}: joined as {Member} (session {Session})", _name, _member, lease.SessionIdText);
        await SweepAsync(lease.Client, cancellationToken).ConfigureAwait(false);
        return lease;
    }

    /// <summary>Deletes progress nodes of files that are gone and unclaimed (their agent renamed the file and died before
    /// deleting the node).</summary>
    private async Task SweepAsync(ZooKeeperClient client, CancellationToken cancellationToken)
    {
        if (_settings is null)
        {
            return;
        }
        foreach (var child in await client.GetChildrenAsync(_root + "/progress", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var relative = ZnodeLayout.DecodeFileName(child);
            if (File.Exists(Absolute(relative)) || await client.ExistsAsync(ClaimPath(relative), cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }
            try
            {
                await client.DeleteAsync(_root + "/progress/" + child, -1, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation(new EventId(4401, "SpoolSwept"), "Spool partition {Name}: removed the progress of {File}, which is no longer in the directory", _name, relative);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> TryClaimAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        SessionLease? lease;
        try
        {
            lease = await MemberAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code is ErrorCode.ConnectionLoss or ErrorCode.SessionExpired or ErrorCode.SessionMoved)
        {
            return false;
        }
        if (lease is null)
        {
            return false; // no session: another agent may hold the file, so nothing is read
        }
        var path = ClaimPath(file.RelativePath);
        var data = Encoding.UTF8.GetBytes(_context.AgentId + " " + _member);
        try
        {
            await lease.Client.CreateAsync(path, data, mode: CreateMode.Ephemeral, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NodeExists)
        {
            // Ours when a create that hit ConnectionLoss had applied; otherwise another agent reads it.
            Stat? stat;
            try
            {
                stat = await lease.Client.ExistsAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException)
            {
                return false;
            }
            if (stat?.EphemeralOwner != lease.Client.SessionId)
            {
                return false;
            }
        }
        catch (KeeperException ex) when (ex.Code is ErrorCode.ConnectionLoss or ErrorCode.SessionExpired or ErrorCode.SessionMoved)
        {
            return false; // tried again next round; a create that applied is found as ours then
        }
        _claims[file.RelativePath] = path;
        return true;
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        if (!_claims.Remove(file.RelativePath, out var path) || _lease is not { } lease || lease.Ended.IsCancellationRequested)
        {
            return;
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Ended);
            timeout.CancelAfter(_context.Session.Options.SessionTimeout);
            await ZkPaths.RetryAsync(() => lease.Client.DeleteAsync(path, -1, timeout.Token), timeout.Token).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
        }
        catch (Exception ex) when (ex is KeeperException or OperationCanceledException)
        {
            // Still ours (claimed again as ours next round) until the session ends.
            _logger.LogWarning(new EventId(4402, "SpoolReleaseFailed"), "Spool partition {Name}: could not release {File} ({Reason}); it is held until this agent's session ends",
                _name, file.RelativePath, ex.Message);
        }
    }

    /// <inheritdoc />
    public ValueTask<SpoolProgress?> InProgressAsync(CancellationToken cancellationToken) => ValueTask.FromResult<SpoolProgress?>(null);

    /// <inheritdoc />
    public ValueTask<IReadOnlySet<string>> FinishedAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlySet<string>>(new HashSet<string>(StringComparer.Ordinal));

    /// <inheritdoc />
    public async ValueTask<SpoolPosition> BeginAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        var client = ClaimedClient(file);
        byte[] data;
        try
        {
            (data, _) = await client.GetDataAsync(ProgressPath(file.RelativePath), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return SpoolPosition.Start;
        }
        catch (KeeperException ex)
        {
            throw new IOException($"spool partition {_name}: cannot read the progress of {file.RelativePath}: {ex.Message}", ex);
        }
        var parts = Encoding.ASCII.GetString(data).Split(' ');
        if (parts.Length != 3
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var records))
        {
            _logger.LogError(new EventId(4403, "SpoolProgressUnreadable"), "Spool partition {Name}: the progress of {File} is not '<inode> <offset> <records>'; reading it from its start",
                _name, file.RelativePath);
            return SpoolPosition.Start;
        }
        if (inode != file.Key.Inode)
        {
            _logger.LogWarning(new EventId(4404, "SpoolProgressOtherFile"), "Spool partition {Name}: the stored position of {File} belongs to another file (inode {Old}, now {New}); reading it from its start",
                _name, file.RelativePath, inode, file.Key.Inode);
            return SpoolPosition.Start;
        }
        _logger.LogInformation(new EventId(4405, "SpoolTakeover"), "Spool partition {Name}: continuing {File} at {Position} (left there by an agent that stopped or died)",
            _name, file.RelativePath, new SpoolPosition(offset, records));
        return new SpoolPosition(offset, records);
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(SpoolFile file, SpoolPosition position, CancellationToken cancellationToken)
    {
        var client = ClaimedClient(file);
        var path = ProgressPath(file.RelativePath);
        var data = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{file.Key.Inode} {position.Offset} {position.RecordsIntoBlock}"));
        try
        {
            try
            {
                await client.MultiAsync([Op.Check(_member!, -1), Op.SetData(path, data)], cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode && ex.Path == path)
            {
                await client.MultiAsync([Op.Check(_member!, -1), Op.Create(path, data)], cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode && ex.Path == _member)
        {
            throw Lost(file, "its member node is gone");
        }
        catch (KeeperException ex)
        {
            // ConnectionLoss (the position may or may not be written: the next attempt resumes from what is stored) or
            // an expired session (the claim is gone): stop reading this file.
            throw new IOException($"spool partition {_name}: cannot record the position of {file.RelativePath}: {ex.Message}; it is resumed from the last recorded position", ex);
        }
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(SpoolFile file, CancellationToken cancellationToken) => ForgetAsync(file, cancellationToken);

    /// <inheritdoc />
    public ValueTask SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken) => ForgetAsync(file, cancellationToken);

    private async ValueTask ForgetAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        var client = ClaimedClient(file);
        try
        {
            await ZkPaths.RetryAsync(() => client.MultiAsync([Op.Check(_member!, -1), Op.Delete(ProgressPath(file.RelativePath), -1)], cancellationToken), cancellationToken, attemptsMax: 5)
                .ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode && ex.Path != _member)
        {
            // Nothing was recorded (an empty file, or finished in one batch before any save).
        }
        catch (KeeperException ex)
        {
            // The file is renamed already: a stale progress node is removed by the next member's sweep.
            _logger.LogWarning(new EventId(4406, "SpoolForgetFailed"), "Spool partition {Name}: could not remove the progress of {File} ({Reason})", _name, file.RelativePath, ex.Message);
        }
    }

    /// <summary>Gives up this instance's member node (its claims were released by the source).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_lease is { } lease && _member is { } member && !lease.Ended.IsCancellationRequested && lease.Client.State == ConnectionState.Connected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await lease.Client.DeleteAsync(member, -1, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KeeperException or OperationCanceledException)
            {
            }
        }
        _member = null;
        _lease = null;
    }

    private ZooKeeperClient ClaimedClient(SpoolFile file)
    {
        if (!_claims.ContainsKey(file.RelativePath) || _lease is not { } lease)
        {
            throw new InvalidOperationException($"spool partition {_name}: {file.RelativePath} is used without a claim");
        }
        if (lease.Ended.IsCancellationRequested)
        {
            throw Lost(file, "the session ended");
        }
        return lease.Client;
    }

    private IOException Lost(SpoolFile file, string why) =>
        new($"spool partition {_name}: the claim on {file.RelativePath} was lost ({why}: this agent was cut off from the service for longer than its session timeout); another agent continues the file");

    private string Absolute(string relative) => Path.Combine(_settings!.SpoolDirectory, relative.Replace('/', Path.DirectorySeparatorChar));
}
