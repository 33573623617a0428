using System.Text;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Recipes;

namespace Zooflow.Agent.Configuration;

/// <summary>One version of an agent configuration as stored in the service.</summary>
/// <param name="Path">The configuration znode.</param>
/// <param name="Text">The whole properties text (UTF-8 in the znode).</param>
/// <param name="Version">The znode's data version when this text was current (0 after create, +1 per setData).</param>
/// <param name="Mzxid">The zxid that wrote this version (0 when unknown, e.g. an old history entry).</param>
/// <param name="ModifiedUtc">When it was written.</param>
public sealed record ConfigVersion(string Path, string Text, int Version, long Mzxid, DateTimeOffset ModifiedUtc);

/// <summary>A history entry: the version and when it was pushed (the text is read on demand).</summary>
public sealed record ConfigHistoryEntry(int Version, DateTimeOffset PushedUtc, int Bytes);

/// <summary>A push lost a race: someone else changed the configuration since it was read.</summary>
public sealed class ConfigConflictException(string path, int expectedVersion, int actualVersion)
    : Exception($"{path} changed since it was read (expected data version {expectedVersion}, found {actualVersion}); pull, merge and push again, or pass --force-version")
{
    /// <summary>The version the push expected.</summary>
    public int ExpectedVersion { get; } = expectedVersion;

    /// <summary>The version found in the service.</summary>
    public int ActualVersion { get; } = actualVersion;
}

/// <summary>
/// Reads and writes agent configurations in the service with their history (<see cref="ZnodeLayout"/>): a push writes
/// the new text and its history entry in one multi, checked against the data version it expects, so two operators
/// cannot overwrite each other's change unnoticed; the oldest history entries beyond the bound are then deleted.
/// </summary>
/// <remarks>Validation of the text is the caller's job (the CLI validates before pushing unless forced).</remarks>
public sealed class ConfigStore(ZooKeeperClient client)
{
    /// <summary>History entries kept per configuration unless told otherwise.</summary>
    public const int DefaultHistoryKeep = 20;

    /// <summary>The largest text accepted: ZooKeeper's default jute.maxbuffer is 1 MiB for the whole request, and a push
    /// carries the text twice (config and history) in one multi.</summary>
    public const int TextBytesMax = 480 * 1024;

