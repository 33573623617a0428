using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Zooflow.Jute;
using Zooflow.Server.Admin;
using Zooflow.Server.Pipeline;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Network;

/// <summary>
/// One client TCP connection. The receive loop (this connection's own task) reads frames from a <see cref="PipeReader"/>,
/// decodes them off the state machine thread and queues them for it; four-letter words are recognised by the first four
/// bytes and answered here. Replies and notifications are written only by the state machine loop, with
/// <see cref="JuteWriter"/> straight into an outgoing <see cref="Pipe"/>; a send loop copies that pipe to the socket.
/// </summary>
/// <remarks>
/// Bad input (frame above jute.maxbuffer, malformed or truncated frame) ends this connection alone with one log line;
/// nothing is queued for the state machine from a frame that did not decode. The outgoing pipe never pauses the writer
/// (the state machine must not block on one client); instead bytes queued and not yet sent are counted, and a client that
/// lets them pass <see cref="Configuration.ServerOptions.MaxOutgoingBytesPerConnection"/> is disconnected.
/// </remarks>
internal sealed class ClientConnection
{
    private readonly Socket _socket;
    private readonly ServerContext _server;
    private readonly Pipe _output = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
    private readonly CancellationTokenSource _closed = new();
    private long _queuedBytes;
    private bool _outputCompleted;
    private bool _dirty;

    public ClientConnection(Socket socket, ServerContext server)
    {
        _socket = socket;
        _server = server;
        Remote = socket.RemoteEndPoint;
        RemoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        Id = server.NextConnectionId();
        EstablishedAtMs = server.NowMs();
        AuthIds.Add(new Id("ip", RemoteAddress.IsIPv4MappedToIPv6 ? RemoteAddress.MapToIPv4().ToString() : RemoteAddress.ToString()));
    }

    /// <summary>Server-unique connection number (ordering in <c>cons</c>, diagnostics).</summary>
    public long Id { get; }

    /// <summary>The client's endpoint, for log lines and <c>cons</c>.</summary>
    public EndPoint? Remote { get; }

    /// <summary>The client's address (the <c>ip</c> ACL scheme and maxClientCnxns).</summary>
    public IPAddress RemoteAddress { get; }

    /// <summary>The session attached to this connection (state machine loop only).</summary>
    public Session? Session { get; set; }

    /// <summary>Identities of this connection: <c>ip:address</c> first, then those proven by auth packets. In ZooKeeper
    /// they belong to the connection, not the session: a client re-sends its auth after reconnecting (loop only).</summary>
    public List<Id> AuthIds { get; } = [];

    /// <summary>True once the loop decided to close this connection; later requests are ignored (loop only).</summary>
    public bool Closing { get; private set; }

    // Per-connection statistics for cons (ServerCnxn.dumpConnectionInfo).
    public long PacketsReceived;
    public long PacketsSent;
    public long EstablishedAtMs { get; }
    public long LastCxid { get; set; } = -1;
    public long LastZxid { get; set; } = -1;
    public string LastOperation { get; set; } = "NA";
    public long LastLatencyMs { get; set; }
    public long LastResponseAtMs { get; set; }
    public long MinLatencyMs { get; set; } = long.MaxValue;
    public long MaxLatencyMs { get; set; }
    public long LatencyTotalMs { get; set; }
    public long LatencyCount { get; set; }
    public int Outstanding;

