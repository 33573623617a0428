using System.Net;
using System.Net.Sockets;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Jepsen.Tests;

/// <summary>The fault proxy the ensemble puts on quorum links: refuse and blackhole behave like the network faults they
/// stand for, and heal restores the link.</summary>
public sealed class FaultProxyTests : IAsyncLifetime
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _accepted = [];
    private Task? _acceptLoop;
    private readonly CancellationTokenSource _cts = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _acceptLoop = Task.Run(async () =>
        {
            // An echo server: every byte comes back.
            while (!_cts.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_cts.Token);
                }
                catch (Exception) when (_cts.IsCancellationRequested)
                {
                    return;
                }

                lock (_accepted)
                {
                    _accepted.Add(socket);
                }

                _ = Task.Run(async () =>
                {
                    var buffer = new byte[1024];
                    try
                    {
                        int n;
                        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _cts.Token)) > 0)
                        {
                            await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _cts.Token);
                        }
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                });
            }
        });
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Dispose();
        lock (_accepted)
        {
            _accepted.ForEach(s => s.Dispose());
        }

        await _acceptLoop!;
        _cts.Dispose();
    }

    private int AcceptedByServer
    {
        get
        {
            lock (_accepted)
            {
                return _accepted.Count;
            }
        }
    }

    private static async Task<Socket> ConnectAsync(FaultProxy proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.Port), Ct);
        return socket;
    }

    /// <summary>Sends one byte and returns the byte echoed, or -1 when the connection was closed or reset.</summary>
    private static async Task<int> EchoAsync(Socket socket, byte value, TimeSpan timeout)
    {
        var buffer = new byte[1];
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(timeout);
        try
        {
            await socket.SendAsync(new[] { value }, SocketFlags.None, Ct);
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return n == 0 ? -1 : buffer[0];
        }
        catch (SocketException)
        {
            return -1;
        }
    }

    [Fact]
    public async Task Blackhole_OpenAndNewConnections_HoldBytesUntilHealedThenDeliverInOrder()
    {
        await using var proxy = new FaultProxy(((IPEndPoint)_listener.LocalEndPoint!).Port);
        using var open = await ConnectAsync(proxy);
        Assert.Equal(1, await EchoAsync(open, 1, TimeSpan.FromSeconds(30)));
        var acceptedBefore = AcceptedByServer;

        proxy.Blackhole();
        using var late = await ConnectAsync(proxy); // accepted by the proxy, not passed on
        await open.SendAsync(new byte[] { 2 }, SocketFlags.None, Ct);
        await late.SendAsync(new byte[] { 3 }, SocketFlags.None, Ct);
        var held = open.ReceiveAsync(new byte[1], SocketFlags.None, Ct).AsTask();

        // Nothing may come back while the link is cut: give it a moment to misbehave (the proxy is in-process).
        await Task.WhenAny(held, Task.Delay(300, Ct));
        Assert.False(held.IsCompleted);
        Assert.Equal(acceptedBefore, AcceptedByServer);
        Assert.True(proxy.IsFaulted);

        proxy.Heal();
        Assert.Equal(1, await held.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        var buffer = new byte[1];
        Assert.Equal(1, await late.ReceiveAsync(buffer, SocketFlags.None, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(3, buffer[0]);
        Assert.False(proxy.IsFaulted);
    }

    [Fact]
    public async Task Block_OpenAndNewConnections_ClosedAtOnceUntilUnblocked()
    {
        await using var proxy = new FaultProxy(((IPEndPoint)_listener.LocalEndPoint!).Port);
        using var open = await ConnectAsync(proxy);
        Assert.Equal(1, await EchoAsync(open, 1, TimeSpan.FromSeconds(30)));

        proxy.Block();

        Assert.Equal(-1, await EchoAsync(open, 2, TimeSpan.FromSeconds(30)));
        using var refused = await ConnectAsync(proxy);
        Assert.Equal(-1, await EchoAsync(refused, 3, TimeSpan.FromSeconds(30)));

        proxy.Heal();
        using var again = await ConnectAsync(proxy);
        Assert.Equal(4, await EchoAsync(again, 4, TimeSpan.FromSeconds(30)));
    }
}
