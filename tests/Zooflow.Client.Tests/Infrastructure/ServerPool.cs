using Xunit;

[assembly: AssemblyFixture(typeof(Zooflow.Client.Tests.Infrastructure.ServerPool))]

namespace Zooflow.Client.Tests.Infrastructure;

/// <summary>
/// One server of each kind shared by the test assembly, started on first use (restarted if it died). Tests stay
/// independent by working under their own chroot (<see cref="NewRootAsync"/>). Zooflow tests are skipped, with the
/// reason, when the CLI is not built or its server does not start — the ZooKeeper run is the reference.
/// </summary>
public sealed class ServerPool : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<ServerKind, TestServer> _servers = [];
    private readonly Dictionary<ServerKind, string> _unavailable = [];

    public static TheoryData<ServerKind> Kinds => new(ServerKind.ZooKeeper, ServerKind.Zooflow);

    public async Task<TestServer> GetAsync(ServerKind kind)
    {
        var token = TestContext.Current.CancellationToken;
        await _lock.WaitAsync(token);
        try
        {
            if (_unavailable.TryGetValue(kind, out var why))
            {
                Assert.Skip(why);
            }

            if (_servers.TryGetValue(kind, out var existing))
            {
                if (!existing.HasExited)
                {
                    return existing;
                }

                await existing.DisposeAsync();
                _servers.Remove(kind);
            }

            if (kind == ServerKind.Zooflow && !File.Exists(TestServer.ZooflowCli))
            {
                _unavailable[kind] = $"Zooflow CLI not built at {TestServer.ZooflowCli} (build src/Zooflow.Cli or set ZOOFLOW_CLI)";
                Assert.Skip(_unavailable[kind]);
            }

            try
            {
                var server = await TestServer.StartAsync(kind, token);
                _servers[kind] = server;
                return server;
            }
            catch (Exception e) when (kind == ServerKind.Zooflow && e is InvalidOperationException or TimeoutException)
            {
                _unavailable[kind] = "Zooflow server did not start: " + e.Message[..Math.Min(e.Message.Length, 2000)];
                Assert.Skip(_unavailable[kind]);
                throw;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>A fresh root node for one test; returns the server and a connect string chrooted to that node.</summary>
    public async Task<(TestServer Server, string ConnectString, string Root)> NewRootAsync(ServerKind kind)
    {
        var server = await GetAsync(kind);
        var root = "/t-" + Guid.NewGuid().ToString("N")[..12];
        await using var client = await ZooKeeperClient.ConnectAsync(server.ConnectString, cancellationToken: TestContext.Current.CancellationToken);
        await client.CreateAsync(root, null, cancellationToken: TestContext.Current.CancellationToken);
        return (server, server.ConnectString + root, root);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        _lock.Dispose();
    }
}
