using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Server.Configuration;

namespace Zooflow.Server.Persistence;

/// <summary>
/// A standalone server on a data directory: opens and recovers the <see cref="PersistentStore"/> (directory locks, log
/// repair, newest valid snapshot + log replay, sessions), starts a <see cref="StandaloneServer"/> on the recovered tree with
/// the durable log and the persistent session secret, then the background snapshotter and autopurge.
/// Stop order: background work, then the server (drains the log), then the store (releases the locks).
/// </summary>
public sealed class DurableServer : IAsyncDisposable
{
    private readonly PersistentStore _store;
    private bool _disposed;

    private DurableServer(PersistentStore store, StandaloneServer server)
    {
        _store = store;
        Server = store is null ? throw new ArgumentNullException(nameof(store)) : server;
    }

    /// <summary>The running server.</summary>
    public StandaloneServer Server { get; }

    /// <summary>The data directory store (recovery report, snapshotter).</summary>
    public PersistentStore Store => _store;

    /// <summary>Persistence settings from server options (<c>forceSync=no</c> is UNSAFE: no fsync).</summary>
    public static PersistenceOptions OptionsFrom(ServerOptions options) => new()
    {
        DataDir = options.DataDir,
        DataLogDir = options.DataLogDir,
        SnapCount = options.SnapCount,
        SnapRetainCount = options.AutopurgeSnapRetainCount,
        PurgeIntervalHours = options.AutopurgePurgeIntervalHours,
        ExtendedTypesEnabled = options.ExtendedTypesEnabled,
        ForceSync = options.ForceSync,
    };

    /// <summary>Recovers the data directory and starts serving.</summary>
    public static async Task<DurableServer> StartAsync(ServerOptions options, PersistenceOptions persistence, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("Zooflow.Persistence");
        var store = await PersistentStore.OpenAsync(persistence, logger, cancellationToken).ConfigureAwait(false);
        StandaloneServer? server = null;
        try
        {
            server = new StandaloneServer(options, loggerFactory, sessionSecret: store.SessionSecret, log: store.Log, tree: store.Tree);
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
            store.StartBackground(server.RunOnLoopAsync);
            return new DurableServer(store, server);
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops background work, the server and the store, in that order.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _store.StopBackgroundAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }
}
