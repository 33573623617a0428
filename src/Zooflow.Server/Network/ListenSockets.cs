using System.Net;
using System.Net.Sockets;

namespace Zooflow.Server.Network;

/// <summary>Listening sockets with Java's <c>setReuseAddress(true)</c> semantics.</summary>
internal static class ListenSockets
{
    private const int SolSocket = 1; // Linux <sys/socket.h>
    private const int SoReuseAddr = 2;

    /// <summary>
    /// Binds and listens on <paramref name="endpoint"/>. On Linux only SO_REUSEADDR is set: a restarted server may
    /// rebind a port whose old connections linger in TIME_WAIT, but a second live server on the same port fails with
    /// "Address already in use". .NET's <see cref="SocketOptionName.ReuseAddress"/> would also set SO_REUSEPORT there,
    /// which lets two processes listen on one port and splits connections between them.
    /// </summary>
    /// <exception cref="SocketException">The port is taken.</exception>
    public static Socket Listen(IPEndPoint endpoint, int backlog)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            }

            socket.Bind(endpoint);
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
