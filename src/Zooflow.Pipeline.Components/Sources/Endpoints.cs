using System.Net;
using System.Net.Sockets;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>Resolves Flume's <c>bind</c> / <c>host</c> values (an address or a host name) to a local endpoint.</summary>
internal static class Endpoints
{
    /// <summary>An IPv4 address is preferred when a host name resolves to several (Flume binds Java's first IPv4).</summary>
    public static async Task<IPEndPoint> ResolveAsync(string bind, int port, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(bind, out var address))
        {
            return new IPEndPoint(address, port);
        }
        var addresses = await Dns.GetHostAddressesAsync(bind, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        foreach (var candidate in addresses)
        {
            if (candidate.AddressFamily == AddressFamily.InterNetwork)
            {
                return new IPEndPoint(candidate, port);
            }
        }
        return new IPEndPoint(addresses[0], port);
    }

    /// <summary>Java's <c>InetSocketAddress.toString()</c> for a numeric address: <c>/127.0.0.1:5140</c>.</summary>
    public static string JavaStyle(EndPoint endPoint) => endPoint is IPEndPoint ip
        ? (ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"/{ip.Address}:{ip.Port}" : $"/{ip.Address}:{ip.Port}")
        : endPoint.ToString() ?? "";
}
