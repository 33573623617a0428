using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Zooflow.TestKit;

/// <summary>
/// A loopback TCP proxy in front of a server that injects network faults on demand.
/// </summary>
/// <remarks>
/// <para>Faults, each until its undo (or <see cref="Heal"/>, which undoes them all):</para>
/// <list type="bullet">
/// <item><see cref="DropAll"/> closes every forwarded connection (both ends see the close at once).</item>
/// <item><see cref="Block"/> drops every connection and refuses new ones (accepted and closed at once, like a
/// reset) until <see cref="Unblock"/>.</item>
/// <item><see cref="Blackhole"/> stalls the link, like a network that silently loses every packet: open connections
/// stay open but no byte moves in either direction, and new connections are accepted (the kernel's backlog would
/// accept them anyway) but not connected upstream, so the server never hears of them. <see cref="Heal"/> (or
/// <see cref="Unblackhole"/>) lets the held bytes flow in order, as TCP delivers them after a partition shorter than
/// its retransmission timeout; an endpoint that gave up meanwhile has closed its side, and the proxy passes that on.</item>
/// <item><see cref="HoldClientBytes"/> stops forwarding client→server bytes only (requests stay stuck in the proxy, so
/// they are provably in flight and never reach the server) until <see cref="ReleaseClientBytes"/> or a drop.</item>
/// </list>
/// <para>Thread-safety: every member may be called from any thread.</para>
/// </remarks>
public sealed class FaultProxy : IAsyncDisposable
{
    private const int BufferBytes = 64 * 1024;
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<(Socket Client, Socket Server)> _connections = [];
    private readonly Task _acceptLoop;
    private readonly object _gates = new();
    private volatile bool _blocked;
    private TaskCompletionSource _clientGate = NewOpenGate();
    private TaskCompletionSource _linkGate = NewOpenGate();
    private int _accepted;

    /// <summary>Listens on a fresh loopback port and forwards to <c>127.0.0.1:<paramref name="targetPort"/></c>.</summary>
    public FaultProxy(int targetPort)
        : this(new IPEndPoint(IPAddress.Loopback, targetPort))
    {
    }

    /// <summary>Listens on a fresh loopback port and forwards to <paramref name="target"/>.</summary>
    public FaultProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port the proxy listens on (127.0.0.1).</summary>
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

    /// <summary>True while <see cref="Block"/> or <see cref="Blackhole"/> is in force.</summary>
    public bool IsFaulted
    {
        get
        {
            lock (_gates)
            {
                return _blocked || !_linkGate.Task.IsCompleted;
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

    /// <summary>Stalls the link in both directions (see the remarks).</summary>
    public void Blackhole()
    {
        lock (_gates)
        {
            if (_linkGate.Task.IsCompleted)
            {
                _linkGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Ends a <see cref="Blackhole"/>: the held bytes and connections go through.</summary>
    public void Unblackhole()
    {
        lock (_gates)
        {
            _linkGate.TrySetResult();
        }
    }

    /// <summary>Undoes every fault: unblocks, ends a blackhole, releases held client bytes.</summary>
    public void Heal()
    {
        Unblock();
        Unblackhole();
        ReleaseClientBytes();
    }

    public void HoldClientBytes()
    {
        lock (_gates)
        {
            if (_clientGate.Task.IsCompleted)
            {
                _clientGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void ReleaseClientBytes()
    {
        lock (_gates)
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

    private Task LinkGate
    {
        get
        {
            lock (_gates)
            {
                return _linkGate.Task;
            }
        }
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

            client.NoDelay = true;
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // A blackholed link never reaches the server; a blocked one (set meanwhile) refuses.
            await LinkGate.WaitAsync(_cts.Token);
            if (_blocked)
            {
                throw new SocketException((int)SocketError.ConnectionRefused);
            }

            await server.ConnectAsync(_target, _cts.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }

        lock (_connections)
        {
            _connections.Add((client, server));
        }

        Interlocked.Increment(ref _accepted);
        await Task.WhenAll(PumpAsync(client, server, clientToServer: true), PumpAsync(server, client, clientToServer: false));
    }

    private async Task PumpAsync(Socket from, Socket to, bool clientToServer)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _cts.Token);
                if (n == 0)
                {
                    break;
                }

                Task linkGate;
                Task clientGate;
                lock (_gates)
                {
                    linkGate = _linkGate.Task;
                    clientGate = clientToServer ? _clientGate.Task : Task.CompletedTask;
                }

                await Task.WhenAll(linkGate, clientGate).WaitAsync(_cts.Token);
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

        // A close travels like bytes do: not through a blackhole.
        try
        {
            await LinkGate.WaitAsync(_cts.Token);
        }
        catch (OperationCanceledException)
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
