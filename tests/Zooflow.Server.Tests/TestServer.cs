using System.Net;
using Zooflow.Server.Configuration;

namespace Zooflow.Server.Tests;

/// <summary>A real server on loopback port 0 with its own temp data dir, stopped and cleaned on dispose.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly string _dataDir;

    private TestServer(StandaloneServer server, string dataDir, ServerOptions options, CapturingLoggerFactory logs)
    {
        Logs = logs;
        Server = server;
        _dataDir = dataDir;
        Options = options;
    }

    public StandaloneServer Server { get; }

    public ServerOptions Options { get; }

    public CapturingLoggerFactory Logs { get; }

    public IPEndPoint EndPoint => Server.EndPoint;

    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, Pipeline.ITxnLog? log = null)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "zooflow-server-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dataDir);
        var options = new ServerOptions { ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = dataDir, TickTimeMs = 200 };
        options = configure?.Invoke(options) ?? options;
        var logs = new CapturingLoggerFactory();
        var server = new StandaloneServer(options, logs, sessionSecret: new byte[32], log: log);
        await server.StartAsync();
        return new TestServer(server, dataDir, options, logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
