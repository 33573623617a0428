using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>Connection settings of the avro sink (Flume's <c>NettyAvroRpcClient</c> keys).</summary>
/// <param name="ConnectTimeout"><c>connect-timeout</c>: TCP connect, TLS handshake, and the first call's handshake.</param>
/// <param name="RequestTimeout"><c>request-timeout</c>: waiting for the reply to a call.</param>
/// <param name="Deflate"><c>compression-type = deflate</c>.</param>
/// <param name="CompressionLevel"><c>compression-level</c> 0..9.</param>
/// <param name="Ssl"><c>ssl</c>.</param>
/// <param name="TrustAllCerts"><c>trust-all-certs</c>.</param>
/// <param name="TrustRoots"><c>truststore</c> certificates, or null for the system's roots.</param>
/// <param name="SslProtocols">Enabled TLS versions.</param>
/// <param name="MaxFrameBytes">Largest reply accepted.</param>
/// <param name="DeflateOutsideSsl">With ssl and deflate: zlib on the wire and TLS inside it (Flume 1.10/1.11 peers)
/// instead of Flume 1.9's TLS outside.</param>
public sealed record AvroClientOptions(
    TimeSpan ConnectTimeout,
    TimeSpan RequestTimeout,
    bool Deflate,
    int CompressionLevel,
    bool Ssl,
    bool TrustAllCerts,
    X509Certificate2Collection? TrustRoots,
    SslProtocols SslProtocols,
    int MaxFrameBytes,
    bool DeflateOutsideSsl = false);

/// <summary>
/// One Avro RPC connection from a sink to an avro source, as Flume's <c>NettyAvroRpcClient</c> over Avro's
/// <c>NettyTransceiver</c>: the first call carries the handshake (Flume's hash, no protocol text; resent with the text
/// after a NONE reply), later calls go bare; one call in flight at a time; serials count up from 0.
/// </summary>
/// <remarks>Not thread-safe: the sink's runner uses it one call at a time. Any failure leaves it unusable (dispose it).</remarks>
internal sealed class AvroRpcClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly AvroTransport _transport;
    private readonly PipeReader _reader;
    private readonly FrameWriter _writer = new();
    private readonly AvroPayloadReader _payload = new();
    private readonly AvroClientOptions _options;
    private long _offset;
    private int _serial;
    private bool _established;
    private bool _broken;

    private AvroRpcClient(Socket socket, AvroTransport transport, RpcEndpoint endpoint, AvroClientOptions options, long connectedAtTimestamp)
    {
        _socket = socket;
        _transport = transport;
        _options = options;
        Endpoint = endpoint;
        ConnectedAtTimestamp = connectedAtTimestamp;
        _reader = PipeReader.Create(transport.Input, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
    }

    /// <summary>Where this connection goes.</summary>
    public RpcEndpoint Endpoint { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when connected (for reset-connection-interval).</summary>
    public long ConnectedAtTimestamp { get; }

    /// <summary>False once a call failed or timed out.</summary>
    public bool IsUsable => !_broken;

    /// <summary>Connects (TCP, then TLS) within the connect timeout.</summary>
    public static async Task<AvroRpcClient> ConnectAsync(RpcEndpoint endpoint, AvroClientOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            try
            {
                await socket.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"connecting to {endpoint} timed out after {options.ConnectTimeout.TotalMilliseconds:0} ms (connect-timeout)");
            }
            stream = new NetworkStream(socket, ownsSocket: false);
            var compressionOutsideTls = options.Ssl && options.Deflate && options.DeflateOutsideSsl;
            if (compressionOutsideTls)
            {
                stream = new ZlibDuplexStream(stream, options.CompressionLevel);
            }
            if (options.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = endpoint.Host,
                        EnabledSslProtocols = options.SslProtocols,
                        RemoteCertificateValidationCallback = AvroTls.Validator(options.TrustAllCerts, options.TrustRoots),
                    }, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"TLS handshake with {endpoint} timed out after {options.ConnectTimeout.TotalMilliseconds:0} ms (connect-timeout)");
                }
            }
            return new AvroRpcClient(socket, new AvroTransport(stream, options.Deflate && !compressionOutsideTls, options.CompressionLevel), endpoint, options, clock.GetTimestamp());
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends <c>appendBatch(events)</c> and returns the reply's status; a system error reply counts as FAILED and its text
    /// is returned as Error. Throws <see cref="TimeoutException"/> when no reply came within the
    /// timeout, <see cref="AvroRpcException"/> for a malformed reply, <see cref="IOException"/> when the connection broke.
    /// </summary>
    public async ValueTask<(AvroStatus Status, string? Error)> AppendBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (_broken)
        {
            throw new InvalidOperationException($"the connection to {Endpoint} failed earlier and cannot be reused");
        }
        var timeoutSpan = _established ? _options.RequestTimeout : _options.ConnectTimeout + _options.RequestTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeoutSpan);
        _broken = true;
        try
        {
            var withProtocol = false;
            while (true)
            {
                var handshake = _established ? null : AvroRpcCodec.ClientHandshake(withProtocol);
                var serial = _serial++;
                var frame = AvroRpcCodec.WriteAppendBatchRequest(_writer, serial, handshake, events);
                await _transport.WriteFrameAsync(frame, timeout.Token).ConfigureAwait(false);
                using var reply = await ReadFrameAsync(timeout.Token).ConfigureAwait(false);
                if (reply.Serial != serial)
                {
                    throw new AvroRpcException("reply serial", reply.FrameOffset, $"{reply.Serial} does not answer request {serial}");
                }
                _payload.Reset(reply.Array!, reply.Length, reply.FrameOffset);
                if (handshake is not null)
                {
                    var response = AvroRpcCodec.ReadHandshakeResponse(_payload);
                    if (response.Match == HandshakeMatch.None)
                    {
                        if (withProtocol)
                        {
                            throw new AvroRpcException("HandshakeResponse.match", reply.FrameOffset, "the server answered NONE although the protocol text was sent");
                        }
                        withProtocol = true;
                        continue;
                    }
                    _established = true;
                }
                var status = AvroRpcCodec.ReadCallResponse(_payload, out var error);
                _broken = false;
                return (status, error);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no reply from {Endpoint} within {timeoutSpan.TotalMilliseconds:0} ms ({(_established ? "request-timeout" : "connect-timeout + request-timeout")})");
        }
    }

    private async ValueTask<FramePayload> ReadFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (NettyFrame.TryRead(ref reader, _options.MaxFrameBytes, _offset, out var frame))
            {
                _offset += reader.Consumed;
                _reader.AdvanceTo(buffer.GetPosition(reader.Consumed));
                return frame;
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException($"{Endpoint} closed the connection{(buffer.IsEmpty ? "" : $" inside a reply ({buffer.Length} bytes of it received)")}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _writer.Dispose();
    }
}
