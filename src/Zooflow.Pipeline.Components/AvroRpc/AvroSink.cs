using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sinks;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Flume's <c>avro</c> sink: takes up to <c>batch-size</c> events in one take transaction, sends them as one
/// <c>appendBatch</c> call to the next hop's avro source, and commits only when the reply is <c>OK</c>. Any other reply,
/// a timeout or a broken connection rolls the batch back into the channel; the runner backs off and the batch is sent
/// again (at-least-once: the next hop may see a batch twice when a reply was lost).
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults): <c>hostname</c>, <c>port</c> (required); <c>batch-size</c> 100; <c>connect-timeout</c>
/// 20000 ms and <c>request-timeout</c> 20000 ms (values below 1000 fall back to the default with a warning, as in
/// Flume); <c>reset-connection-interval</c> 0 s (off): after this long a connection is closed before the next batch and
/// a new one is made (reaches hosts added behind a load balancer); <c>compression-type</c> none | deflate and
/// <c>compression-level</c> 6; <c>ssl</c> false, <c>trust-all-certs</c> false, <c>truststore</c> (PKCS12 or PEM),
/// <c>truststore-password</c>, <c>truststore-type</c>, <c>exclude-protocols</c> / <c>include-protocols</c>; Zooflow
/// extension <c>deflate-outside-ssl</c> false: with both ssl and deflate, true layers zlib outside TLS as Flume 1.10/1.11
/// collectors expect (false is Flume 1.9's TLS outside; Zooflow's source accepts both);
/// <c>maxIoWorkers</c> is accepted and has no effect (socket I/O runs on .NET's shared I/O threads; Flume 1.10+ ignores
/// it too).</para>
/// <para>Where the batches go comes from an <see cref="IRpcEndpointProvider"/>, asked before every batch: by default the
/// configured hostname and port (<see cref="StaticEndpointProvider"/>); a provider over discovered instances plugs in
/// through the constructor and may pick another instance for each batch. The sink keeps one connection per endpoint in
/// use (at most <see cref="ConnectionsMax"/>) and closes one when a call on it failed, when the provider no longer wants
/// its endpoint, and after reset-connection-interval.</para>
/// </remarks>
public sealed class AvroSink : BatchSink, IAsyncDisposable
{
    private const int DefaultTimeoutMs = 20_000;

    /// <summary>Connections kept open at most, one per endpoint recently selected: a provider that spreads batches over
    /// the live instances of a service reuses one connection per instance instead of reconnecting per batch. More
    /// instances than this in rotation cost a reconnect each time (a fleet of collectors is far smaller).</summary>
    public const int ConnectionsMax = 64;

    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly List<Event> _batch;
    private readonly Dictionary<RpcEndpoint, AvroRpcClient> _clients = [];
    private AvroRpcClient? _current;

    /// <summary>Reads the keys listed in the remarks; the destination is <c>hostname</c>:<c>port</c>.</summary>
    public AvroSink(string name, ComponentContext context) : this(name, context, null)
    {
    }

    /// <summary>Reads the keys listed in the remarks; <paramref name="endpoints"/>, when given, replaces
    /// <c>hostname</c>/<c>port</c> as the source of destinations.</summary>
    public AvroSink(string name, ComponentContext context, IRpcEndpointProvider? endpoints)
        : base(name, context.GetInt("batch-size", 100, 1, 1_000_000), context)
    {
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.AvroSink");
        _clock = context.Clock;
        _batch = new List<Event>(Math.Min(BatchSize, 10_000));
        if (endpoints is null)
        {
            var host = context.GetRequiredString("hostname");
            if (!context.Properties.ContainsKey("port"))
            {
                context.AddError("port", "is required but not set (allowed: 1..65535)");
            }
            var port = context.GetInt("port", 1, 1, 65535);
            endpoints = new StaticEndpointProvider(new RpcEndpoint(host, port));
        }
        Endpoints = endpoints;
        var connectTimeout = Timeout(context, "connect-timeout");
        var requestTimeout = Timeout(context, "request-timeout");
        ResetConnectionInterval = TimeSpan.FromSeconds(context.GetInt("reset-connection-interval", 0, 0, int.MaxValue));
        var deflate = context.GetChoice("compression-type", "none", "none", "deflate") == "deflate";
        var level = context.GetInt("compression-level", 6, 0, 9);
        var ssl = context.GetBool("ssl", false);
        var trustAll = context.GetBool("trust-all-certs", false);
        var roots = ssl ? AvroTls.ReadTruststore(context) : null;
        var protocols = ssl ? AvroTls.ReadProtocols(context) : default;
        MaxIoWorkers = context.GetInt("maxIoWorkers", 2 * Environment.ProcessorCount, 1, 10_000);
        var deflateOutsideSsl = context.GetBool("deflate-outside-ssl", false);
        Options = new AvroClientOptions(connectTimeout, requestTimeout, deflate, level, ssl, trustAll, roots, protocols, AvroSource.DefaultMaxFrameBytes, deflateOutsideSsl);
    }

    /// <inheritdoc />
    public override string BatchSizeKey => "batch-size";

    /// <summary>Where batches go.</summary>
    public IRpcEndpointProvider Endpoints { get; }

