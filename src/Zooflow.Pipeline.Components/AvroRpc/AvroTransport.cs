using System.IO.Compression;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// The byte streams of one Avro RPC connection: the socket, then TLS when <c>ssl</c> is on, then a zlib stream in each
/// direction when <c>compression-type = deflate</c> (the order Flume 1.9's Netty pipeline has: SSL first on the wire,
/// compression inside it).
/// </summary>
/// <remarks>
/// Flume's deflate (Netty <c>JZlibEncoder</c>/<c>JZlibDecoder</c>, zlib wrapper) makes each direction of the whole
/// connection one zlib stream, sync-flushed after every frame so the peer can decode it at once. <see cref="ZLibStream"/>
/// does the same: <see cref="Stream.Flush"/> on a compressing <see cref="ZLibStream"/> is a Z_SYNC_FLUSH.
/// </remarks>
internal sealed class AvroTransport : IAsyncDisposable
{
    private readonly Stream _secured;
    private readonly ZLibStream? _inflater;
    private readonly ZLibStream? _deflater;

    public AvroTransport(Stream secured, bool deflate, int compressionLevel)
    {
        _secured = secured;
        if (deflate)
        {
            _inflater = new ZLibStream(secured, CompressionMode.Decompress, leaveOpen: true);
            _deflater = new ZLibStream(secured, new ZLibCompressionOptions { CompressionLevel = compressionLevel }, leaveOpen: true);
        }
    }

    /// <summary>What the frames are read from.</summary>
    public Stream Input => _inflater ?? _secured;

    /// <summary>What the frames are written to.</summary>
    public Stream Output => _deflater ?? _secured;

    /// <summary>Writes one frame and flushes it through compression and TLS onto the wire.</summary>
    public async ValueTask WriteFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await Output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_deflater is not null)
        {
            await _secured.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_deflater is not null)
        {
            try
            {
                await _deflater.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // The peer is gone; the zlib trailer cannot be sent.
            }
        }
        if (_inflater is not null)
        {
            await _inflater.DisposeAsync().ConfigureAwait(false);
        }
        await _secured.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Zlib in both directions over one stream, as a single duplex stream: the layer TLS runs over when compression sits
/// outside TLS (Flume 1.10/1.11, whose Netty 4 pipeline adds the zlib handlers first and the SSL handler after them).
/// Every write is sync-flushed so each TLS record reaches the peer at once.
/// </summary>
internal sealed class ZlibDuplexStream(Stream inner, int compressionLevel) : Stream
{
    private readonly ZLibStream _inflater = new(inner, CompressionMode.Decompress, leaveOpen: true);
    private readonly ZLibStream _deflater = new(inner, new ZLibCompressionOptions { CompressionLevel = compressionLevel }, leaveOpen: true);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => _inflater.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inflater.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inflater.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
    {
        _deflater.Write(buffer, offset, count);
        Flush();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _deflater.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
        _deflater.Flush();
        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _deflater.FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                _deflater.Dispose();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // The peer is gone; the zlib trailer cannot be sent.
            }
            _inflater.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
