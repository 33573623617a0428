using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Zooflow.Consensus.Messages;
using Zooflow.Jute;
using Zooflow.Server.Configuration;

namespace Zooflow.Server.Quorum;

/// <summary>Where the transport delivers what it receives. Called from the transport's own tasks; must not block.</summary>
internal interface IPeerInbox
{
    /// <summary>Messages from one connection, in the order they arrived.</summary>
    void Received(List<ZabMessage> batch);

    /// <summary>An established quorum connection to or from <paramref name="peer"/> was lost (the core's
    /// <see cref="PeerDisconnected"/>: a learner whose leader it is looks again at once).</summary>
    void Disconnected(long peer);
}

/// <summary>
/// TCP links between ensemble members, as ZooKeeper lays them out: each member listens on its <c>quorumPort</c>
/// (leader-learner traffic) and <c>electionPort</c> (election notifications), and for every other member and channel
/// dials one outbound connection that carries only its own messages to that member. So every ordered pair of members has
/// one connection per channel, each direction's messages stay in order (Zab's FIFO channels), and nobody has to decide
/// which side of a pair dials (ZooKeeper's "higher id wins" rule is not needed).
/// </summary>
/// <remarks>
/// <para><b>Sending</b>: <see cref="Send"/> queues a message on its peer's bounded queue (drop when full, or while the
/// connection is down: the core tolerates loss and re-sends what matters). A sender task per (peer, channel) encodes
/// with <see cref="PeerCodec"/> into a pipe and flushes when its queue drains; a flush that does not complete within
/// <see cref="SendStuckMs"/> (a partitioned peer whose socket buffers filled) drops the connection. Reconnects back off
/// from 20 ms to 1 s.</para>
/// <para><b>Receiving</b>: a connection starts with a <see cref="PeerHello"/> naming sender and receiver; a hello from a
/// server outside the ensemble, for another server, or on the wrong port closes it. Then frames are decoded and handed to
/// <see cref="IPeerInbox.Received"/> per read. Malformed or oversize input closes that connection with one log line.
/// A newer connection from the same peer replaces an older one.</para>
/// <para><b>Disconnects</b>: losing an established quorum connection (either direction) reports
/// <see cref="IPeerInbox.Disconnected"/>, which turns a SIGKILLed leader into an election at once instead of after
/// syncLimit.</para>
/// </remarks>
internal sealed class PeerTransport : IAsyncDisposable
{
    /// <summary>Messages queued per peer on the quorum channel: room for a burst of pipelined proposals and commits.</summary>
    public const int QuorumQueueCapacity = 100_000;

    /// <summary>Election notifications queued per peer (a handful per election round).</summary>
    public const int ElectionQueueCapacity = 1_000;

    /// <summary>A flush slower than this means the peer is unreachable (partitioned, stopped): drop and reconnect.</summary>
    public const int SendStuckMs = 5_000;

    /// <summary>Largest election frame (a notification is 35 bytes).</summary>
    public const int ElectionFrameBytesMax = 1024;

    private readonly QuorumOptions _quorum;
    private readonly IPeerInbox _inbox;
    private readonly ILogger _logger;
    private readonly int _frameBytesMax;
    private readonly int _syncFrameBytesMax;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<(long Peer, PeerChannel Channel), PeerSender> _senders = [];
    private readonly Dictionary<(long Peer, PeerChannel Channel), InboundConnection> _inbound = [];
    private readonly Lock _inboundLock = new();
    private readonly List<Task> _tasks = [];
    private readonly List<Socket> _listeners = [];

    /// <param name="quorum">The ensemble.</param>
    /// <param name="inbox">Where received messages go.</param>
    /// <param name="frameBytesMax">Largest frame of any message but NEWLEADER (derived from jute.maxbuffer).</param>
    /// <param name="syncFrameBytesMax">Largest NEWLEADER frame (a snapshot or a DIFF).</param>
    /// <param name="logger">Logger.</param>
    public PeerTransport(QuorumOptions quorum, IPeerInbox inbox, int frameBytesMax, int syncFrameBytesMax, ILogger logger)
    {
        _quorum = quorum;
        _inbox = inbox;
        _frameBytesMax = frameBytesMax;
        _syncFrameBytesMax = syncFrameBytesMax;
        _logger = logger;
    }

