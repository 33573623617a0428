using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// The lifecycle shared by the socket sources (netcat, netcatudp, syslogtcp, syslogudp, multiport_syslogtcp): start and
/// stop once, bind TCP listeners or UDP sockets, run an accept loop per listener with one task per connection, and on stop
/// close the sockets and wait (bounded) for every loop and connection to finish.
/// </summary>
/// <remarks>
/// A subclass binds in <see cref="OpenAsync"/> with <see cref="ListenTcpAsync"/> / <see cref="BindUdpAsync"/> and starts
/// its loops with <see cref="Track"/>. Connection handlers get the stop token: cancelling it abandons the batch in flight
/// (never committed, never acknowledged). Thread-safety: start and stop are called once each by the runtime; the tracked
/// loops run concurrently and share only what the subclass makes thread-safe.
/// </remarks>
public abstract class NetworkSource : IEventDrivenSource, IAsyncDisposable
{
    /// <summary>Largest UDP payload.</summary>
    private const int MaxDatagramBytes = 65_536;

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<long, Task> _tasks = new();
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stopping = new();
    private IEventSink? _output;
    private long _taskIds;
    private int _started;

    /// <summary>Takes the source's counter and logger from the context.</summary>
    protected NetworkSource(string name, ComponentContext context, string loggerCategory)
    {
        Name = name;
        Counter = context.Counters.Source(name);
        Logger = context.LoggerFactory.CreateLogger(loggerCategory);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Flume's SourceCounter of this source.</summary>
    protected SourceCounter Counter { get; }

    /// <summary>The source's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>Where events go (the <see cref="Output"/> set before start).</summary>
    protected IEventSink Downstream => _output ?? throw new InvalidOperationException($"Source {Name}: Output must be set before start");

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <summary>Ports actually bound, in bind order (differ from the configured ones when those are 0).</summary>
    public IReadOnlyList<int> BoundPorts
    {
        get
        {
            lock (_sockets)
            {
                return _sockets.Select(s => (s.LocalEndPoint as IPEndPoint)?.Port ?? 0).ToArray();
            }
        }
    }

    /// <summary>The first bound port; 0 before start.</summary>
    public int BoundPort => BoundPorts is [var first, ..] ? first : 0;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        _ = Downstream;
        try
        {
            await OpenAsync(_stopping.Token, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CloseSockets();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        CloseSockets();
        await OnStoppingAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks.Values).WaitAsync(StopTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            Logger.LogWarning("Source {Source}: connections did not finish within the stop timeout", Name);
        }
        Logger.LogInformation("Source {Source} stopped; {Events} events accepted", Name, Counter.EventAcceptedCount);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Binds the source's sockets and starts its loops (with <see cref="Track"/>).</summary>
    /// <param name="stopping">Cancelled when the source stops; pass it to the loops.</param>
    /// <param name="cancellationToken">Cancels the start itself.</param>
    protected abstract Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken);

    /// <summary>Runs after the sockets were closed and before waiting for the loops (e.g. to stop an HTTP server).</summary>
    protected virtual Task OnStoppingAsync() => Task.CompletedTask;

    /// <summary>Starts <paramref name="work"/> and waits for it on stop.</summary>
    protected void Track(Func<Task> work)
    {
        var id = Interlocked.Increment(ref _taskIds);
        _tasks[id] = RunTrackedAsync(id, work);
    }

    /// <summary>Binds a TCP listener on <paramref name="bind"/>:<paramref name="port"/> (closed on stop).</summary>
    protected async Task<Socket> ListenTcpAsync(string bind, int port, CancellationToken cancellationToken)
    {
        var endPoint = await Endpoints.ResolveAsync(bind, port, cancellationToken).ConfigureAwait(false);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endPoint);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        Remember(listener);
        Logger.LogInformation("Source {Source} listening on {EndPoint} (tcp)", Name, listener.LocalEndPoint);
        return listener;
    }

