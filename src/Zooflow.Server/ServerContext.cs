using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Zooflow.Server.Configuration;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server;

/// <summary>What every part of one server shares: options, clock, logger, counters and the state machine's inbox.</summary>
internal sealed class ServerContext(ServerOptions options, TimeProvider time, ILogger logger, ChannelWriter<Work> inbox)
{
    public ServerOptions Options { get; } = options;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;
    public ChannelWriter<Work> Inbox { get; } = inbox;
    public ServerStats Stats { get; } = new();

    /// <summary>Open client connections by id (maintained by the listener; read by <c>cons</c>/<c>stat</c>).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<long, Network.ClientConnection> Connections { get; } = new();
    public long StartedAtMs { get; } = time.GetUtcNow().ToUnixTimeMilliseconds();

    private volatile string? _role = "standalone";

    /// <summary>What <c>srvr</c> prints as Mode: standalone, leader, follower or observer; null while an ensemble member
    /// does not serve (ZooKeeper: "This ZooKeeper instance is not currently serving requests"). Written by the loop.</summary>
    public string? Role
    {
        get => _role;
        set => _role = value;
    }

    private long _connectionIds;

    /// <summary>A new server-unique connection number.</summary>
    public long NextConnectionId() => Interlocked.Increment(ref _connectionIds);

    /// <summary>Milliseconds of wall-clock time (transaction times, ctime/mtime).</summary>
    public long NowMs() => Time.GetUtcNow().ToUnixTimeMilliseconds();
}
