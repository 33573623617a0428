using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sinks;
using Zooflow.Recipes;

namespace Zooflow.Agent.Sinks;

/// <summary>
/// The <c>zookeeper</c> sink (ours; Flume has none): stores each event's body as a persistent sequential znode
/// <c>&lt;path&gt;/event-&lt;10 digits&gt;</c> and keeps at most <c>maxEvents</c> of them, deleting the oldest. Meant for small
/// control or alert streams that other processes read with any ZooKeeper client (newest = highest sequence).
/// </summary>
/// <remarks>
/// <para>Keys: <c>path</c> (required), <c>maxEvents</c> (1000; 1..100000), <c>maxEventBytes</c> (65536; 1..1000000),
/// <c>batchSize</c> (100; 1..1000), <c>zkConnString</c> (default: the agent's own service connection, which exists when
/// the agent runs with <c>-z</c>), <c>sessionTimeout</c> (ms, 10000, for its own connection).</para>
/// <para><b>Batches.</b> A batch becomes one multi (split into several when its bytes would exceed 512 KiB, below the
/// 1 MiB <c>jute.maxbuffer</c>); the channel transaction commits only after every create succeeded. A failure rolls the
/// batch back (redelivery may repeat creates that did apply: at least once).</para>
/// <para><b>Oversize events.</b> An event whose body exceeds <c>maxEventBytes</c> is refused: not stored, logged as an
/// error with its size, the limit, the path and its headers (never the body), and counted in the sink's
/// <c>EventWriteFail</c> and <see cref="Refused"/>. The rest of the batch is stored and the batch commits. Rolling it back
/// instead would block every later event behind one that can never fit (the channel would wedge), which is worse for an
/// alert stream than one clearly reported refusal.</para>
/// </remarks>
public sealed class ZooKeeperSink : BatchSink
{
    /// <summary>Largest bytes per multi: half of ZooKeeper's default 1 MiB jute.maxbuffer, leaving room for framing.</summary>
    public const int MultiBytesMax = 512 * 1024;

    /// <summary>Prefix of the event nodes.</summary>
    public const string NodePrefix = "event-";

    private readonly ServiceSession? _agentSession;
    private readonly ServiceOptions? _ownOptions;
    private readonly ILogger _logger;
    private readonly List<Event> _pending = [];
    private ServiceSession? _ownSession;
    private SessionLease? _lease;
    private long _refused;
    private long _knownCount = -1;

    /// <summary>Reads the keys; <paramref name="agentSession"/> is the agent's connection (null for a file-configured agent,
    /// or when only validating: then <paramref name="agentUsesService"/> says whether the agent will have one).</summary>
    public ZooKeeperSink(string name, ComponentContext context, ServiceSession? agentSession, bool agentUsesService)
        : base(name, context.GetInt("batchSize", 100, 1, 1000), context)
    {
        _agentSession = agentSession;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Agent.ZooKeeperSink");
        Path = context.GetRequiredString("path");
        if (Path.Length > 0 && (Path[0] != '/' || Path == "/" || Path.EndsWith('/') || Path.Contains("//", StringComparison.Ordinal)))
        {
            context.AddError("path", $"'{Path}' is not an absolute znode path below the root (allowed: e.g. /alerts/web; no trailing or double '/')");
        }
        MaxEvents = context.GetInt("maxEvents", 1000, 1, 100_000);
        MaxEventBytes = context.GetInt("maxEventBytes", 65536, 1, 1_000_000);
        var connect = context.GetString("zkConnString");
        var timeoutMs = context.GetInt("sessionTimeout", 10_000, 500, 600_000);
        if (connect is not null)
        {
            _ownOptions = new ServiceOptions { ConnectString = connect, SessionTimeout = TimeSpan.FromMilliseconds(timeoutMs) };
            foreach (var error in _ownOptions.Validate())
            {
                context.AddError("zkConnString", error);
            }
        }
        else if (!agentUsesService)
        {
            context.AddError("zkConnString", "is required when the agent does not take its configuration from the service (-z); "
                + "set it to host:port[,host:port...][/chroot]");
        }
    }

    /// <summary>The parent znode of the event nodes.</summary>
    public string Path { get; }

