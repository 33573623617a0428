using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Zooflow.Jute;

namespace Zooflow.Client;

// The connection and session state machine (Java's ClientCnxn + SendThread):
//
//   loop: pick the next host (shuffled once) -> TCP connect -> ConnectRequest(lastZxidSeen, timeout, sessionId, passwd)
//         -> ConnectResponse: timeout <= 0 means the session expired (terminal) -> prime: auth packets (xid -4), then
//         setWatches / setWatches2 (xid -8) for every registered watch -> Connected: one writer loop drains the outgoing
//         channel into the PipeWriter (assigning xids, so xid order is wire order), one reader loop matches each reply to
//         the head of the pending FIFO, one ping loop sends pings when idle and drops the connection when nothing was
//         heard for 2/3 of the session timeout.
//   connection ends: every pending and queued request fails with ConnectionLoss; watchers hear Disconnected; reconnect.
public sealed partial class ZooKeeperClient
{
    private const int SetWatchesChunkBytes = 128 * 1024;
    private readonly Channel<Packet> _outgoing = Channel.CreateUnbounded<Packet>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentQueue<Packet> _pending = new();
    private readonly ConcurrentQueue<Packet?> _authWaiters = new();
    private readonly CancellationTokenSource _closeCts = new();
    private readonly object _socketLock = new();
    private Socket? _socket;
    private int _xid;
    private long _lastSendMs;
    private long _lastReceiveMs;

    private async Task RunConnectionLoopAsync()
    {
        var hosts = _connectString.Hosts.ToArray();
        _random.Shuffle(hosts);
        var index = 0;
        var failuresInARow = 0;
        var token = _closeCts.Token;
        while (!token.IsCancellationRequested && Volatile.Read(ref _closing) == 0)
        {
            var (host, port) = hosts[index];
            index = (index + 1) % hosts.Length;
            if (failuresInARow >= hosts.Length)
            {
                // Every host failed once: back off a little (Java sleeps up to 1 s) so a down ensemble is not hammered.
                try
                {
                    await Task.Delay(_random.Next(50, 250), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var wasConnected = false;
            try
            {
                wasConnected = await RunOneConnectionAsync(host, port, token).ConfigureAwait(false);
            }
            catch (SessionExpiredSignal)
            {
                Terminate(ConnectionState.Expired, ErrorCode.SessionExpired, KeeperState.Expired);
                return;
            }
            catch (AuthFailedSignal)
            {
                Terminate(ConnectionState.AuthFailed, ErrorCode.AuthFailed, KeeperState.AuthFailed);
                return;
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                // A refused/broken connection or a protocol error: try the next host.
                wasConnected = _state == ConnectionState.Connected;
            }
            catch (Exception)
            {
                break;
            }
            finally
            {
                DropSocket();
            }

            failuresInARow = wasConnected ? 0 : failuresInARow + 1;
            OnConnectionEnded(wasConnected);
        }
    }

    /// <summary>Runs one connection until it breaks. Returns (or throws) when it ends; true if the handshake succeeded.</summary>
    private async Task<bool> RunOneConnectionAsync(string host, int port, CancellationToken token)
    {
        var attemptTimeout = TimeSpan.FromMilliseconds(Math.Max(1000, RequestedTimeoutMs / Math.Max(1, _connectString.Hosts.Count)));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_socketLock)
        {
            _socket = socket;
        }

        using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            attempt.CancelAfter(attemptTimeout);
            await socket.ConnectAsync(host, port, attempt.Token).ConfigureAwait(false);
        }

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = PipeReader.Create(stream);
        var writer = PipeWriter.Create(stream);

        // Handshake.
        var sessionPassword = _sessionPassword;
        Frame.Write(writer, new ConnectRequest(0, Interlocked.Read(ref _lastZxid), RequestedTimeoutMs, _sessionId, sessionPassword, _options.CanBeReadOnly));
        await writer.FlushAsync(token).ConfigureAwait(false);
        ConnectResponse response;
        using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            handshake.CancelAfter(attemptTimeout);
            response = await ReadHandshakeAsync(reader, handshake.Token).ConfigureAwait(false);
        }

        if (response.TimeOutMs <= 0)
        {
            throw new SessionExpiredSignal();
        }

        _sessionId = response.SessionId;
        _sessionPassword = response.Password;
        _negotiatedTimeoutMs = response.TimeOutMs;
        var now = Environment.TickCount64;
        _lastReceiveMs = now;
        _lastSendMs = now;

        // Prime: auth first, then the watches (the server fires any that triggered while we were away).
        foreach (var (scheme, auth) in SnapshotAuth())
        {
            _authWaiters.Enqueue(null);
            Frame.WriteRequest(writer, new RequestHeader(Xids.Auth, OpCode.Auth), new AuthPacket(0, scheme, auth));
        }

        WriteSetWatches(writer);
        await writer.FlushAsync(token).ConfigureAwait(false);

        using var connection = CancellationTokenSource.CreateLinkedTokenSource(token);
        SetState(ConnectionState.Connected, KeeperState.SyncConnected);
        _firstConnected.TrySetResult();

        var readTask = ReadLoopAsync(reader, connection.Token);
        var writeTask = WriteLoopAsync(writer, connection.Token);
        var pingTask = PingLoopAsync(connection.Token);
        try
        {
            await Task.WhenAny(readTask, writeTask, pingTask).ConfigureAwait(false);
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
            DropSocket();
            try
            {
                await Task.WhenAll(readTask, writeTask, pingTask).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the loops end by cancellation or by the fault that ended the connection
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            await reader.CompleteAsync().ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
        }

        if (readTask.Exception?.InnerException is AuthFailedSignal authFailed)
        {
            throw authFailed;
        }

        return true;
    }

    private async Task<ConnectResponse> ReadHandshakeAsync(PipeReader reader, CancellationToken token)
    {
        while (true)
        {
            var result = await reader.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Frame.TryRead(ref buffer, _options.MaxFrameBytes, out var frame))
            {
                var jute = new JuteReader(frame, _options.MaxFrameBytes);
                var response = ConnectResponse.Read(ref jute);
                reader.AdvanceTo(buffer.Start);
                return response;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("server closed the connection during the handshake");
            }
        }
    }

