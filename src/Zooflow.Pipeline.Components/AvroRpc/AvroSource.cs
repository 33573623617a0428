using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Flume's <c>avro</c> source: an Avro RPC server (Netty framing, Avro handshake, <c>append</c> / <c>appendBatch</c>)
/// that upstream avro sinks — Zooflow's or Apache Flume's — and Flume's RPC clients send events to.
/// </summary>
/// <remarks>
/// <para>Keys: <c>bind</c>, <c>port</c> (required; 0 picks a free port, see <see cref="BoundPort"/>); <c>threads</c>
/// (unbounded): the most calls processed at once across all connections; <c>compression-type</c> none | deflate (must
/// match the sender; with ssl too, both layerings are accepted: Flume 1.9's TLS-outside and 1.10+'s zlib-outside); <c>ssl</c> false with <c>keystore</c>, <c>keystore-password</c>, <c>keystore-type</c> (PKCS12 only),
/// <c>exclude-protocols</c> / <c>include-protocols</c>; <c>ipFilter</c> false with <c>ipFilterRules</c>
/// (<see cref="IpFilter"/>). Zooflow extension: <c>max-frame-bytes</c> (64 MiB): a frame announcing more is refused
/// before anything is buffered.</para>
/// <para>Acknowledgement, as Flume: a call is answered <c>OK</c> only after its whole batch was committed to every
/// required channel in one transaction; a channel that refuses it (full, or the batch exceeds its transactionCapacity)
/// gets <c>FAILED</c> at once, and the sender rolls back and retries. Calls on one connection are processed in order.</para>
/// <para>Malformed input (a bad frame, handshake or event, or an oversized frame) closes only that connection, with a
/// warning naming the peer, the stream offset and what was wrong; other connections carry on.</para>
/// </remarks>
public sealed class AvroSource : IEventDrivenSource, IAsyncDisposable
{
    /// <summary>Default of <c>max-frame-bytes</c>: room for a batch of 1000 events of 64 KiB.</summary>
    public const int DefaultMaxFrameBytes = 64 * 1024 * 1024;

    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>How many client protocol hashes other than Flume's are remembered across connections.</summary>
    private const int MaxKnownClientProtocols = 1024;

    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly ConcurrentDictionary<string, bool> _knownClientHashes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim? _callSlots;
    private readonly string _bind;
    private readonly int _port;
    private readonly X509Certificate2? _certificate;
    private readonly SslProtocols _sslProtocols;
    private readonly IpFilter? _ipFilter;
    private IEventSink? _output;
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _connectionIds;
    private long _connectionsClosedForErrors;
    private long _connectionsRefused;
    private int _started;