    /// <summary>Binds a UDP socket on <paramref name="bind"/>:<paramref name="port"/> with a 4 MiB receive buffer (closed on stop).</summary>
    protected async Task<Socket> BindUdpAsync(string bind, int port, CancellationToken cancellationToken)
    {
        var endPoint = await Endpoints.ResolveAsync(bind, port, cancellationToken).ConfigureAwait(false);
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
        Remember(socket);
        Logger.LogInformation("Source {Source} listening on {EndPoint} (udp)", Name, socket.LocalEndPoint);
        return socket;
    }

    /// <summary>
    /// Accepts connections on <paramref name="listener"/> until stop and runs <paramref name="handle"/> for each in its own
    /// task; the connection counter, logging of broken connections and disposing the socket are done here.
    /// </summary>
    protected void AcceptConnections(Socket listener, Func<Socket, CancellationToken, Task> handle, CancellationToken stopping) =>
        Track(() => AcceptLoopAsync(listener, handle, stopping));

    /// <summary>Turns one datagram into zero or more events appended to <paramref name="batch"/>.</summary>
    protected delegate void DatagramDecoder(ReadOnlySpan<byte> datagram, EndPoint sender, List<Event> batch);

    /// <summary>
    /// Receives datagrams on <paramref name="socket"/> until stop: the datagrams already queued in the socket are decoded
    /// together, up to <paramref name="batchSize"/> events, and delivered as one channel transaction through
    /// <see cref="BackPressure"/> (a refused batch is retried and nothing is read meanwhile; UDP has no flow control, so
    /// the kernel drops what overflows its receive buffer).
    /// </summary>
    protected void ReceiveDatagrams(Socket socket, int batchSize, DatagramDecoder decode, CancellationToken stopping) =>
        Track(() => ReceiveLoopAsync(socket, batchSize, decode, stopping));

    private async Task ReceiveLoopAsync(Socket socket, int batchSize, DatagramDecoder decode, CancellationToken stopping)
    {
        var output = Downstream;
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagramBytes, pinned: true);
        var batch = new List<Event>(Math.Min(batchSize, 4096));
        EndPoint any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        while (!stopping.IsCancellationRequested)
        {
            do
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stopping).ConfigureAwait(false);
                decode(buffer.AsSpan(0, received.ReceivedBytes), received.RemoteEndPoint, batch);
            }
            while (batch.Count < batchSize && socket.Available > 0);
            if (batch.Count > 0)
            {
                await BackPressure.DeliverAsync(output, batch, Counter, Logger, Name, stopping).ConfigureAwait(false);
                batch.Clear();
            }
        }
    }

    private async Task AcceptLoopAsync(Socket listener, Func<Socket, CancellationToken, Task> handle, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                Logger.LogWarning("Source {Source}: accept failed: {Error}", Name, ex.SocketErrorCode);
                continue;
            }
            Track(() => RunConnectionAsync(client, handle, stopping));
        }
    }

    private async Task RunConnectionAsync(Socket client, Func<Socket, CancellationToken, Task> handle, CancellationToken stopping)
    {
        Counter.ConnectionOpened();
        try
        {
            await handle(client, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping: the batch in flight was not committed and not acknowledged.
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Logger.LogDebug("Source {Source}: connection broken: {Error}", Name, ex.Message);
        }
        catch (Exception ex)
        {
            Counter.AddGenericProcessingFail();
            Logger.LogError(ex, "Source {Source}: connection handler failed", Name);
        }
        finally
        {
            client.Dispose();
            Counter.ConnectionClosed();
        }
    }

    private async Task RunTrackedAsync(long id, Func<Task> work)
    {
        await Task.Yield();
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception ex) when (_stopping.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Counter.AddGenericProcessingFail();
            Logger.LogError(ex, "Source {Source}: loop failed", Name);
        }
        finally
        {
            _tasks.TryRemove(id, out _);
        }
    }

    private void Remember(Socket socket)
    {
        lock (_sockets)
        {
            _sockets.Add(socket);
        }
    }

    private void CloseSockets()
    {
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }
    }
}
