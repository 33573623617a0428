using Xunit;

[assembly: AssemblyFixture(typeof(Zooflow.Compat.Tests.Infrastructure.ServerPool))]

namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>
/// One server of each kind shared by the whole test assembly (start-up is the expensive part), started on first use and
/// restarted if it died. Tests stay independent by working under their own root path (<see cref="UniqueRoot"/>).
/// </summary>
public sealed class ServerPool : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<ServerKind, ServerProcess> _servers = [];

    public static string UniqueRoot(string prefix = "t") => $"/{prefix}-{Guid.NewGuid():N}";

    public async Task<ServerProcess> GetAsync(ServerKind kind)
    {
        await _lock.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_servers.TryGetValue(kind, out var existing))
            {
                if (!existing.HasExited)
                {
                    return existing;
                }

                TestContext.Current.SendDiagnosticMessage($"{kind} server had exited; restarting\n{existing.Output}");
                await existing.DisposeAsync();
                _servers.Remove(kind);
            }

            var server = await ServerProcess.StartAsync(kind, TestContext.Current.CancellationToken);
            _servers[kind] = server;
            return server;
        }
        finally
        {
            _lock.Release();
        }
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