    /// <summary>Reads the keys listed in the remarks; every problem is recorded in <paramref name="context"/>.</summary>
    public AvroSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.AvroSource");
        _bind = context.GetRequiredString("bind");
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (allowed: 0..65535)");
        }
        _port = context.GetInt("port", 0, 0, 65535);
        var threads = context.GetInt("threads", 0, 0, 1_000_000);
        _callSlots = threads > 0 ? new SemaphoreSlim(threads, threads) : null;
        Deflate = context.GetChoice("compression-type", "none", "none", "deflate") == "deflate";
        MaxFrameBytes = context.GetInt("max-frame-bytes", DefaultMaxFrameBytes, 1024, Array.MaxLength);
        Ssl = context.GetBool("ssl", false);
        if (Ssl)
        {
            _certificate = AvroTls.ReadKeystore(context);
            _sslProtocols = AvroTls.ReadProtocols(context);
        }
        if (context.GetBool("ipFilter", false))
        {
            var rules = context.GetString("ipFilterRules");
            if (string.IsNullOrWhiteSpace(rules))
            {
                context.AddError("ipFilterRules", "is required when ipFilter = true (e.g. allow:ip:127.*,deny:ip:*)");
            }
            else
            {
                _ipFilter = IpFilter.Parse(rules, out var problems);
                foreach (var problem in problems)
                {
                    context.AddError("ipFilterRules", problem);
                }
            }
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary><c>compression-type = deflate</c>.</summary>
    public bool Deflate { get; }

    /// <summary><c>ssl</c>.</summary>
    public bool Ssl { get; }

    /// <summary><c>max-frame-bytes</c>.</summary>
    public int MaxFrameBytes { get; }

    /// <summary>The port actually listened on; 0 before start.</summary>
    public int BoundPort => (_listener?.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>Connections closed because of malformed or oversized input.</summary>
    public long ConnectionsClosedForErrors => Interlocked.Read(ref _connectionsClosedForErrors);

    /// <summary>Connections refused by the ip filter.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>The source's counters (Flume's SourceCounter).</summary>
    public SourceCounter Counter => _counter;

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
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endPoint);
            listener.Listen(1024);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        _listener = listener;
        _logger.LogInformation("Avro source {Source} listening on {EndPoint} (compression {Compression}, ssl {Ssl}, ipFilter {Filter})",
            Name, listener.LocalEndPoint, Deflate ? "deflate" : "none", Ssl, _ipFilter is not null);
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        var pending = new List<Task>(_connections.Values);
        if (_acceptLoop is not null)
        {
            pending.Add(_acceptLoop);
        }
        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("Avro source {Source}: connections did not finish within the stop timeout", Name);
        }
        _logger.LogInformation("Avro source {Source} stopped; {Events} events accepted", Name, _counter.EventAcceptedCount);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _callSlots?.Dispose();
        _certificate?.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                _logger.LogWarning("Avro source {Source}: accept failed: {Error}", Name, ex.SocketErrorCode);
                continue;
            }
            var id = Interlocked.Increment(ref _connectionIds);
            _connections[id] = RunConnectionAsync(id, client, cancellationToken);
        }
    }

    private async Task RunConnectionAsync(long id, Socket client, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var peer = client.RemoteEndPoint is IPEndPoint ip ? Endpoints.JavaStyle(ip) : "?";
        var opened = false;
        try
        {
            if (_ipFilter is not null && client.RemoteEndPoint is IPEndPoint remote)
            {
                var (allowed, rule) = await _ipFilter.CheckAsync(remote.Address, cancellationToken).ConfigureAwait(false);
                if (!allowed)
                {
                    Interlocked.Increment(ref _connectionsRefused);
                    _logger.LogInformation("Avro source {Source}: connection from {Peer} refused by ipFilter rule '{Rule}'", Name, peer, rule);
                    return;
                }
            }
            _counter.ConnectionOpened();
            opened = true;
            await HandleConnectionAsync(client, peer, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: a call in flight was neither committed nor acknowledged.
        }
        catch (AvroRpcException ex)
        {
            Interlocked.Increment(ref _connectionsClosedForErrors);
            _counter.AddEventReadFail();
            _logger.LogWarning("Avro source {Source}: closing the connection from {Peer}: malformed input: {Problem}", Name, peer, ex.Message);
        }
        catch (Exception ex) when (ex is AuthenticationException)
        {
            Interlocked.Increment(ref _connectionsClosedForErrors);
            _logger.LogWarning("Avro source {Source}: TLS handshake with {Peer} failed: {Error}", Name, peer, ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException)
        {
            Interlocked.Increment(ref _connectionsClosedForErrors);
            _counter.AddEventReadFail();
            _logger.LogWarning("Avro source {Source}: closing the connection from {Peer}: the deflate stream is corrupt: {Error}", Name, peer, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            _logger.LogDebug("Avro source {Source}: connection from {Peer} broken: {Error}", Name, peer, ex.Message);
        }
        catch (Exception ex)
        {
            _counter.AddGenericProcessingFail();
            _logger.LogError(ex, "Avro source {Source}: connection handler for {Peer} failed", Name, peer);
        }
        finally
        {
            client.Dispose();
            _connections.TryRemove(id, out _);
            if (opened)
            {
                _counter.ConnectionClosed();
            }
        }
    }

    private async Task HandleConnectionAsync(Socket client, string peer, CancellationToken cancellationToken)
    {
        client.NoDelay = true;
        Stream stream = new NetworkStream(client, ownsSocket: false);
        var compressionOutsideTls = Ssl && Deflate && await CompressionOutsideTlsAsync(client, cancellationToken).ConfigureAwait(false);
        if (compressionOutsideTls)
        {
            stream = new ZlibDuplexStream(stream, 6);
        }
        if (Ssl)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            stream = ssl;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                EnabledSslProtocols = _sslProtocols,
                ClientCertificateRequired = false,
            }, timeout.Token).ConfigureAwait(false);
        }
        var transport = new AvroTransport(stream, Deflate && !compressionOutsideTls, 6);
        await using (transport.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(transport.Input, new StreamPipeReaderOptions(bufferSize: ReadBufferBytes, minimumReadSize: ReadBufferBytes / 4, leaveOpen: true));
            using var writer = new FrameWriter(4096);
            var session = new Session(peer);
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    while (TryReadFrame(ref buffer, session, out var frame))
                    {
                        using (frame)
                        {
                            var reply = await ProcessCallAsync(session, frame, writer, cancellationToken).ConfigureAwait(false);
                            await transport.WriteFrameAsync(reply, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        if (!buffer.IsEmpty)
                        {
                            throw new AvroRpcException("frame", session.Offset, $"connection closed inside a frame ({buffer.Length} bytes of it received)");
                        }
                        return;
                    }
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// With both ssl and deflate, Flume 1.9 puts TLS on the wire with zlib inside, Flume 1.10/1.11 zlib on the wire with
    /// TLS inside. The first byte tells them apart without consuming it: a TLS handshake record starts with 0x16, a zlib
    /// stream with 0x78 (deflate, 32 KiB window).
    /// </summary>
    private static async ValueTask<bool> CompressionOutsideTlsAsync(Socket client, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var received = await client.ReceiveAsync(first, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
        return received == 1 && first[0] != 0x16;
    }

    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, Session session, out FramePayload frame)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!NettyFrame.TryRead(ref reader, MaxFrameBytes, session.Offset, out frame))
        {
            return false;
        }
        session.Offset += reader.Consumed;
        buffer = buffer.Slice(reader.Consumed);
        return true;
    }

    /// <summary>Decodes one call, runs it and builds the reply (Java <c>Responder.respond</c>).</summary>
    private async ValueTask<ReadOnlyMemory<byte>> ProcessCallAsync(Session session, FramePayload frame, FrameWriter writer, CancellationToken cancellationToken)
    {
        var payload = session.Reader;
        payload.Reset(frame.Array!, frame.Length, frame.FrameOffset);
        HandshakeResponse? handshake = null;
        if (!session.Established)
        {
            handshake = Handshake(AvroRpcCodec.ReadHandshakeRequest(payload), session);
            if (handshake.Match == HandshakeMatch.None)
            {
                return AvroRpcCodec.WriteHandshakeOnlyResponse(writer, frame.Serial, handshake);
            }
            session.Established = true;
        }
        var message = AvroRpcCodec.ReadCallHeader(payload, out var unknownName);
        switch (message)
        {
            case RpcMessage.Ping:
                return handshake is null ? EmptyReply(writer, frame.Serial) : AvroRpcCodec.WriteHandshakeOnlyResponse(writer, frame.Serial, handshake);
            case RpcMessage.Unknown:
                _logger.LogWarning("Avro source {Source}: {Peer} called unknown message '{Message}'", Name, session.Peer, unknownName);
                return AvroRpcCodec.WriteErrorResponse(writer, frame.Serial, handshake, $"org.apache.avro.AvroRuntimeException: No such remote message: {unknownName}");
        }
        if (session.RemoteIncompatible is { } incompatibility)
        {
            return AvroRpcCodec.WriteErrorResponse(writer, frame.Serial, handshake, incompatibility);
        }
        var events = session.Events;
        events.Clear();
        var batch = message == RpcMessage.AppendBatch;
        if (batch)
        {
            AvroRpcCodec.ReadAppendBatch(payload, events, int.MaxValue);
            _counter.AddAppendBatchReceived();
        }
        else
        {
            events.Add(AvroRpcCodec.ReadAppend(payload));
            _counter.AddAppendReceived();
        }
        _counter.AddEventReceived(events.Count);
        var status = await DeliverAsync(session, events, cancellationToken).ConfigureAwait(false);
        if (status == AvroStatus.Ok)
        {
            _counter.AddEventAccepted(events.Count);
            if (batch)
            {
                _counter.AddAppendBatchAccepted();
            }
            else
            {
                _counter.AddAppendAccepted();
            }
        }
        events.Clear();
        return AvroRpcCodec.WriteStatusResponse(writer, frame.Serial, handshake, status);
    }

    private static ReadOnlyMemory<byte> EmptyReply(FrameWriter writer, int serial)
    {
        // Java answers a ping on an established connection with the (empty) handshake buffer alone.
        writer.Begin(serial);
        writer.NextBuffer();
        return writer.Finish();
    }

    private async ValueTask<AvroStatus> DeliverAsync(Session session, List<Event> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return AvroStatus.Ok;
        }
        if (_callSlots is not null)
        {
            await _callSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await _output!.ProcessBatchAsync(events, cancellationToken).ConfigureAwait(false);
            return AvroStatus.Ok;
        }
        catch (ChannelException ex)
        {
            _counter.AddChannelWriteFail();
            session.Refusals++;
            if (session.Refusals == 1 || session.Refusals % 1000 == 0)
            {
                _logger.LogWarning("Avro source {Source}: channel refused a batch of {Count} events from {Peer} ({Reason}); answered FAILED, the sender retries",
                    Name, events.Count, session.Peer, ex.Message);
            }
            return AvroStatus.Failed;
        }
        finally
        {
            _callSlots?.Release();
        }
    }

    /// <summary>Java <c>Responder.handshake</c>: match BOTH when the client knows our hash, CLIENT when we know the
    /// client's protocol but it guessed our hash wrong, NONE when we do not know its protocol (it resends with the text).</summary>
    private HandshakeResponse Handshake(HandshakeRequest request, Session session)
    {
        var clientHash = Convert.ToHexStringLower(request.ClientHash);
        var known = request.ClientHash.AsSpan().SequenceEqual(FlumeAvroProtocol.Md5) || _knownClientHashes.ContainsKey(clientHash);
        if (!known && request.ClientProtocol is { } text)
        {
            session.RemoteIncompatible = CheckCompatible(text);
            if (session.RemoteIncompatible is null)
            {
                if (!MD5.HashData(Encoding.UTF8.GetBytes(text)).AsSpan().SequenceEqual(request.ClientHash))
                {
                    _logger.LogDebug("Avro source {Source}: {Peer} sent a protocol whose MD5 differs from its clientHash", Name, session.Peer);
                }
                // Remembered so the client's next connections match at once; bounded, since every client may send
                // another text (and a hostile one endless variants).
                if (_knownClientHashes.Count < MaxKnownClientProtocols)
                {
                    _knownClientHashes.TryAdd(clientHash, true);
                }
            }
            known = true;
        }
        var serverHashMatches = request.ServerHash.AsSpan().SequenceEqual(FlumeAvroProtocol.Md5);
        var match = !known ? HandshakeMatch.None : serverHashMatches ? HandshakeMatch.Both : HandshakeMatch.Client;
        return match == HandshakeMatch.Both
            ? new HandshakeResponse(match, null, null)
            : new HandshakeResponse(match, FlumeAvroProtocol.Json, FlumeAvroProtocol.Md5Copy());
    }

    /// <summary>A client protocol is usable when its append/appendBatch requests have Flume's schemas.</summary>
    private static string? CheckCompatible(string protocolText)
    {
        global::Avro.Protocol remote;
        try
        {
            remote = global::Avro.Protocol.Parse(protocolText);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return $"org.apache.avro.SchemaParseException: the client's protocol does not parse: {ex.Message}";
        }
        foreach (var name in new[] { FlumeAvroProtocol.AppendBatch, FlumeAvroProtocol.Append })
        {
            // Compared in Avro's Parsing Canonical Form: field order, names and types, not JSON layout or attribute order.
            if (remote.Messages.TryGetValue(name, out var theirs) && (
                global::Avro.SchemaNormalization.ToParsingForm(theirs.Request) != global::Avro.SchemaNormalization.ToParsingForm(FlumeAvroProtocol.Protocol.Messages[name].Request) ||
                global::Avro.SchemaNormalization.ToParsingForm(theirs.Response) != global::Avro.SchemaNormalization.ToParsingForm(FlumeAvroProtocol.Protocol.Messages[name].Response)))
            {
                return $"org.apache.avro.AvroRuntimeException: the client's {name} request or response schema differs from Flume's AvroSourceProtocol";
            }
        }
        return null;
    }

    /// <summary>Per-connection state, used by one call at a time.</summary>
    private sealed class Session(string peer)
    {
        public string Peer { get; } = peer;
        public AvroPayloadReader Reader { get; } = new();
        public List<Event> Events { get; } = new(128);
        public long Offset { get; set; }
        public bool Established { get; set; }
        public string? RemoteIncompatible { get; set; }
        public long Refusals { get; set; }
    }
}