    /// <summary>The bound quorum and election endpoints (valid after <see cref="Start"/>).</summary>
    public IReadOnlyList<EndPoint> ListenEndpoints => [.. _listeners.Select(l => l.LocalEndPoint!)];

    /// <summary>Binds both ports and starts the accept loops and one sender per peer and channel. Throws
    /// <see cref="SocketException"/> when a port is taken.</summary>
    public void Start()
    {
        var self = _quorum.Self;
        foreach (var (channel, port) in new[] { (PeerChannel.Quorum, self.QuorumPort), (PeerChannel.Election, self.ElectionPort) })
        {
            var address = _quorum.QuorumListenOnAllIPs ? IPAddress.Any : ResolveListenAddress(self.Host);
            var socket = Network.ListenSockets.Listen(new IPEndPoint(address, port), 64);
            _listeners.Add(socket);
            QuorumLog.PeerListening(_logger, socket.LocalEndPoint!, channel);
            _tasks.Add(AcceptLoopAsync(socket, channel, _stop.Token));
        }

        foreach (var server in _quorum.Servers)
        {
            if (server.Id == _quorum.MyId)
            {
                continue;
            }

            foreach (var channel in new[] { PeerChannel.Quorum, PeerChannel.Election })
            {
                var sender = new PeerSender(this, server, channel);
                _senders.Add((server.Id, channel), sender);
                _tasks.Add(sender.RunAsync(_stop.Token));
            }
        }
    }

    private static IPAddress ResolveListenAddress(string host)
    {
        if (host == "localhost")
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }

