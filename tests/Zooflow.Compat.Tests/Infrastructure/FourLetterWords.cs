using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Sends a four-letter word and reads the whole reply (the server closes the connection after it).</summary>
public static class FourLetterWords
{
    public static async Task<string> SendAsync(int port, string word, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(word), SocketFlags.None, cts.Token);
        var reply = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                break;
            }

            await reply.WriteAsync(buffer.AsMemory(0, n), cts.Token);
        }

        return Encoding.UTF8.GetString(reply.ToArray());
    }
}
