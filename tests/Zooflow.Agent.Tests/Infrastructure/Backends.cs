using Xunit;
using Zooflow.Client;
using Zooflow.TestKit.Servers;

[assembly: AssemblyFixture(typeof(Zooflow.Agent.Tests.Infrastructure.BackendPool))]

namespace Zooflow.Agent.Tests.Infrastructure;

/// <summary>Which coordination service a test runs against. The standalone kinds run every theory over
/// <see cref="BackendPool.Kinds"/>; the process scenarios (<see cref="BackendPool.ProcessKinds"/>) also run against a Zooflow
/// ensemble, and the member-fault scenarios (<see cref="BackendPool.EnsembleKinds"/>) against both ensembles.</summary>
public enum BackendKind
{
    /// <summary>Apache ZooKeeper 3.8 standalone, from Debian's jars.</summary>
    ZooKeeper,

    /// <summary>Zooflow's server standalone, from the built CLI.</summary>
    Zooflow,

    /// <summary>Three Zooflow members (TestKit's <see cref="TestEnsemble"/>); agents get a connect string naming all three.</summary>
    ZooflowEnsemble,

    /// <summary>Three Apache ZooKeeper 3.8 members, the reference for the member-fault scenarios.</summary>
    ZooKeeperEnsemble,
}

/// <summary>A running service the agents connect to.</summary>
public interface ICoordinationBackend : IAsyncDisposable
{
    BackendKind Kind { get; }

    /// <summary><c>host:port[,host:port...]</c> without chroot.</summary>
    string ConnectString { get; }

    bool HasExited { get; }

    /// <summary>What the server(s) printed, for failure messages.</summary>
    string Output { get; }
}

/// <summary>One standalone server (TestKit's <see cref="TestServer"/>, tickTime 500 ms so sessions of 1–10 s are allowed).</summary>
internal sealed class StandaloneBackend(BackendKind kind, TestServer server) : ICoordinationBackend
{
    public BackendKind Kind => kind;

    public string ConnectString => server.ConnectString;

    public bool HasExited => server.HasExited;

    public string Output => server.Output;

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

/// <summary>A three-member ensemble; <see cref="HasExited"/> once any member died, so that the pool starts a fresh one
/// (tests that kill members restart them; tests that pause or cut members resume and heal them).</summary>
internal sealed class EnsembleBackend(BackendKind kind, TestEnsemble ensemble) : ICoordinationBackend
{
    public BackendKind Kind => kind;

    public TestEnsemble Ensemble => ensemble;

    public string ConnectString => ensemble.ConnectString;

    public bool HasExited => ensemble.MemberIds.Any(id => !ensemble.IsRunning(id));

    public string Output => string.Join("\n", ensemble.MemberIds.Select(ensemble.DescribeMember));

    public ValueTask DisposeAsync() => ensemble.DisposeAsync();
}

/// <summary>
/// One backend of each kind shared by the assembly, started on first use (restarted if it died). Tests stay apart by
/// working under their own chroot (<see cref="NewRootAsync"/>): an agent run with <c>-z host:port/chroot</c> keeps its
/// configuration, registry, limits and elections inside it. Zooflow runs are skipped, with the reason, when the CLI is not
/// built; the ZooKeeper run is the reference.
/// </summary>
public sealed class BackendPool : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<BackendKind, ICoordinationBackend> _backends = [];

    public static TheoryData<BackendKind> Kinds => new(BackendKind.ZooKeeper, BackendKind.Zooflow);

    /// <summary>The multi-process scenarios of issue 10's Show: both standalone servers and a Zooflow ensemble (the
    /// ZooKeeper ensemble is left to the member-fault scenarios, to keep CI time down: the agents' side of the protocol
    /// is the same against one ZooKeeper server or three).</summary>
    public static TheoryData<BackendKind> ProcessKinds => new(BackendKind.ZooKeeper, BackendKind.Zooflow, BackendKind.ZooflowEnsemble);

    /// <summary>Scenarios that fault a service member: a Zooflow ensemble and the Apache ZooKeeper 3.8 reference.</summary>
    public static TheoryData<BackendKind> EnsembleKinds => new(BackendKind.ZooflowEnsemble, BackendKind.ZooKeeperEnsemble);

    public async Task<ICoordinationBackend> GetAsync(BackendKind kind)
    {
        var token = TestContext.Current.CancellationToken;
        await _lock.WaitAsync(token);
        try
        {
            if (_backends.TryGetValue(kind, out var existing))
            {
                if (!existing.HasExited)
                {
                    return existing;
                }
                await existing.DisposeAsync();
                _backends.Remove(kind);
            }
            Cli.RequireBuilt();
            var backend = await StartAsync(kind, token);
            _backends[kind] = backend;
            return backend;
        }
        finally
        {
            _lock.Release();
        }
    }

    private static async Task<ICoordinationBackend> StartAsync(BackendKind kind, CancellationToken cancellationToken) => kind switch
    {
        BackendKind.ZooKeeper => new StandaloneBackend(kind, await TestServer.StartAsync(ServerKind.ZooKeeper, cancellationToken)),
        BackendKind.Zooflow => new StandaloneBackend(kind, await TestServer.StartAsync(ServerKind.Zooflow, cancellationToken)),
        BackendKind.ZooflowEnsemble => new EnsembleBackend(kind, await TestEnsemble.StartAsync(ServerKind.Zooflow, EnsembleOptions.Default, cancellationToken)),
        BackendKind.ZooKeeperEnsemble => new EnsembleBackend(kind, await TestEnsemble.StartAsync(ServerKind.ZooKeeper, EnsembleOptions.Default, cancellationToken)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such backend"),
    };

    /// <summary>A fresh chroot for one test: the backend and a connect string ending in that chroot.</summary>
    public async Task<(ICoordinationBackend Backend, string ConnectString)> NewRootAsync(BackendKind kind)
    {
        var backend = await GetAsync(kind);
        var root = "/t-" + Guid.NewGuid().ToString("N")[..12];
        await using var client = await ZooKeeperClient.ConnectAsync(backend.ConnectString, cancellationToken: TestContext.Current.CancellationToken);
        await client.CreateAsync(root, null, cancellationToken: TestContext.Current.CancellationToken);
        return (backend, backend.ConnectString + root);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }
        _backends.Clear();
        _lock.Dispose();
    }
}