        // A host name: listen on the address it resolves to, as ZooKeeper binds its own server.N address.
        return Dns.GetHostAddresses(host).FirstOrDefault() ?? IPAddress.Any;
    }

    /// <summary>Queues <paramref name="message"/> for its receiver (never blocks; dropped when the peer's queue is full
    /// or its connection is down).</summary>
    public void Send(ZabMessage message)
    {
        var channel = message is Notification ? PeerChannel.Election : PeerChannel.Quorum;
        if (_senders.TryGetValue((message.To, channel), out var sender))
        {
            sender.Enqueue(message);
        }
    }

    // ---- inbound ------------------------------------------------------------------------------------------------

    private async Task AcceptLoopAsync(Socket listener, PeerChannel channel, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    continue;
                }

                socket.NoDelay = true;
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(ReceiveAsync(socket, channel, cancellationToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    private async Task ReceiveAsync(Socket socket, PeerChannel channel, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var remote = socket.RemoteEndPoint;
        var stream = new NetworkStream(socket, ownsSocket: true);
        var input = PipeReader.Create(stream);
        InboundConnection? registered = null;
        var batch = new List<ZabMessage>();
        try
        {
            PeerHello hello;
            using (var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                helloTimeout.CancelAfter(SendStuckMs);
                hello = await ReadHelloAsync(input, helloTimeout.Token).ConfigureAwait(false);
            }

            if (hello.Channel != channel || hello.To != _quorum.MyId || hello.From == _quorum.MyId || _quorum.FindServer(hello.From) is null)
            {
                QuorumLog.PeerProtocolError(_logger, remote, channel,
                    $"hello from server {hello.From} to server {hello.To} on the {hello.Channel} channel does not fit this {channel} port of server {_quorum.MyId} in an ensemble of {string.Join(",", _quorum.Servers.Select(s => s.Id))}");
                return;
            }

            registered = new InboundConnection(hello.From, socket);
            Register(channel, registered);
            QuorumLog.PeerAccepted(_logger, hello.From, remote, channel);
            var max = channel == PeerChannel.Election ? ElectionFrameBytesMax : _frameBytesMax;
            var syncMax = channel == PeerChannel.Election ? ElectionFrameBytesMax : _syncFrameBytesMax;
            using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, registered.Closed.Token);
            while (true)
            {
                var result = await input.ReadAsync(closed.Token).ConfigureAwait(false);
                var reader = new SequenceReader<byte>(result.Buffer);
                while (PeerCodec.TryReadMessage(ref reader, max, syncMax, hello.From, _quorum.MyId, out var message))
                {
                    if (channel == PeerChannel.Election ? message is not Notification : message is Notification)
                    {
                        throw new ProtocolException("frame.type", reader.Consumed, $"{message.GetType().Name} does not belong on the {channel} channel");
                    }

                    batch.Add(message);
                }

                input.AdvanceTo(reader.Position, result.Buffer.End);
                if (batch.Count > 0)
                {
                    _inbox.Received(batch);
                    batch = [];
                }

                if (result.IsCompleted)
                {
                    if (!reader.End)
                    {
                        QuorumLog.PeerProtocolError(_logger, remote, channel, $"connection ended inside a frame ({reader.Remaining} bytes buffered)");
                    }

                    return;
                }
            }
        }
        catch (ProtocolException ex)
        {
            QuorumLog.PeerProtocolError(_logger, remote, channel, ex.Message);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            if (registered is not null && Unregister(channel, registered) && channel == PeerChannel.Quorum && !_stop.IsCancellationRequested)
            {
                QuorumLog.PeerConnectionLost(_logger, registered.Peer, channel, "incoming connection closed");
                _inbox.Disconnected(registered.Peer);
            }
        }
    }

    private static async Task<PeerHello> ReadHelloAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var reader = new SequenceReader<byte>(result.Buffer);
            if (PeerCodec.TryReadHello(ref reader, out var hello))
            {
                input.AdvanceTo(reader.Position);
                return hello;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("connection closed before the hello");
            }
        }
    }

    private void Register(PeerChannel channel, InboundConnection connection)
    {
        InboundConnection? old;
        lock (_inboundLock)
        {
            _inbound.TryGetValue((connection.Peer, channel), out old);
            _inbound[(connection.Peer, channel)] = connection;
        }

        // The peer reconnected: its previous connection is dead to it; messages must not interleave from two sockets.
        old?.Close();
    }

    private bool Unregister(PeerChannel channel, InboundConnection connection)
    {
        lock (_inboundLock)
        {
            if (_inbound.TryGetValue((connection.Peer, channel), out var current) && ReferenceEquals(current, connection))
            {
                _inbound.Remove((connection.Peer, channel));
                return true;
            }
        }

        return false;
    }

    /// <summary>Stops listening and sending, closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        lock (_inboundLock)
        {
            foreach (var connection in _inbound.Values)
            {
                connection.Close();
            }
        }

        await Task.WhenAll(_tasks).ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class InboundConnection(long peer, Socket socket)
    {
        public long Peer { get; } = peer;

        public CancellationTokenSource Closed { get; } = new();

        public void Close()
        {
            try
            {
                Closed.Cancel();
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    // ---- outbound -----------------------------------------------------------------------------------------------

    /// <summary>One outbound connection to one peer on one channel, with its bounded queue.</summary>
    private sealed class PeerSender(PeerTransport transport, QuorumServer peer, PeerChannel channel)
    {
        private readonly Channel<ZabMessage> _queue = Channel.CreateBounded<ZabMessage>(
            new BoundedChannelOptions(channel == PeerChannel.Quorum ? QuorumQueueCapacity : ElectionQueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });

        private volatile bool _connected;
        private int _dropped;

        private int Capacity => channel == PeerChannel.Quorum ? QuorumQueueCapacity : ElectionQueueCapacity;

        private string Endpoint => $"{peer.Host}:{(channel == PeerChannel.Quorum ? peer.QuorumPort : peer.ElectionPort)}";

        public void Enqueue(ZabMessage message)
        {
            if (!_connected)
            {
                return;
            }

            if (!_queue.Writer.TryWrite(message) && Interlocked.Increment(ref _dropped) == 1)
            {
                QuorumLog.PeerQueueFull(transport._logger, 1, peer.Id, channel, Capacity);
            }
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var backoffMs = 20;
            var random = new Random();
            while (!cancellationToken.IsCancellationRequested)
            {
                var wasConnected = false;
                string reason = "closed";
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                    {
                        connect.CancelAfter(SendStuckMs);
                        var port = channel == PeerChannel.Quorum ? peer.QuorumPort : peer.ElectionPort;
                        await socket.ConnectAsync(peer.Host, port, connect.Token).ConfigureAwait(false);
                    }

                    wasConnected = true;
                    backoffMs = 20;
                    QuorumLog.PeerConnected(transport._logger, peer.Id, Endpoint, channel);
                    await SendLoopAsync(socket, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException or TimeoutException)
                {
                    reason = ex is TimeoutException ? "send timed out" : ex.Message;
                    if (!wasConnected)
                    {
                        QuorumLog.PeerConnectFailed(transport._logger, peer.Id, Endpoint, channel, ex.Message);
                    }
                }
                finally
                {
                    _connected = false;
                    while (_queue.Reader.TryRead(out _))
                    {
                        // Stale: the core re-sends what matters on a new connection.
                    }
                }

                if (wasConnected && !cancellationToken.IsCancellationRequested)
                {
                    QuorumLog.PeerConnectionLost(transport._logger, peer.Id, channel, reason);
                    if (channel == PeerChannel.Quorum)
                    {
                        transport._inbox.Disconnected(peer.Id);
                    }
                }

                try
                {
                    await Task.Delay(backoffMs / 2 + random.Next(backoffMs / 2 + 1), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoffMs = Math.Min(1000, backoffMs * 2);
            }
        }

        private async Task SendLoopAsync(Socket socket, CancellationToken cancellationToken)
        {
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
            using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // The peer never sends on this connection: a read returning means it closed (or was killed).
            var watch = WatchForCloseAsync(socket, lost);
            try
            {
                PeerCodec.WriteHello(output, new PeerHello(channel, transport._quorum.MyId, peer.Id));
                await FlushAsync(output, lost.Token).ConfigureAwait(false);
                _connected = true;
                var reader = _queue.Reader;
                while (await reader.WaitToReadAsync(lost.Token).ConfigureAwait(false))
                {
                    var written = 0L;
                    while (written < 1024 * 1024 && reader.TryRead(out var message))
                    {
                        written += PeerCodec.Write(output, message);
                    }

                    if (Interlocked.Exchange(ref _dropped, 0) is > 1 and var dropped)
                    {
                        QuorumLog.PeerQueueFull(transport._logger, dropped, peer.Id, channel, Capacity);
                    }

                    await FlushAsync(output, lost.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                await lost.CancelAsync().ConfigureAwait(false);
                socket.Close(0);
                await watch.ConfigureAwait(false);
                await output.CompleteAsync().ConfigureAwait(false);
            }
        }

        private async Task FlushAsync(PipeWriter output, CancellationToken cancellationToken)
        {
            var flush = output.FlushAsync(cancellationToken);
            if (flush.IsCompletedSuccessfully)
            {
                return;
            }

            using var stuck = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stuck.CancelAfter(SendStuckMs);
            var task = flush.AsTask();
            var finished = await Task.WhenAny(task, Task.Delay(Timeout.Infinite, stuck.Token)).ConfigureAwait(false);
            if (finished != task)
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    QuorumLog.PeerSendStuck(transport._logger, peer.Id, channel, SendStuckMs);
                    output.CancelPendingFlush();
                    throw new TimeoutException();
                }

                throw new OperationCanceledException(cancellationToken);
            }

            var result = await task.ConfigureAwait(false);
            if (result.IsCanceled || result.IsCompleted)
            {
                throw new IOException("connection closed");
            }
        }

        private static async Task WatchForCloseAsync(Socket socket, CancellationTokenSource lost)
        {
            var buffer = new byte[64];
            try
            {
                while (!lost.IsCancellationRequested)
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None, lost.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }

            try
            {
                await lost.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
