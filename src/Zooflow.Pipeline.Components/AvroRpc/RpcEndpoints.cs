namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>A next-hop address: a host name or IP address and a TCP port.</summary>
public sealed record RpcEndpoint(string Host, int Port)
{
    /// <inheritdoc />
    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>
/// Where an RPC sink sends its batches. Before every batch the avro sink asks whether each of its open connections'
/// endpoints is still wanted (closing those that are not), then asks for the endpoint of this batch (reusing an open
/// connection to it, else connecting), and afterwards reports how the batch went — so a provider over a live, changing
/// set of instances (discovery through the coordination service) can load-balance batch by batch, fail over and move
/// the sink off an instance that left, without changes to the sink.
/// </summary>
/// <remarks>Thread-safety: called from the sink's runner, one call at a time per sink; a provider shared by several sinks
/// must synchronise itself.</remarks>
public interface IRpcEndpointProvider
{
    /// <summary>What this provider targets, for logs (e.g. <c>10.0.0.5:4545</c> or <c>discovery collectors</c>).</summary>
    string Description { get; }

    /// <summary>The endpoint for the next batch. May wait briefly (e.g. until an instance is registered); honours
    /// cancellation; throws when there is nowhere to send (the sink then fails the batch before taking anything).</summary>
    ValueTask<RpcEndpoint> SelectAsync(CancellationToken cancellationToken);

    /// <summary>False when the sink should close its connection to <paramref name="endpoint"/> before its next batch (it
    /// left the live set).</summary>
    bool IsCurrent(RpcEndpoint endpoint);

    /// <summary>A batch to <paramref name="endpoint"/> was acknowledged OK.</summary>
    void ReportSuccess(RpcEndpoint endpoint);

    /// <summary>Connecting to <paramref name="endpoint"/> or a batch sent to it failed (refused, timed out, FAILED reply).</summary>
    void ReportFailure(RpcEndpoint endpoint, Exception error);
}

/// <summary>The default provider: the sink's configured <c>hostname</c> and <c>port</c>, always.</summary>
public sealed class StaticEndpointProvider(RpcEndpoint endpoint) : IRpcEndpointProvider
{
    /// <summary>The configured endpoint.</summary>
    public RpcEndpoint Endpoint { get; } = endpoint;

    /// <inheritdoc />
    public string Description => Endpoint.ToString();

    /// <inheritdoc />
    public ValueTask<RpcEndpoint> SelectAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Endpoint);

    /// <inheritdoc />
    public bool IsCurrent(RpcEndpoint endpoint) => endpoint == Endpoint;

    /// <inheritdoc />
    public void ReportSuccess(RpcEndpoint endpoint)
    {
    }

    /// <inheritdoc />
    public void ReportFailure(RpcEndpoint endpoint, Exception error)
    {
    }
}
