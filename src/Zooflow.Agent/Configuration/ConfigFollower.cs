using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Agent.Configuration;

/// <summary>What the configuration znode holds right now, as the follower saw it.</summary>
public abstract record ConfigObservation(string Path)
{
    /// <summary>The znode exists and was read.</summary>
    public sealed record Present(ConfigVersion Config) : ConfigObservation(Config.Path);

    /// <summary>The znode does not exist (Flume then runs an empty configuration).</summary>
    public sealed record Missing(string ZnodePath) : ConfigObservation(ZnodePath);

    /// <summary>The znode exists but could not be read (e.g. NoAuth: its ACL does not grant this agent's credentials read).</summary>
    public sealed record Unreadable(string ZnodePath, ErrorCode Code, string Message) : ConfigObservation(ZnodePath);
}

/// <summary>
/// Follows one configuration znode (Flume's <c>PollingZooKeeperConfigurationProvider</c>, whose Curator NodeCache fires on
/// create, setData and delete): reads it with a watch, and reads again when the watch fires, after every reconnect (a
/// change made while disconnected is caught) and in every new session after an expiry. Each distinct state is delivered
/// once, in order, to <c>onChange</c> (a re-read that finds the same mzxid delivers nothing).
/// </summary>
/// <remarks>
/// The read is <c>exists(watch)</c> then <c>getData(watch)</c>: <c>exists</c> sets a watch even when the znode is missing
/// (so its creation is seen) and needs no read permission (so an ACL problem is reported, and a later change is still
/// seen).
/// </remarks>
public sealed class ConfigFollower(ServiceSession session, string path, Func<ConfigObservation, CancellationToken, Task> onChange, ILogger logger)
{
    private ConfigObservation? _last;

    /// <summary>Follows until <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        SessionLoops.RunPerSessionAsync(session, "configuration follower for " + path,
            (lease, ct) => SessionLoops.RunWatchLoopAsync(lease, (watcher, token) => RefreshAsync(lease.Client, watcher, token), null, ct),
            logger, cancellationToken);

    /// <summary>Reads the znode once without following it (Flume's <c>StaticZooKeeperConfigurationProvider</c>).</summary>
    public static async Task<ConfigObservation> ReadOnceAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        try
        {
            var (data, stat) = await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ConfigObservation.Present(new ConfigVersion(path, ConfigStore.Decode(data), stat.Version, stat.Mzxid, DateTimeOffset.FromUnixTimeMilliseconds(stat.Mtime)));
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return new ConfigObservation.Missing(path);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoAuth)
        {
            return Unreadable(path, ex);
        }
    }

    private async Task RefreshAsync(ZooKeeperClient client, Action<WatchedEvent> watcher, CancellationToken cancellationToken)
    {
        ConfigObservation observed;
        var stat = await client.ExistsAsync(path, watcher, cancellationToken).ConfigureAwait(false);
        if (stat is null)
        {
            observed = new ConfigObservation.Missing(path);
        }
        else
        {
            try
            {
                var (data, dataStat) = await client.GetDataAsync(path, watcher, cancellationToken).ConfigureAwait(false);
                observed = new ConfigObservation.Present(new ConfigVersion(path, ConfigStore.Decode(data), dataStat.Version, dataStat.Mzxid,
                    DateTimeOffset.FromUnixTimeMilliseconds(dataStat.Mtime)));
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
                // Deleted between exists and getData: the exists watch fired and wakes us again.
                return;
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoAuth)
            {
                observed = Unreadable(path, ex);
            }
        }
        if (Same(_last, observed))
        {
            return;
        }
        _last = observed;
        await onChange(observed, cancellationToken).ConfigureAwait(false);
    }

    private static ConfigObservation.Unreadable Unreadable(string path, KeeperException ex) => new(path, ex.Code,
        $"cannot read configuration znode {path}: {ex.Message}: its ACL does not grant read to this agent's credentials "
        + "(pass --auth digest:user:password or set ZOOFLOW_AUTH)");

    private static bool Same(ConfigObservation? a, ConfigObservation b) => (a, b) switch
    {
        (ConfigObservation.Present x, ConfigObservation.Present y) => x.Config.Mzxid == y.Config.Mzxid,
        (ConfigObservation.Missing, ConfigObservation.Missing) => true,
        (ConfigObservation.Unreadable x, ConfigObservation.Unreadable y) => x.Code == y.Code,
        _ => false,
    };
}