    private void WriteSetWatches(PipeWriter writer)
    {
        if (_watches.IsEmpty)
        {
            return;
        }

        var (data, exist, child, persistent, recursive) = _watches.Snapshot();
        var usePersistent = persistent.Count + recursive.Count > 0;
        var lists = new[] { data, exist, child, persistent, recursive };
        var chunk = new List<string>[5];
        var chunkBytes = 0;
        for (var i = 0; i < 5; i++)
        {
            chunk[i] = [];
        }

        void Flush()
        {
            var relativeZxid = Interlocked.Read(ref _lastZxid);
            if (usePersistent)
            {
                Frame.WriteRequest(writer, new RequestHeader(Xids.SetWatches, OpCode.SetWatches2),
                    new SetWatches2(relativeZxid, chunk[0], chunk[1], chunk[2], chunk[3], chunk[4]));
            }
            else
            {
                Frame.WriteRequest(writer, new RequestHeader(Xids.SetWatches, OpCode.SetWatches),
                    new SetWatches(relativeZxid, chunk[0], chunk[1], chunk[2]));
            }

            for (var i = 0; i < 5; i++)
            {
                chunk[i] = [];
            }

            chunkBytes = 0;
        }

        for (var i = 0; i < 5; i++)
        {
            foreach (var clientPath in lists[i])
            {
                var serverPath = _connectString.ToServerPath(clientPath);
                chunk[i].Add(serverPath);
                chunkBytes += serverPath.Length + 4;
                if (chunkBytes >= SetWatchesChunkBytes)
                {
                    Flush();
                }
            }
        }

        if (chunkBytes > 0)
        {
            Flush();
        }
    }

