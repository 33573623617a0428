using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Zooflow.Client.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of a server that can cut connections on demand: <see cref="DropAll"/> closes every
/// forwarded connection, <see cref="Block"/> makes it refuse new ones (accept and close at once) until
/// <see cref="Unblock"/>, and <see cref="HoldClientBytes"/> stops forwarding client→server bytes (requests stay stuck in
/// the proxy, so they are provably in flight and never reach the server) until released or dropped.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<(Socket Client, Socket Server)> _connections = [];
    private readonly Task _acceptLoop;
    private volatile bool _blocked;
    private TaskCompletionSource _clientGate = NewOpenGate();
    private int _accepted;

    public FaultProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public string ConnectString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Connections forwarded so far.</summary>
    public int AcceptedCount => Volatile.Read(ref _accepted);

    public int OpenCount
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    public void DropAll()
    {
        List<(Socket, Socket)> all;
        lock (_connections)
        {
            all = [.. _connections];
            _connections.Clear();
        }

        foreach (var (client, server) in all)
        {
            client.Dispose();
            server.Dispose();
        }
    }

    public void Block()
    {
        _blocked = true;
        DropAll();
    }

    public void Unblock() => _blocked = false;

    public void HoldClientBytes()
    {
        lock (_connections)
        {
            if (_clientGate.Task.IsCompleted)
            {
                _clientGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void ReleaseClientBytes()
    {
        lock (_connections)
        {
            _clientGate.TrySetResult();
        }
    }

    private static TaskCompletionSource NewOpenGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_cts.Token);
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (_blocked)
            {
                client.Dispose();
                continue;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _cts.Token);
            }
            catch (Exception) when (!_cts.IsCancellationRequested)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add((client, server));
            }

            Interlocked.Increment(ref _accepted);
            _ = PumpAsync(client, server, gated: true);
            _ = PumpAsync(server, client, gated: false);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool gated)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _cts.Token);
                if (n == 0)
                {
                    break;
                }

                if (gated)
                {
                    Task gate;
                    lock (_connections)
                    {
                        gate = _clientGate.Task;
                    }

                    await gate.WaitAsync(_cts.Token);
                }

                var sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _cts.Token);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        lock (_connections)
        {
            _connections.RemoveAll(c => c.Client == from || c.Server == from || c.Client == to || c.Server == to);
        }

        from.Dispose();
        to.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Dispose();
        DropAll();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _cts.Dispose();
    }
}
