using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>
/// A deliberately tiny ZooKeeper wire client over a raw socket (written here from the protocol, independent of
/// Zooflow's own Jute code) for sending exact bytes: handshakes, single requests and malformed frames.
/// </summary>
public sealed class RawZkClient : IAsyncDisposable
{
    public const int OpExists = 3;
    private readonly Socket _socket;
    private int _xid;

    private RawZkClient(Socket socket)
    {
        _socket = socket;
    }

    public long SessionId { get; private set; }

    public int NegotiatedTimeout { get; private set; }

    public static async Task<RawZkClient> ConnectTcpAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        return new RawZkClient(socket);
    }

    /// <summary>Connects and completes the session handshake.</summary>
    public static async Task<RawZkClient> OpenSessionAsync(int port, CancellationToken cancellationToken, int timeoutMs = 10000)
    {
        var client = await ConnectTcpAsync(port, cancellationToken);
        await client.HandshakeAsync(timeoutMs, cancellationToken);
        return client;
    }

    public async Task HandshakeAsync(int timeoutMs, CancellationToken cancellationToken)
    {
        var body = new byte[4 + 8 + 4 + 8 + 4 + 16 + 1];
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(0), 0); // protocol version
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(4), 0); // last zxid seen
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(12), timeoutMs);
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(16), 0); // session id
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(24), 16); // password length
        await SendFrameAsync(body, cancellationToken);
        var reply = await ReadFrameAsync(cancellationToken) ?? throw new IOException("connection closed during handshake");
        NegotiatedTimeout = BinaryPrimitives.ReadInt32BigEndian(reply.AsSpan(4));
        SessionId = BinaryPrimitives.ReadInt64BigEndian(reply.AsSpan(8));
    }

    /// <summary>Sends exists(path, watch) and returns the reply's error code (0 = node exists).</summary>
    public async Task<int> ExistsAsync(string path, bool watch, CancellationToken cancellationToken)
    {
        var p = Encoding.UTF8.GetBytes(path);
        var body = new byte[4 + 4 + 4 + p.Length + 1];
        var xid = Interlocked.Increment(ref _xid);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(0), xid);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), OpExists);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(8), p.Length);
        p.CopyTo(body, 12);
        body[^1] = watch ? (byte)1 : (byte)0;
        await SendFrameAsync(body, cancellationToken);
        while (true)
        {
            var reply = await ReadFrameAsync(cancellationToken) ?? throw new IOException("connection closed awaiting reply");
            if (BinaryPrimitives.ReadInt32BigEndian(reply) == xid)
            {
                return BinaryPrimitives.ReadInt32BigEndian(reply.AsSpan(12));
            }
        }
    }

    /// <summary>Sends a request and returns the reply's error code (skipping watch notifications).</summary>
    public async Task<int> CallAsync(int opCode, byte[] payload, CancellationToken cancellationToken)
    {
        var xid = await SendRequestAsync(opCode, payload, cancellationToken);
        while (true)
        {
            var reply = await ReadFrameAsync(cancellationToken) ?? throw new IOException("connection closed awaiting reply");
            if (BinaryPrimitives.ReadInt32BigEndian(reply) == xid)
            {
                return BinaryPrimitives.ReadInt32BigEndian(reply.AsSpan(12));
            }
        }
    }

    /// <summary>Jute payload of a create request: open ACL, persistent.</summary>
    public static byte[] CreatePayload(string path, byte[] data)
    {
        var w = new MemoryStream();
        WriteString(w, path);
        WriteInt(w, data.Length);
        w.Write(data);
        WriteInt(w, 1); // one ACL
        WriteInt(w, 31);
        WriteString(w, "world");
        WriteString(w, "anyone");
        WriteInt(w, 0); // flags: persistent
        return w.ToArray();
    }

    /// <summary>Jute payload of a setData request.</summary>
    public static byte[] SetDataPayload(string path, byte[] data, int version)
    {
        var w = new MemoryStream();
        WriteString(w, path);
        WriteInt(w, data.Length);
        w.Write(data);
        WriteInt(w, version);
        return w.ToArray();
    }

    private static void WriteInt(MemoryStream w, int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        w.Write(b);
    }

    private static void WriteString(MemoryStream w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        WriteInt(w, bytes.Length);
        w.Write(bytes);
    }

    /// <summary>Sends a request header with an arbitrary opcode and payload; returns its xid.</summary>
    public async Task<int> SendRequestAsync(int opCode, byte[] payload, CancellationToken cancellationToken)
    {
        var body = new byte[8 + payload.Length];
        var xid = Interlocked.Increment(ref _xid);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(0), xid);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), opCode);
        payload.CopyTo(body, 8);
        await SendFrameAsync(body, cancellationToken);
        return xid;
    }

    public async Task SendFrameAsync(byte[] body, CancellationToken cancellationToken)
    {
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        await SendRawAsync(frame, cancellationToken);
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var n = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[n..];
        }
    }

    /// <summary>Reads one frame body; null when the server closed the connection (EOF or reset).</summary>
    public async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[4];
        if (!await ReadExactlyAsync(header, cancellationToken))
        {
            return null;
        }

        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header)];
        return await ReadExactlyAsync(body, cancellationToken) ? body : null;
    }

    /// <summary>True once the server has closed this connection (reads until EOF, discarding frames).</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                if (await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        try
        {
            while (read < buffer.Length)
            {
                var n = await _socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }
        }
        catch (SocketException)
        {
            return false;
        }

        return true;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