    private async Task WriteLoopAsync(PipeWriter writer, CancellationToken token)
    {
        var outgoing = _outgoing.Reader;
        while (await outgoing.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (outgoing.TryRead(out var packet))
            {
                if (packet.Completion.Task.IsCompleted)
                {
                    continue; // cancelled before it was sent
                }

                switch (packet.Op)
                {
                    case OpCode.Ping:
                        packet.Xid = Xids.Ping;
                        break;
                    case OpCode.Auth:
                        packet.Xid = Xids.Auth;
                        _authWaiters.Enqueue(packet);
                        break;
                    default:
                        var xid = ++_xid;
                        if (xid <= 0)
                        {
                            xid = _xid = 1;
                        }

                        packet.Xid = xid;
                        _pending.Enqueue(packet);
                        break;
                }

                Frame.WriteRequest(writer, new RequestHeader(packet.Xid, packet.Op), packet.Body);
                if (writer.UnflushedBytes >= 64 * 1024)
                {
                    await FlushAsync(writer, token).ConfigureAwait(false);
                }
            }

            await FlushAsync(writer, token).ConfigureAwait(false);
        }
    }

    private async ValueTask FlushAsync(PipeWriter writer, CancellationToken token)
    {
        var flush = await writer.FlushAsync(token).ConfigureAwait(false);
        Volatile.Write(ref _lastSendMs, Environment.TickCount64);
        if (flush.IsCompleted || flush.IsCanceled)
        {
            throw new IOException("connection closed while writing");
        }
    }

    private async Task PingLoopAsync(CancellationToken token)
    {
        var readTimeoutMs = _negotiatedTimeoutMs * 2 / 3;
        var pingIntervalMs = Math.Max(10, readTimeoutMs / 2);
        var tickMs = Math.Clamp(pingIntervalMs / 4, 10, 250);
        while (true)
        {
            await Task.Delay(tickMs, token).ConfigureAwait(false);
            var now = Environment.TickCount64;
            if (now - Volatile.Read(ref _lastReceiveMs) > readTimeoutMs)
            {
                throw new TimeoutException($"nothing heard from the server for {readTimeoutMs} ms");
            }

            if (now - Volatile.Read(ref _lastSendMs) >= pingIntervalMs)
            {
                Volatile.Write(ref _lastSendMs, now);
                _outgoing.Writer.TryWrite(new Packet(OpCode.Ping, null, null));
            }
        }
    }

    private async Task ReadLoopAsync(PipeReader reader, CancellationToken token)
    {
        while (true)
        {
            var result = await reader.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var any = false;
            while (Frame.TryRead(ref buffer, _options.MaxFrameBytes, out var frame))
            {
                any = true;
                HandleFrame(frame);
            }

            if (any)
            {
                Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("server closed the connection");
            }
        }
    }

    private void HandleFrame(ReadOnlySequence<byte> frame)
    {
        var reader = new JuteReader(frame, _options.MaxFrameBytes);
        var header = ReplyHeader.Read(ref reader);
        switch (header.Xid)
        {
            case Xids.Ping:
                return;
            case Xids.Notification:
                var watcherEvent = WatcherEvent.Read(ref reader);
                DeliverNodeEvent(watcherEvent);
                return;
            case Xids.SetWatches:
                return;
            case Xids.Auth:
                _authWaiters.TryDequeue(out var waiter);
                waiter?.Completion.TrySetResult(new Reply(header.Err, null, header.Zxid));
                if (header.Err == ErrorCode.AuthFailed)
                {
                    throw new AuthFailedSignal();
                }

                return;
        }

        if (!_pending.TryDequeue(out var packet))
        {
            throw new ProtocolException($"reply with xid {header.Xid} but no request is pending");
        }

        if (packet.Xid != header.Xid)
        {
            throw new ProtocolException($"reply xid {header.Xid} out of order: expected {packet.Xid} ({packet.Op})");
        }

        if (header.Zxid > 0)
        {
            Interlocked.Exchange(ref _lastZxid, header.Zxid);
        }

        object? body = null;
        if (header.Err == ErrorCode.Ok)
        {
            ResponseCodec.TryReadBody(packet.Op, ref reader, out body);
        }

        if (packet.Watch is { } watch)
        {
            _watches.Register(watch, header.Err);
        }

        var reply = new Reply(header.Err, body, header.Zxid);
        if (_dispatcher.HasQueued)
        {
            _dispatcher.Enqueue(() => packet.Completion.TrySetResult(reply));
        }
        else
        {
            packet.Completion.TrySetResult(reply);
        }
    }