    /// <summary>How many event nodes are kept at most.</summary>
    public int MaxEvents { get; }

    /// <summary>The largest body stored.</summary>
    public int MaxEventBytes { get; }

    /// <summary>Events refused for their size.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_ownOptions is not null)
        {
            _ownSession = new ServiceSession(_ownOptions, _logger);
            _ownSession.Start();
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_ownSession is not null)
        {
            await _ownSession.DisposeAsync().ConfigureAwait(false);
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async ValueTask BeforeBatchAsync(CancellationToken cancellationToken)
    {
        var session = _ownSession ?? _agentSession ?? throw new InvalidOperationException($"Sink {Name}: built for validation only (no service connection)");
        var lease = session.Current;
        if (lease is null || lease.Client.State != ConnectionState.Connected)
        {
            throw new KeeperException(ErrorCode.ConnectionLoss, Path, "no connection to the service");
        }
        if (!ReferenceEquals(lease, _lease))
        {
            await lease.Client.EnsurePathAsync(Path, cancellationToken).ConfigureAwait(false);
            _lease = lease;
            _knownCount = -1;
        }
        _pending.Clear();
    }

    /// <inheritdoc />
    protected override void Write(Event @event)
    {
        if (@event.Body.Length > MaxEventBytes)
        {
            Interlocked.Increment(ref _refused);
            Counter.AddEventWriteFail();
            _logger.LogError(new EventId(4400, "EventTooLarge"),
                "Sink {Sink}: event of {Bytes} bytes refused: larger than maxEventBytes = {Limit} for {Path} (headers: {Headers}); it is not stored and the batch goes on",
                Name, @event.Body.Length, MaxEventBytes, Path, string.Join(", ", @event.Headers.Select(h => h.Key + "=" + h.Value)));
            return;
        }
        _pending.Add(@event);
    }

    /// <inheritdoc />
    protected override async ValueTask CompleteBatchAsync(CancellationToken cancellationToken)
    {
        var client = _lease!.Client;
        var prefix = Path + "/" + NodePrefix;
        var ops = new List<Op>();
        var bytes = 0;
        foreach (var @event in _pending)
        {
            if (ops.Count > 0 && bytes + @event.Body.Length + 64 > MultiBytesMax)
            {
                await client.MultiAsync(ops, cancellationToken).ConfigureAwait(false);
                ops.Clear();
                bytes = 0;
            }
            ops.Add(Op.Create(prefix, @event.Body.ToArray(), mode: CreateMode.PersistentSequential));
            bytes += @event.Body.Length + 64;
        }
        if (ops.Count > 0)
        {
            await client.MultiAsync(ops, cancellationToken).ConfigureAwait(false);
        }
        var created = _pending.Count;
        _pending.Clear();
        if (_knownCount < 0 || (_knownCount += created) > MaxEvents)
        {
            await TrimAsync(client, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override void OnBatchFailed(Exception exception)
    {
        _pending.Clear();
        _knownCount = -1;
    }

    /// <summary>Deletes the oldest event nodes beyond <see cref="MaxEvents"/> (other writers to the same path count too).</summary>
    private async Task TrimAsync(ZooKeeperClient client, CancellationToken cancellationToken)
    {
        var children = ZkPaths.SortBySequence(await client.GetChildrenAsync(Path, cancellationToken: cancellationToken).ConfigureAwait(false));
        var excess = children.Count - MaxEvents;
        for (var start = 0; start < excess; start += 1000)
        {
            var ops = new List<Op>();
            for (var i = start; i < Math.Min(excess, start + 1000); i++)
            {
                ops.Add(Op.Delete(ZkPaths.Join(Path, children[i])));
            }
            try
            {
                await client.MultiAsync(ops, cancellationToken).ConfigureAwait(false);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
            {
                // Another writer trimmed some of them: delete one by one, skipping those already gone.
                foreach (var op in ops)
                {
                    try
                    {
                        await client.DeleteAsync(op.Path, -1, cancellationToken).ConfigureAwait(false);
                    }
                    catch (KeeperException inner) when (inner.Code == ErrorCode.NoNode)
                    {
                    }
                }
            }
        }
        _knownCount = Math.Min(children.Count, MaxEvents);
    }
}
