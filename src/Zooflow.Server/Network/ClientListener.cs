using System.Net;
using System.Net.Sockets;

namespace Zooflow.Server.Network;

/// <summary>
/// Accepts client TCP connections, enforces <c>maxClientCnxns</c> per client IP (refusing extras with one log line, as
/// ZooKeeper's "Too many connections from ... - max is N"), and runs each <see cref="ClientConnection"/> as its own task.
/// </summary>
internal sealed class ClientListener
{
    private readonly ServerContext _server;
    private readonly Socket _socket;
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private readonly Lock _lock = new();
    private readonly List<Task> _connections = [];

    public ClientListener(ServerContext server)
    {
        _server = server;
        var address = server.Options.ClientPortAddress;
        _socket = ListenSockets.Listen(new IPEndPoint(address, server.Options.ClientPort), 512);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound endpoint (the real port when configured with 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Accepts until <paramref name="cancellationToken"/> fires, then waits for every connection to end.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ServerLog.Listening(_server.Logger, LocalEndPoint);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    continue;
                }

                client.NoDelay = true;
                var address = (client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
                if (!TryAdmit(address, out var count))
                {
                    ServerLog.TooManyConnections(_server.Logger, client.RemoteEndPoint, count, _server.Options.MaxClientCnxns);
                    client.Dispose();
                    continue;
                }

                var connection = new ClientConnection(client, _server);
                lock (_lock)
                {
                    _connections.RemoveAll(t => t.IsCompleted);
                    _connections.Add(RunConnectionAsync(connection, address, cancellationToken));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _socket.Dispose();
            Task[] running;
            lock (_lock)
            {
                running = [.. _connections];
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    private async Task RunConnectionAsync(ClientConnection connection, IPAddress address, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _server.Connections[connection.Id] = connection;
        _server.Stats.ConnectionOpened();
        try
        {
            await connection.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _server.Connections.TryRemove(connection.Id, out _);
            _server.Stats.ConnectionClosed();
            Release(address);
        }
    }

    private bool TryAdmit(IPAddress address, out int count)
    {
        lock (_lock)
        {
            _perAddress.TryGetValue(address, out count);
            var max = _server.Options.MaxClientCnxns;
            if (max > 0 && count >= max)
            {
                return false;
            }

            _perAddress[address] = count + 1;
            return true;
        }
    }

    private void Release(IPAddress address)
    {
        lock (_lock)
        {
            if (_perAddress.TryGetValue(address, out var count))
            {
                if (count <= 1)
                {
                    _perAddress.Remove(address);
                }
                else
                {
                    _perAddress[address] = count - 1;
                }
            }
        }
    }
}