    private void DeliverNodeEvent(WatcherEvent watcherEvent)
    {
        var clientPath = _connectString.ToClientPath(watcherEvent.Path);
        var watchedEvent = new WatchedEvent(watcherEvent.Type, watcherEvent.State, clientPath);
        var targets = _watches.Materialize(watcherEvent.Type, clientPath);
        if (targets.Count == 0)
        {
            return;
        }

        _dispatcher.Enqueue(() =>
        {
            foreach (var target in targets)
            {
                InvokeWatcher(target, watchedEvent);
            }
        });
    }

    private void DeliverStateEvent(KeeperState state, ConnectionState connectionState, bool clearWatches)
    {
        var watchedEvent = new WatchedEvent(EventType.None, state, null);
        var targets = _watches.All(clearWatches);
        _dispatcher.Enqueue(() =>
        {
            InvokeWatcher(_defaultWatcher, watchedEvent);
            foreach (var target in targets)
            {
                InvokeWatcher(target, watchedEvent);
            }

            try
            {
                StateChanged?.Invoke(connectionState);
            }
#pragma warning disable CA1031 // listener faults must not stop the event thread
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        });
    }

    private static void InvokeWatcher(Action<WatchedEvent> watcher, WatchedEvent watchedEvent)
    {
        try
        {
            watcher(watchedEvent);
        }
#pragma warning disable CA1031 // a faulty watcher must not stop delivery to the others
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void SetState(ConnectionState state, KeeperState keeperState)
    {
        _state = state;
        DeliverStateEvent(keeperState, state, clearWatches: false);
    }

    private void OnConnectionEnded(bool wasConnected)
    {
        if (_state is ConnectionState.Expired or ConnectionState.AuthFailed or ConnectionState.Closed)
        {
            FailAll(ErrorCode.ConnectionLoss);
            return;
        }

        if (wasConnected)
        {
            _state = ConnectionState.Connecting;
        }

        FailAll(ErrorCode.ConnectionLoss);
        if (wasConnected && Volatile.Read(ref _closing) == 0)
        {
            DeliverStateEvent(KeeperState.Disconnected, ConnectionState.Connecting, clearWatches: false);
        }
    }

    private void FailAll(ErrorCode code)
    {
        var reply = new Reply(code, null, 0);
        while (_pending.TryDequeue(out var packet))
        {
            packet.Completion.TrySetResult(reply);
        }

        while (_authWaiters.TryDequeue(out var waiter))
        {
            waiter?.Completion.TrySetResult(reply);
        }

        while (_outgoing.Reader.TryRead(out var queued))
        {
            queued.Completion.TrySetResult(reply);
        }
    }

    private void Terminate(ConnectionState state, ErrorCode code, KeeperState keeperState)
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            FailAll(ErrorCode.ConnectionLoss);
            return; // closing: CloseAsync reports Closed
        }

        _state = state;
        _outgoing.Writer.TryComplete();
        FailAll(code);
        _firstConnected.TrySetException(new KeeperException(code));
        DeliverStateEvent(keeperState, state, clearWatches: true);
    }

    private void DropSocket()
    {
        Socket? socket;
        lock (_socketLock)
        {
            socket = _socket;
            _socket = null;
        }

        socket?.Dispose();
    }

    private List<(string Scheme, byte[] Auth)> SnapshotAuth()
    {
        lock (_authInfo)
        {
            return [.. _authInfo];
        }
    }

    private sealed class SessionExpiredSignal : Exception
    {
    }

    private sealed class AuthFailedSignal : Exception
    {
    }
}
