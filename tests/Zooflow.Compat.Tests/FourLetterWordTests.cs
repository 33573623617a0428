using System.Globalization;
using Xunit;
using Zooflow.Compat.Tests.Infrastructure;

namespace Zooflow.Compat.Tests;

/// <summary>Four-letter words as monitoring tools read them: ZooKeeper's wording and key names.</summary>
public sealed class FourLetterWordTests(ServerPool pool)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static Task<string> SendAsync(ServerProcess server, string word) =>
        FourLetterWords.SendAsync(server.Port, word, Timeout, TestContext.Current.CancellationToken);

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task RuokIsroSrstCrst_Answer_ExactZooKeeperText(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        Assert.Equal("imok", await SendAsync(server, "ruok"));
        Assert.Equal("rw", (await SendAsync(server, "isro")).TrimEnd('\n'));
        Assert.Equal("Server stats reset.", (await SendAsync(server, "srst")).TrimEnd('\n'));
        Assert.Equal("Connection stats reset.", (await SendAsync(server, "crst")).TrimEnd('\n'));
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task SrvrAndStat_Standalone_ReportModeZxidAndNodeCount(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        foreach (var word in new[] { "srvr", "stat" })
        {
            var reply = await SendAsync(server, word);
            Assert.Contains("Mode: standalone\n", reply, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^Zxid: 0x[0-9a-f]+$", reply);
            Assert.Matches(@"(?m)^Node count: \d+$", reply);
            Assert.Matches(@"(?m)^Latency min/avg/max: \d+/[0-9.]+/\d+$", reply);
            Assert.Matches(@"(?m)^Connections: \d+$", reply);
            Assert.Matches(@"(?m)^Outstanding: \d+$", reply);
        }

        Assert.Contains("Clients:\n", await SendAsync(server, "stat"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Mntr_Standalone_UsesZooKeeperKeyNames(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var reply = await SendAsync(server, "mntr");
        var keys = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        Assert.Equal("standalone", keys["zk_server_state"]);
        foreach (var key in new[]
        {
            "zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received", "zk_packets_sent",
            "zk_num_alive_connections", "zk_outstanding_requests", "zk_znode_count", "zk_watch_count",
            "zk_ephemerals_count", "zk_approximate_data_size",
        })
        {
            Assert.True(keys.ContainsKey(key), $"mntr lacks {key}:\n{reply}");
        }

        Assert.True(long.Parse(keys["zk_znode_count"], CultureInfo.InvariantCulture) >= 1);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Conf_Standalone_EchoesConfiguredValues(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var reply = await SendAsync(server, "conf");
        Assert.Contains($"clientPort={server.Port}\n", reply, StringComparison.Ordinal);
        Assert.Contains($"tickTime={ServerProcess.TickTime}\n", reply, StringComparison.Ordinal);
        Assert.Contains("maxClientCnxns=0\n", reply, StringComparison.Ordinal);
        Assert.Contains($"minSessionTimeout={2 * ServerProcess.TickTime}\n", reply, StringComparison.Ordinal);
        Assert.Contains($"maxSessionTimeout={20 * ServerProcess.TickTime}\n", reply, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task EnviConsDump_Answer_WithZooKeeperHeadings(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        Assert.StartsWith("Environment:\n", await SendAsync(server, "envi"), StringComparison.Ordinal);
        await using var client = await RawZkClient.OpenSessionAsync(server.Port, TestContext.Current.CancellationToken);
        Assert.Contains("/127.0.0.1:", await SendAsync(server, "cons"), StringComparison.Ordinal);
        Assert.Contains("Sessions with Ephemerals", await SendAsync(server, "dump"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task WatchWords_WatchSet_ListThePathAndSession(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var path = ServerPool.UniqueRoot("w4");
        await using var client = await RawZkClient.OpenSessionAsync(server.Port, TestContext.Current.CancellationToken);
        Assert.Equal(-101, await client.ExistsAsync(path, watch: true, TestContext.Current.CancellationToken));
        var session = "0x" + client.SessionId.ToString("x", CultureInfo.InvariantCulture);

        Assert.Matches(@"\d+ connections watching \d+ paths\nTotal watches:\d+", await SendAsync(server, "wchs"));
        var wchc = await SendAsync(server, "wchc");
        Assert.Contains(session + "\n\t" + path + "\n", wchc, StringComparison.Ordinal);
        var wchp = await SendAsync(server, "wchp");
        Assert.Contains(path + "\n\t" + session + "\n", wchp, StringComparison.Ordinal);
    }
}
