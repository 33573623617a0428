using System.Net;
using System.Net.Sockets;

namespace Zooflow.TestKit;

/// <summary>Picks a loopback TCP port that is free right now (bind to port 0, read it back, release it).</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>A port <c>p</c> such that <c>p</c> and <c>p + 1</c> are both free right now, for programs that take a
    /// base port and use the next one too (e.g. <c>quickstart --agent-port</c>).</summary>
    public static int NextPair()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)first.LocalEndPoint!).Port;
            if (port == IPEndPoint.MaxPort)
            {
                continue;
            }
            using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                second.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
                // p + 1 is taken; try another p.
            }
        }
    }
}