    /// <summary>Runs the connection until either side closes it. Never throws.</summary>
    public async Task RunAsync(CancellationToken serverStopping)
    {
        using var link = CancellationTokenSource.CreateLinkedTokenSource(serverStopping, _closed.Token);
        var send = SendLoopAsync();
        try
        {
            await ReceiveLoopAsync(link.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            ServerLog.ConnectionClosed(_server.Logger, Remote);
        }
        catch (Exception ex)
        {
            ServerLog.ConnectionFailed(_server.Logger, Remote, ex.Message);
        }
        finally
        {
            // Let the state machine detach the session; it completes our output, which ends the send loop.
            await NotifyDisconnectedAsync(serverStopping).ConfigureAwait(false);
            await WaitSendLoopAsync(send, serverStopping).ConfigureAwait(false);
            _socket.Dispose();
            _closed.Dispose();
        }
    }

    private async Task NotifyDisconnectedAsync(CancellationToken serverStopping)
    {
        var work = new DisconnectedWork(this);
        if (_server.Inbox.TryWrite(work))
        {
            return;
        }

        try
        {
            // Waits while the inbox is full; gives up only when the whole server stops (the loop is gone then).
            await _server.Inbox.WriteAsync(work, serverStopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            Abort();
        }
    }

    private static async Task WaitSendLoopAsync(Task send, CancellationToken serverStopping)
    {
        try
        {
            await send.WaitAsync(serverStopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var input = PipeReader.Create(new NetworkStream(_socket, ownsSocket: false), new StreamPipeReaderOptions(leaveOpen: true));
        var works = new List<Work>();
        var handshakeDone = false;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!handshakeDone && Frame.TryPeekLength(buffer, out var first) && FourLetterWords.TryGetCommand(first, out var command))
                {
                    input.AdvanceTo(buffer.GetPosition(Frame.PrefixBytes));
                    await FourLetterWords.RunAsync(command, this, _server, cancellationToken).ConfigureAwait(false);
                    return;
                }

                var ok = TryDecodeFrames(ref buffer, works, ref handshakeDone, out var fatal);
                input.AdvanceTo(buffer.Start, buffer.End);
                foreach (var work in works)
                {
                    _server.Stats.Queued();
                    await _server.Inbox.WriteAsync(work, cancellationToken).ConfigureAwait(false);
                }

                works.Clear();
                if (!ok)
                {
                    _ = fatal;
                    return;
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        ServerLog.TruncatedFrame(_server.Logger, Remote, buffer.Length);
                    }

                    return;
                }
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Decodes every complete frame in <paramref name="buffer"/>. Returns false when the connection must close
    /// (already logged); frames decoded before the bad one are still delivered.</summary>
    private bool TryDecodeFrames(ref ReadOnlySequence<byte> buffer, List<Work> works, ref bool handshakeDone, out string? fatal)
    {
        fatal = null;
        var max = _server.Options.JuteMaxBufferBytes;
        while (Frame.TryPeekLength(buffer, out var length))
        {
            if (length < 0 || length > max)
            {
                ServerLog.FrameTooLarge(_server.Logger, Remote, length, max);
                fatal = "length";
                return false;
            }

            if (!Frame.TryRead(ref buffer, max, out var frame))
            {
                return true;
            }

            Interlocked.Increment(ref PacketsReceived);
            _server.Stats.Received();
            try
            {
                var reader = new JuteReader(frame, max);
                if (!handshakeDone)
                {
                    var connect = ConnectRequest.Read(ref reader);
                    works.Add(new ConnectWork(this, connect));
                    handshakeDone = true;
                    continue;
                }

                var header = RequestHeader.Read(ref reader);
                if (RequestCodec.TryReadBody(header.Type, ref reader, out var body))
                {
                    works.Add(new RequestWork(this, header, body, _server.NowMs()));
                }
                else if (header.Type == OpCode.Reconfig)
                {
                    // A valid request that standalone refuses (ReconfigDisabled) without closing, as ZooKeeper does.
                    works.Add(new RequestWork(this, header, null, _server.NowMs()));
                }
                else
                {
                    works.Add(new RequestWork(this, header, null, _server.NowMs()) { Known = false });
                    ServerLog.UnknownOpCode(_server.Logger, Remote, (int)header.Type);
                    fatal = "opcode";
                    return false;
                }
            }
            catch (ProtocolException ex)
            {
                ServerLog.MalformedFrame(_server.Logger, Remote, ex.Message);
                fatal = "malformed";
                return false;
            }
        }

        return true;
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var sent = 0;
                    while (sent < segment.Length)
                    {
                        sent += await _socket.SendAsync(segment[sent..], SocketFlags.None).ConfigureAwait(false);
                    }
                }

                Interlocked.Add(ref _queuedBytes, -buffer.Length);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            // Everything owed was sent: tell the client we are done, then stop reading.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            CancelReceive();
        }
    }

    private void CancelReceive()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    // ---- writing: state machine loop only ------------------------------------------------------------------

    /// <summary>Writes a reply frame: header plus optional body.</summary>
    public void SendReply(in ReplyHeader header, IJuteWritable? body)
    {
        if (_outputCompleted)
        {
            return;
        }

        var writer = new JuteWriter(_output.Writer);
        var frame = Frame.Begin(ref writer);
        header.Write(ref writer);
        body?.Write(ref writer);
        Sent(Frame.End(ref writer, frame));
    }

    /// <summary>Writes one frame holding a single record (the ConnectResponse).</summary>
    public void SendRecord<T>(T record)
        where T : IJuteWritable
    {
        if (_outputCompleted)
        {
            return;
        }

        var writer = new JuteWriter(_output.Writer);
        var frame = Frame.Begin(ref writer);
        record.Write(ref writer);
        Sent(Frame.End(ref writer, frame));
    }

    /// <summary>Writes a watch notification (xid -1).</summary>
    public void SendNotification(WatcherEvent watcherEvent, long zxid) =>
        SendReply(new ReplyHeader(Xids.Notification, zxid, ErrorCode.Ok), watcherEvent);

    /// <summary>Raw bytes (four-letter word answers); loop or 4lw path only, never both on one connection.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes)
    {
        if (_outputCompleted)
        {
            return;
        }

        _output.Writer.Write(bytes);
        Sent(bytes.Length - Frame.PrefixBytes);
    }

    private void Sent(int bodyBytes)
    {
        Interlocked.Increment(ref PacketsSent);
        _server.Stats.Sent();
        var queued = Interlocked.Add(ref _queuedBytes, bodyBytes + Frame.PrefixBytes);
        _dirty = true;
        if (queued > _server.Options.MaxOutgoingBytesPerConnection)
        {
            ServerLog.SlowClient(_server.Logger, Remote, Session?.Id ?? 0, queued, _server.Options.MaxOutgoingBytesPerConnection);
            Abort();
        }
    }

    /// <summary>Pushes written frames to the send loop. Called by the loop after each batch of work.</summary>
    /// <returns>True when something was flushed.</returns>
    public bool Flush()
    {
        if (!_dirty || _outputCompleted)
        {
            return false;
        }

        _dirty = false;
        var flush = _output.Writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            // Cannot happen with pauseWriterThreshold 0; observe it anyway rather than block the loop.
            _ = flush.AsTask();
        }

        return true;
    }

    /// <summary>Sends what is queued, then closes the connection (after closeSession, a refused handshake, AuthFailed).</summary>
    public void CloseAfterSend()
    {
        if (_outputCompleted)
        {
            return;
        }

        Closing = true;
        _outputCompleted = true;
        _ = _output.Writer.FlushAsync().AsTask();
        _output.Writer.Complete();
    }

    /// <summary>Drops the connection now without sending what is queued.</summary>
    public void Abort()
    {
        Closing = true;
        if (!_outputCompleted)
        {
            _outputCompleted = true;
            _output.Writer.Complete();
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        CancelReceive();
    }
}
