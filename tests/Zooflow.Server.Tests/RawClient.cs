using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Zooflow.Common;
using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>One frame received from the server: its reply header and the bytes after it.</summary>
internal sealed record Reply(ReplyHeader Header, byte[] Body)
{
    public T Read<T>()
        where T : IJuteRecord<T> => JuteSerializer.Deserialize<T>(Body);

    public bool IsNotification => Header.Xid == Xids.Notification;
}

/// <summary>
/// A deliberately tiny ZooKeeper client over a raw socket, speaking the wire protocol with the Jute codec: handshake,
/// requests, replies and notifications in the exact order the server sent them. Tests use it to see the bytes a real
/// client would see, including ordering between notifications and replies.
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private int _xid;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public long SessionId { get; private set; }

    public byte[] Password { get; private set; } = [];

    public int TimeoutMs { get; private set; }

    public static async Task<RawClient> OpenAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new RawClient(socket);
    }

    /// <summary>Opens a connection and completes the handshake (a new session unless one is given).</summary>
    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, int timeoutMs = 30000, long sessionId = 0, byte[]? password = null)
    {
        var client = await OpenAsync(endPoint);
        var response = await client.HandshakeAsync(timeoutMs, sessionId, password);
        Assert.True(response.TimeOutMs > 0, $"handshake refused: {response}");
        return client;
    }

    public async Task<ConnectResponse> HandshakeAsync(int timeoutMs, long sessionId = 0, byte[]? password = null, long lastZxidSeen = 0)
    {
        await SendFrameAsync(new ConnectRequest(0, lastZxidSeen, timeoutMs, sessionId, password ?? new byte[16], false));
        var frame = await ReadFrameAsync() ?? throw new InvalidOperationException("connection closed during handshake");
        var response = JuteSerializer.Deserialize<ConnectResponse>(frame);
        SessionId = response.SessionId;
        Password = response.Password;
        TimeoutMs = response.TimeOutMs;
        return response;
    }

    public int NextXid() => ++_xid;

    public async Task SendFrameAsync<T>(T record)
        where T : IJuteWritable
    {
        using var buffer = new PooledBufferWriter();
        Frame.Write(buffer, record);
        await _stream.WriteAsync(buffer.WrittenMemory);
    }

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Sends a request; returns its xid.</summary>
    public async Task<int> SendAsync(OpCode type, IJuteWritable? body, int? xid = null)
    {
        var id = xid ?? NextXid();
        using var buffer = new PooledBufferWriter();
        Frame.WriteRequest(buffer, new RequestHeader(id, type), body);
        await _stream.WriteAsync(buffer.WrittenMemory);
        return id;
    }

    /// <summary>Reads one frame body, or null when the server closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan? wait = null)
    {
        using var cts = new CancellationTokenSource(wait ?? DefaultWait);
        var prefix = new byte[4];
        if (!await ReadExactlyOrEofAsync(prefix, cts.Token))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        var body = new byte[length];
        if (!await ReadExactlyOrEofAsync(body, cts.Token))
        {
            return null;
        }

        return body;
    }

    private async Task<bool> ReadExactlyOrEofAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    /// <summary>Reads the next reply or notification; fails the test when the connection closes.</summary>
    public async Task<Reply> ReceiveAsync(TimeSpan? wait = null)
    {
        var frame = await ReadFrameAsync(wait) ?? throw new InvalidOperationException("server closed the connection");
        var reader = new JuteReader(frame);
        var header = ReplyHeader.Read(ref reader);
        return new Reply(header, frame[(int)reader.Consumed..]);
    }

    /// <summary>Reads frames until the reply to <paramref name="xid"/>; notifications seen on the way are collected.</summary>
    public async Task<Reply> ReplyToAsync(int xid, List<Reply>? notifications = null)
    {
        while (true)
        {
            var reply = await ReceiveAsync();
            if (reply.Header.Xid == xid)
            {
                return reply;
            }

            if (reply.IsNotification)
            {
                notifications?.Add(reply);
                continue;
            }

            throw new InvalidOperationException($"unexpected frame xid {reply.Header.Xid} while waiting for {xid}");
        }
    }

    public async Task<Reply> CallAsync(OpCode type, IJuteWritable? body) => await ReplyToAsync(await SendAsync(type, body));

    /// <summary>True once the server closed the connection (EOF or reset) within the wait.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan? wait = null)
    {
        try
        {
            while (await ReadFrameAsync(wait ?? DefaultWait) is not null)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public Task<Reply> CreateAsync(string path, string data = "", CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null) =>
        CallAsync(OpCode.Create2, new CreateRequest(path, Encoding.UTF8.GetBytes(data), acl ?? Acl.OpenAclUnsafe, mode));

    public Task<Reply> GetDataAsync(string path, bool watch = false) => CallAsync(OpCode.GetData, new GetDataRequest(path, watch));

    public Task<Reply> ExistsAsync(string path, bool watch = false) => CallAsync(OpCode.Exists, new ExistsRequest(path, watch));

    public Task<Reply> SetDataAsync(string path, string data, int version = -1) =>
        CallAsync(OpCode.SetData, new SetDataRequest(path, Encoding.UTF8.GetBytes(data), version));

    public Task<Reply> DeleteAsync(string path, int version = -1) => CallAsync(OpCode.Delete, new DeleteRequest(path, version));

    public async Task<Reply> PingAsync()
    {
        await SendAsync(OpCode.Ping, null, Xids.Ping);
        return await ReplyToAsync(Xids.Ping);
    }

    /// <summary>Drops the connection without closing the session.</summary>
    public void Drop()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
    }
}
