using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

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
public sealed class NetcatUdpSource : IEventDrivenSource, IBatchSized, IAsyncDisposable
{
    /// <summary>Largest UDP payload.</summary>
    private const int MaxDatagramBytes = 65_536;

    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _bind;
    private readonly int _port;
    private IEventSink? _output;
    private Socket? _socket;
    private Task? _receiveLoop;
    private long _eventsAccepted;
    private int _started;
    private readonly bool _batchSizeConfigured;

    /// <summary>Reads <c>bind</c>, <c>port</c>, <c>remoteAddressHeader</c> and <c>batchSize</c>.</summary>
    public NetcatUdpSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        _bind = context.GetString("bind") ?? "0.0.0.0";
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (allowed: 0..65535)");
        }
        _port = context.GetInt("port", 0, 0, 65535);
        RemoteAddressHeader = context.GetString("remoteAddressHeader") ?? context.GetString("remoteAddress") ?? "REMOTE_ADDRESS";
        BatchSize = context.GetInt("batchSize", 100, 1, 1_000_000);
        _batchSizeConfigured = context.Properties.ContainsKey("batchSize");
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.NetcatUdpSource");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The header that receives the sender's address.</summary>
    public string RemoteAddressHeader { get; }

    /// <summary>Most events per channel transaction.</summary>
    public int BatchSize { get; }

    /// <summary>The port actually bound; 0 before start.</summary>
    public int BoundPort => (_socket?.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>Events committed so far.</summary>
    public long EventsAccepted => Interlocked.Read(ref _eventsAccepted);

    /// <summary>For validation against the channel's transactionCapacity: the configured <c>batchSize</c>, or 1 when
    /// it is not set (Flume puts one event per transaction; a default batch the channel refuses as too large is split).</summary>
    int IBatchSized.BatchSize => _batchSizeConfigured ? BatchSize : 1;

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        var endPoint = await Endpoints.ResolveAsync(_bind, _port, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.Bind(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _socket = socket;
        _logger.LogInformation("Netcat UDP source {Source} listening on {EndPoint}", Name, socket.LocalEndPoint);
        _receiveLoop = ReceiveLoopAsync(socket, _stopping.Token);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_receiveLoop is not null)
        {
            try
            {
                await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                _logger.LogWarning("Netcat UDP source {Source}: receive loop did not finish within the stop timeout", Name);
            }
        }
        _logger.LogInformation("Netcat UDP source {Source} stopped; {Events} events accepted", Name, EventsAccepted);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var output = _output!;
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagramBytes, pinned: true);
        var batch = new List<Event>(Math.Min(BatchSize, 4096));
        EndPoint any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                do
                {
                    var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                    batch.Add(ToEvent(buffer.AsSpan(0, received.ReceivedBytes), received.RemoteEndPoint));
                }
                while (batch.Count < BatchSize && socket.Available > 0);
                await BackPressure.DeliverAsync(output, batch, _counter, _logger, Name, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _eventsAccepted, batch.Count);
                batch.Clear();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || (ex is SocketException && cancellationToken.IsCancellationRequested))
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Netcat UDP source {Source}: receive loop failed", Name);
        }
    }

    private Event ToEvent(ReadOnlySpan<byte> datagram, EndPoint remote)
    {
        var newline = datagram.IndexOf((byte)'\n');
        var body = newline >= 0 ? datagram[..newline] : datagram;
        var headers = new Dictionary<string, string>(1, StringComparer.Ordinal) { [RemoteAddressHeader] = Endpoints.JavaStyle(remote) };
        return new Event(body.ToArray(), headers);
    }
}
