using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Feeds numbered lines (<c>&lt;prefix&gt;-&lt;id:D9&gt;</c>, padded to <see cref="LineBytes"/>) to a netcat source over one
/// TCP connection as fast as it reads them, and counts its <c>OK</c> acknowledgements concurrently. The source
/// acknowledges lines in order and only after their transaction committed, so after <c>n</c> acks the first <c>n</c>
/// lines sent are the acknowledged ones. Runs until stopped, or until the connection breaks (the agent died).
/// </summary>
internal sealed class LineFeeder : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Task _send;
    private readonly Task _receive;
    private readonly CancellationTokenSource _stop = new();
    private long _sent;
    private long _acked;

    private LineFeeder(Socket socket, string prefix, long firstId, long count, int lineBytes)
    {
        _socket = socket;
        FirstId = firstId;
        LineBytes = lineBytes;
        _send = Task.Run(() => SendAsync(prefix, count));
        _receive = Task.Run(ReceiveAsync);
    }

    /// <summary>Id of the first line this feeder sends.</summary>
    public long FirstId { get; }

    public int LineBytes { get; }

    /// <summary>Lines written to the socket so far (not necessarily read by the source).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Lines acknowledged so far.</summary>
    public long Acked => Interlocked.Read(ref _acked);

    /// <summary>Completes when every line was handed to the socket (never for an unbounded feeder).</summary>
    public Task Sending => _send;

    /// <summary>Completes when the connection is closed by the other side or broken.</summary>
    public Task Receiving => _receive;

    /// <summary>Connects and starts feeding <paramref name="count"/> lines (long.MaxValue: until stopped).</summary>
    public static async Task<LineFeeder> StartAsync(int port, string prefix, long firstId, long count = long.MaxValue, int lineBytes = 32)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new LineFeeder(socket, prefix, firstId, count, lineBytes);
    }

    public static string Line(string prefix, long id, int lineBytes)
    {
        var head = prefix + "-" + id.ToString("D9", CultureInfo.InvariantCulture);
        return head.Length >= lineBytes - 1 ? head : head + "-" + new string('x', lineBytes - 2 - head.Length);
    }

    /// <summary>The ids of the acknowledged lines.</summary>
    public IEnumerable<long> AckedIds() => Enumerable.Range(0, (int)Acked).Select(i => FirstId + i);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await Task.WhenAll(_send, _receive).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or IOException or TimeoutException)
        {
            // The connection was broken: that is how a feeder ends when its agent is killed.
        }
        _stop.Dispose();
    }

    private async Task SendAsync(string prefix, long count)
    {
        const int linesPerChunk = 100;
        var text = new StringBuilder();
        try
        {
            for (var id = FirstId; id - FirstId < count && !_stop.IsCancellationRequested;)
            {
                text.Clear();
                var n = (int)Math.Min(linesPerChunk, count - (id - FirstId));
                for (var i = 0; i < n; i++)
                {
                    text.Append(Line(prefix, id + i, LineBytes)).Append('\n');
                }
                var bytes = Encoding.ASCII.GetBytes(text.ToString());
                for (var offset = 0; offset < bytes.Length;)
                {
                    offset += await _socket.SendAsync(bytes.AsMemory(offset), SocketFlags.None, _stop.Token);
                }
                id += n;
                Interlocked.Add(ref _sent, n);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Broken or stopped.
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }
                Interlocked.Add(ref _acked, buffer.AsSpan(0, n).Count((byte)'\n'));
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Broken or stopped.
        }
    }
}
