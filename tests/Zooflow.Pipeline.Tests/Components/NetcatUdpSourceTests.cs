using Xunit;
using System.Net;
using System.Net.Sockets;
using Zooflow.Pipeline.Components.Sources;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>netcatudp (flume.md §1.1: one event per datagram, remoteAddressHeader).</summary>
public sealed class NetcatUdpSourceTests
{
    [Fact]
    public async Task Datagrams_OnePerEvent_BodyUpToNewlineWithSenderHeader()
    {
        await using var source = new NetcatUdpSource("r1", Context("a1.sources.r1.", ("bind", "127.0.0.1"), ("port", "0"), ("remoteAddressHeader", "sender")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, source.BoundPort);

        foreach (var datagram in new[] { "first\n", "second", "third\nignored after newline" })
        {
            await client.SendToAsync(System.Text.Encoding.UTF8.GetBytes(datagram), SocketFlags.None, target, TestContext.Current.CancellationToken);
        }
        await WaitUntilAsync(() => output.Events.Count == 3, "3 datagrams");

        Assert.Equal(["first", "second", "third"], output.Texts());
        var expectedSender = $"/127.0.0.1:{((IPEndPoint)client.LocalEndPoint!).Port}";
        Assert.All(output.Events, e => Assert.Equal(expectedSender, e.Headers["sender"]));
    }

    [Fact]
    public void Construct_WithoutRemoteAddressHeader_UsesFlumeDefaultName()
    {
        var source = new NetcatUdpSource("r1", Context("a1.sources.r1.", ("port", "1")));

        Assert.Equal("REMOTE_ADDRESS", source.RemoteAddressHeader);
    }
}