    /// <summary>The current configuration, or null when the znode does not exist.</summary>
    public async Task<ConfigVersion?> GetAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var (data, stat) = await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ConfigVersion(path, Decode(data), stat.Version, stat.Mzxid, DateTimeOffset.FromUnixTimeMilliseconds(stat.Mtime));
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> as the new configuration. <paramref name="expectedVersion"/> is the data version the
    /// caller based the text on (-1: the znode must not exist yet; null: whatever is there now, read just before).
    /// Returns the new version. Throws <see cref="ConfigConflictException"/> when someone else pushed in between.
    /// </summary>
    public async Task<ConfigVersion> PushAsync(string path, string text, int? expectedVersion, IReadOnlyList<Acl>? acl, int historyKeep,
        CancellationToken cancellationToken)
    {
        var data = Encoding.UTF8.GetBytes(text);
        if (data.Length > TextBytesMax)
        {
            throw new ArgumentException($"the configuration is {data.Length} bytes; at most {TextBytesMax} fit in a znode with its history entry");
        }
        var parent = path[..Math.Max(1, path.LastIndexOf('/'))];
        await client.EnsurePathAsync(parent, cancellationToken).ConfigureAwait(false);
        var current = await client.ExistsAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        var expected = expectedVersion ?? (current is { } s ? s.Version : -1);
        IReadOnlyList<OpResult> results;
        int newVersion;
        if (expected < 0)
        {
            if (current is { } exists)
            {
                throw new ConfigConflictException(path, -1, exists.Version);
            }
            newVersion = 0;
            results = await MultiOrConflictAsync(path, expected,
            [
                Op.Create(path, data, acl),
                Op.Create(ZnodeLayout.History(path, newVersion), data, acl),
            ], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            newVersion = expected + 1;
            var ops = new List<Op> { Op.SetData(path, data, expected), Op.Create(ZnodeLayout.History(path, newVersion), data, acl) };
            results = await MultiOrConflictAsync(path, expected, ops, cancellationToken).ConfigureAwait(false);
            if (acl is not null)
            {
                await client.SetAclAsync(path, acl, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        await TrimHistoryAsync(path, historyKeep, cancellationToken).ConfigureAwait(false);
        var written = await GetAsync(path, cancellationToken).ConfigureAwait(false);
        _ = results;
        return written is { Version: var v } && v == newVersion ? written : new ConfigVersion(path, text, newVersion, 0, DateTimeOffset.UtcNow);
    }

    private async Task<IReadOnlyList<OpResult>> MultiOrConflictAsync(string path, int expected, IReadOnlyList<Op> ops, CancellationToken cancellationToken)
    {
        try
        {
            return await client.MultiAsync(ops, cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code is ErrorCode.BadVersion or ErrorCode.NodeExists && ex.Path == path
            || ex.Code == ErrorCode.NodeExists && ex.Path?.StartsWith(path + "/", StringComparison.Ordinal) == true)
        {
            var now = await client.ExistsAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            throw new ConfigConflictException(path, expected, now?.Version ?? -1);
        }
    }

    /// <summary>The history entries, oldest first.</summary>
    public async Task<IReadOnlyList<ConfigHistoryEntry>> HistoryAsync(string path, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> children;
        try
        {
            children = await client.GetChildrenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return [];
        }
        var entries = new List<ConfigHistoryEntry>();
        foreach (var child in children)
        {
            var version = ZnodeLayout.HistoryVersion(child);
            if (version < 0)
            {
                continue;
            }
            var stat = await client.ExistsAsync(ZnodeLayout.History(path, version), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (stat is { } s)
            {
                entries.Add(new ConfigHistoryEntry(version, DateTimeOffset.FromUnixTimeMilliseconds(s.Ctime), s.DataLength));
            }
        }
        entries.Sort((a, b) => a.Version.CompareTo(b.Version));
        return entries;
    }

    /// <summary>The text that was pushed as <paramref name="version"/>, or null when that version is not in the history
    /// (trimmed, or written outside <c>zooflow config push</c>). The current version is always available.</summary>
    public async Task<ConfigVersion?> GetVersionAsync(string path, int version, CancellationToken cancellationToken)
    {
        try
        {
            var (data, stat) = await client.GetDataAsync(ZnodeLayout.History(path, version), cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ConfigVersion(path, Decode(data), version, 0, DateTimeOffset.FromUnixTimeMilliseconds(stat.Ctime));
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            var current = await GetAsync(path, cancellationToken).ConfigureAwait(false);
            return current?.Version == version ? current : null;
        }
    }

    /// <summary>Deletes the oldest history entries beyond <paramref name="keep"/> (best effort: a concurrent trim is fine).</summary>
    public async Task TrimHistoryAsync(string path, int keep, CancellationToken cancellationToken)
    {
        var entries = await HistoryAsync(path, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < entries.Count - Math.Max(1, keep); i++)
        {
            try
            {
                await client.DeleteAsync(ZnodeLayout.History(path, entries[i].Version), -1, cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
            }
        }
    }

    /// <summary>Sets <paramref name="acl"/> on the configuration znode and every history entry.</summary>
    public async Task SetAclAsync(string path, IReadOnlyList<Acl> acl, CancellationToken cancellationToken)
    {
        foreach (var entry in await HistoryAsync(path, cancellationToken).ConfigureAwait(false))
        {
            await client.SetAclAsync(ZnodeLayout.History(path, entry.Version), acl, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await client.SetAclAsync(path, acl, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flume decodes the znode data as UTF-8 (<c>AbstractZooKeeperConfigurationProvider.configFromBytes</c>).</summary>
    public static string Decode(byte[] data) => Encoding.UTF8.GetString(data);
}
