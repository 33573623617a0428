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
    private readonly Dictionary<ServerKind, int> _starts = [];
    private readonly Dictionary<ServerKind, Exception> _failures = [];

    /// <summary>A server that failed to start this many times is not tried again in this run (fail fast instead).</summary>
    private const int MaxStarts = 3;

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

            if (_failures.TryGetValue(kind, out var failure) && _starts.GetValueOrDefault(kind) >= MaxStarts)
            {
                throw new InvalidOperationException($"{kind} server failed to start earlier in this run; not retrying", failure);
            }

            _starts[kind] = _starts.GetValueOrDefault(kind) + 1;
            try
            {
                var server = await ServerProcess.StartAsync(kind, TestContext.Current.CancellationToken);
                _servers[kind] = server;
                return server;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException)
            {
                _failures[kind] = e;
                throw;
            }
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
