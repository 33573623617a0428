using System.Net;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Flume's <c>netcatudp</c> source: one event per UDP datagram received on <c>bind</c>:<c>port</c>; the body is the
/// datagram up to (not including) its first <c>\n</c>, and the header named by <c>remoteAddressHeader</c> (default
/// <c>REMOTE_ADDRESS</c>) holds the sender as Java prints it (<c>/127.0.0.1:40000</c>).
/// </summary>
/// <remarks>
/// Datagrams already queued in the socket are delivered together, up to <c>batchSize</c> (Zooflow extension, default
/// 100) per channel transaction. When the channel refuses a batch it is retried and no datagram is read meanwhile; UDP has
/// no flow control, so the kernel drops what overflows its receive buffer (Flume drops the refused event instead).
/// </remarks>
public sealed class NetcatUdpSource : NetworkSource, IBatchSized
{
    private readonly string _bind;
    private readonly int _port;
    private readonly bool _batchSizeConfigured;

    /// <summary>Reads <c>bind</c>, <c>port</c>, <c>remoteAddressHeader</c> and <c>batchSize</c>.</summary>
    public NetcatUdpSource(string name, ComponentContext context)
        : base(name, context, "Zooflow.Pipeline.Components.NetcatUdpSource")
    {
        _bind = context.GetString("bind") ?? "0.0.0.0";
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (allowed: 0..65535)");
        }
        _port = context.GetInt("port", 0, 0, 65535);
        RemoteAddressHeader = context.GetString("remoteAddressHeader") ?? context.GetString("remoteAddress") ?? "REMOTE_ADDRESS";
        BatchSize = context.GetInt("batchSize", 100, 1, 1_000_000);
        _batchSizeConfigured = context.Properties.ContainsKey("batchSize");
    }

    /// <summary>The header that receives the sender's address.</summary>
    public string RemoteAddressHeader { get; }

    /// <summary>Most events per channel transaction.</summary>
    public int BatchSize { get; }

    /// <summary>Events committed so far.</summary>
    public long EventsAccepted => Counter.EventAcceptedCount;

    /// <summary>For validation against the channel's transactionCapacity: the configured <c>batchSize</c>, or 1 when
    /// it is not set (Flume puts one event per transaction; a default batch the channel refuses as too large is split).</summary>
    int IBatchSized.BatchSize => _batchSizeConfigured ? BatchSize : 1;

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        var socket = await BindUdpAsync(_bind, _port, cancellationToken).ConfigureAwait(false);
        ReceiveDatagrams(socket, BatchSize, Decode, stopping);
    }

    private void Decode(ReadOnlySpan<byte> datagram, EndPoint remote, List<Event> batch)
    {
        var newline = datagram.IndexOf((byte)'\n');
        var body = newline >= 0 ? datagram[..newline] : datagram;
        var headers = new Dictionary<string, string>(1, StringComparer.Ordinal) { [RemoteAddressHeader] = Endpoints.JavaStyle(remote) };
        batch.Add(new Event(body.ToArray(), headers));
    }
}
