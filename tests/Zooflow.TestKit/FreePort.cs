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
}