    /// <summary>The connection settings.</summary>
    public AvroClientOptions Options { get; }

    /// <summary><c>reset-connection-interval</c>; zero = never.</summary>
    public TimeSpan ResetConnectionInterval { get; }

    /// <summary><c>maxIoWorkers</c>, accepted for compatibility; it changes nothing.</summary>
    public int MaxIoWorkers { get; }

    /// <summary>The endpoint the last batch went to (or is going to), or null.</summary>
    public RpcEndpoint? ConnectedTo => _current?.Endpoint;

    /// <summary>The endpoints with an open connection.</summary>
    public IReadOnlyCollection<RpcEndpoint> OpenConnections => _clients.Keys;

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await CloseAllAsync("stopping").ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => CloseAllAsync("disposed");

    /// <inheritdoc />
    protected override async ValueTask BeforeBatchAsync(CancellationToken cancellationToken)
    {
        _batch.Clear();
        _current = null;
        await PruneAsync().ConfigureAwait(false);
        var endpoint = await Endpoints.SelectAsync(cancellationToken).ConfigureAwait(false);
        if (_clients.TryGetValue(endpoint, out var open))
        {
            _current = open;
            return;
        }
        if (_clients.Count >= ConnectionsMax)
        {
            await CloseAsync(_clients.Keys.First(), $"more than {ConnectionsMax} endpoints in use").ConfigureAwait(false);
        }
        AvroRpcClient client;
        try
        {
            client = await AvroRpcClient.ConnectAsync(endpoint, Options, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Counter.ConnectionFailed();
            Endpoints.ReportFailure(endpoint, ex);
            throw new IOException($"cannot connect to {endpoint}: {ex.Message}", ex);
        }
        Counter.ConnectionCreated();
        _clients[endpoint] = client;
        _current = client;
        _logger.LogInformation("Avro sink {Sink}: connected to {Endpoint}", Name, endpoint);
    }

    /// <summary>Closes the connections that failed, that the provider no longer wants, or that reached
    /// reset-connection-interval.</summary>
    private async ValueTask PruneAsync()
    {
        List<(RpcEndpoint Endpoint, string Reason)>? closing = null;
        foreach (var (endpoint, client) in _clients)
        {
            string? reason = null;
            if (!client.IsUsable)
            {
                reason = "the last call failed";
            }
            else if (!Endpoints.IsCurrent(endpoint))
            {
                reason = $"{Endpoints.Description} no longer selects it";
            }
            else if (ResetConnectionInterval > TimeSpan.Zero && _clock.GetElapsedTime(client.ConnectedAtTimestamp) >= ResetConnectionInterval)
            {
                reason = $"reset-connection-interval ({ResetConnectionInterval.TotalSeconds:0} s) elapsed";
            }
            if (reason is not null)
            {
                (closing ??= []).Add((endpoint, reason));
            }
        }
        foreach (var (endpoint, reason) in closing ?? [])
        {
            await CloseAsync(endpoint, reason).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override void Write(Event @event) => _batch.Add(@event);

    /// <inheritdoc />
    protected override async ValueTask CompleteBatchAsync(CancellationToken cancellationToken)
    {
        var client = _current ?? throw new InvalidOperationException("no connection");
        AvroStatus status;
        string? error;
        try
        {
            (status, error) = await client.AppendBatchAsync(_batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Endpoints.ReportFailure(client.Endpoint, ex);
            throw;
        }
        _batch.Clear();
        if (status != AvroStatus.Ok)
        {
            var failure = new EventDeliveryException(error is null
                ? $"{client.Endpoint} answered {status.ToString().ToUpperInvariant()} to a batch"
                : $"{client.Endpoint} answered with an error: {error}");
            Endpoints.ReportFailure(client.Endpoint, failure);
            throw failure;
        }
        Endpoints.ReportSuccess(client.Endpoint);
    }

    /// <inheritdoc />
    protected override void OnBatchFailed(Exception exception) => _batch.Clear();

    private async ValueTask CloseAllAsync(string reason)
    {
        _current = null;
        foreach (var endpoint in _clients.Keys.ToList())
        {
            await CloseAsync(endpoint, reason).ConfigureAwait(false);
        }
    }

    private async ValueTask CloseAsync(RpcEndpoint endpoint, string reason)
    {
        if (_clients.Remove(endpoint, out var client))
        {
            _logger.LogInformation("Avro sink {Sink}: closing the connection to {Endpoint}: {Reason}", Name, endpoint, reason);
            await client.DisposeAsync().ConfigureAwait(false);
            Counter.ConnectionClosed();
        }
    }

    private TimeSpan Timeout(ComponentContext context, string key)
    {
        var ms = context.GetLong(key, DefaultTimeoutMs, 0);
        if (ms < 1000)
        {
            // Flume: "... specified less than 1s. Using default value instead."
            _logger.LogWarning("Avro sink {Sink}: {Key} = {Value} is less than 1 s; using the default {Default} ms, as Flume does", Name, key, ms, DefaultTimeoutMs);
            ms = DefaultTimeoutMs;
        }
        return TimeSpan.FromMilliseconds(ms);
    }
}
