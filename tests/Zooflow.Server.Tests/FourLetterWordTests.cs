using System.Net;
using System.Net.Sockets;
using System.Text;
using Zooflow.Server.Admin;

namespace Zooflow.Server.Tests;

/// <summary>Four-letter words, output shaped like ZooKeeper 3.8's command classes, honouring the whitelist.</summary>
public sealed class FourLetterWordTests
{
    private static async Task<string> AskAsync(IPEndPoint endPoint, string command)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var output = new MemoryStream();
        await stream.CopyToAsync(output, cts.Token);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static Task<TestServer> StartAllowingAllAsync() =>
        TestServer.StartAsync(o => o with { FourLetterWordWhitelist = new HashSet<string>(FourLetterWords.All) });

    [Fact]
    public async Task Srvr_DefaultWhitelist_ReportsVersionModeAndNodeCount()
    {
        await using var server = await TestServer.StartAsync();

        var text = await AskAsync(server.EndPoint, "srvr");

        Assert.StartsWith("Zookeeper version: 3.8.", text, StringComparison.Ordinal);
        Assert.Contains("\nMode: standalone\n", text, StringComparison.Ordinal);
        Assert.Contains("Node count: ", text, StringComparison.Ordinal);
        Assert.Contains("Latency min/avg/max: ", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ruok")]
    [InlineData("stat")]
    [InlineData("mntr")]
    [InlineData("dump")]
    public async Task Command_NotWhitelisted_AnswersLikeZooKeeper(string command)
    {
        await using var server = await TestServer.StartAsync();

        var text = await AskAsync(server.EndPoint, command);

        Assert.Equal(command + " is not executed because it is not in the whitelist.\n", text);
    }

    [Fact]
    public async Task Ruok_Whitelisted_AnswersImok()
    {
        await using var server = await StartAllowingAllAsync();

        Assert.Equal("imok", await AskAsync(server.EndPoint, "ruok"));
    }

    [Fact]
    public async Task Mntr_Whitelisted_ReportsZooKeeperKeys()
    {
        await using var server = await StartAllowingAllAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/x", mode: Jute.CreateMode.Ephemeral);

        var text = await AskAsync(server.EndPoint, "mntr");

        var values = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]);
        foreach (var key in new[]
                 {
                     "zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received", "zk_packets_sent",
                     "zk_num_alive_connections", "zk_outstanding_requests", "zk_server_state", "zk_znode_count", "zk_watch_count",
                     "zk_ephemerals_count", "zk_approximate_data_size", "zk_open_file_descriptor_count", "zk_max_file_descriptor_count",
                 })
        {
            Assert.True(values.ContainsKey(key), $"missing {key} in:\n{text}");
        }

        Assert.Equal("standalone", values["zk_server_state"]);
        Assert.Equal("1", values["zk_ephemerals_count"]);
    }

    [Fact]
    public async Task StatAndCons_WithClient_ListTheConnection()
    {
        await using var server = await StartAllowingAllAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.PingAsync();

        var stat = await AskAsync(server.EndPoint, "stat");
        var cons = await AskAsync(server.EndPoint, "cons");

        Assert.Contains("Clients:\n /127.0.0.1:", stat, StringComparison.Ordinal);
        Assert.Contains($",sid=0x{client.SessionId:x},", cons, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchCommands_WithWatch_ListSessionAndPath()
    {
        await using var server = await StartAllowingAllAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/watched");
        await client.GetDataAsync("/watched", watch: true);

        Assert.Equal("1 connections watching 1 paths\nTotal watches:1\n", await AskAsync(server.EndPoint, "wchs"));
        Assert.Equal($"0x{client.SessionId:x}\n\t/watched\n\n", await AskAsync(server.EndPoint, "wchc"));
        Assert.Equal($"/watched\n\t0x{client.SessionId:x}\n\n", await AskAsync(server.EndPoint, "wchp"));
    }

    [Fact]
    public async Task ConfEnviIsroDumpResets_Whitelisted_Answer()
    {
        await using var server = await StartAllowingAllAsync();

        Assert.Contains("tickTime=200\n", await AskAsync(server.EndPoint, "conf"), StringComparison.Ordinal);
        Assert.StartsWith("Environment:\nzookeeper.version=3.8.", await AskAsync(server.EndPoint, "envi"), StringComparison.Ordinal);
        Assert.Equal("rw", await AskAsync(server.EndPoint, "isro"));
        Assert.StartsWith("SessionTracker dump:\n", await AskAsync(server.EndPoint, "dump"), StringComparison.Ordinal);
        Assert.Equal("Server stats reset.\n", await AskAsync(server.EndPoint, "srst"));
        Assert.Equal("Connection stats reset.\n", await AskAsync(server.EndPoint, "crst"));
    }
}
