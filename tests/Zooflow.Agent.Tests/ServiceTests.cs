using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Zooflow.Agent.Configuration;
using Zooflow.Agent.Election;
using Zooflow.Agent.Sinks;
using Zooflow.Agent.Tests.Infrastructure;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Recipes;

namespace Zooflow.Agent.Tests;

/// <summary>The library against a real service, each test against Apache ZooKeeper 3.8 and against Zooflow.</summary>
public sealed class ConfigStoreTests(BackendPool pool)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task Push_VersionsHistoryRollbackTrim_KeepsEveryStep(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        var store = new ConfigStore(client);
        const string path = "/flume/a1";

        var v0 = await store.PushAsync(path, "a1.sources = r1\n", -1, null, 3, Token);
        var v1 = await store.PushAsync(path, "a1.sources = r2\n", null, null, 3, Token);
        var v2 = await store.PushAsync(path, "a1.sources = r3\n", v1.Version, null, 3, Token);

        Assert.Equal([0, 1, 2], new[] { v0.Version, v1.Version, v2.Version });
        Assert.Equal("a1.sources = r3\n", (await store.GetAsync(path, Token))!.Text);
        Assert.Equal([0, 1, 2], (await store.HistoryAsync(path, Token)).Select(e => e.Version));
        Assert.Equal("a1.sources = r1\n", (await store.GetVersionAsync(path, 0, Token))!.Text);

        // Rollback = the old text pushed as a new version; the bound (3) drops the oldest entry.
        var rolled = await store.PushAsync(path, (await store.GetVersionAsync(path, 0, Token))!.Text, v2.Version, null, 3, Token);
        Assert.Equal(3, rolled.Version);
        Assert.Equal("a1.sources = r1\n", (await store.GetAsync(path, Token))!.Text);
        Assert.Equal([1, 2, 3], (await store.HistoryAsync(path, Token)).Select(e => e.Version));
        Assert.Null(await store.GetVersionAsync(path, 0, Token));

        // Flume reads only the data of /flume/a1: the history children do not change it.
        var (data, _) = await client.GetDataAsync(path, cancellationToken: Token);
        Assert.Equal("a1.sources = r1\n", Encoding.UTF8.GetString(data));
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task Push_TwoOperatorsFromTheSameVersion_SecondIsRefusedNotLost(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        await using var alice = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await using var bob = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        var base0 = await new ConfigStore(alice).PushAsync("/flume/a1", "a1.sources = r0\n", -1, null, 20, Token);

        await new ConfigStore(alice).PushAsync("/flume/a1", "a1.sources = alice\n", base0.Version, null, 20, Token);
        var conflict = await Assert.ThrowsAsync<ConfigConflictException>(() =>
            new ConfigStore(bob).PushAsync("/flume/a1", "a1.sources = bob\n", base0.Version, null, 20, Token));

        Assert.Equal(0, conflict.ExpectedVersion);
        Assert.Equal(1, conflict.ActualVersion);
        Assert.Equal("a1.sources = alice\n", (await new ConfigStore(bob).GetAsync("/flume/a1", Token))!.Text);
        Assert.Equal([0, 1], (await new ConfigStore(bob).HistoryAsync("/flume/a1", Token)).Select(e => e.Version));
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task DigestAcl_ReaderWithoutCredentials_UnreadableNamingTheZnode(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        var ops = new ZooKeeperClientOptions { AuthInfo = [("digest", DigestAuth.AuthBytes("ops", "s3cret"))] };
        await using var owner = await ZooKeeperClient.ConnectAsync(connect, ops, Token);
        await new ConfigStore(owner).PushAsync("/flume/a1", "a1.sources = r1\n", -1, [DigestAuth.Acl("ops", "s3cret")], 20, Token);

        await using var stranger = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        var unreadable = Assert.IsType<ConfigObservation.Unreadable>(await ConfigFollower.ReadOnceAsync(stranger, "/flume/a1", Token));
        Assert.Equal(ErrorCode.NoAuth, unreadable.Code);
        Assert.Contains("/flume/a1", unreadable.Message, StringComparison.Ordinal);
        Assert.Contains("--auth digest:user:password", unreadable.Message, StringComparison.Ordinal);
        var history = await Assert.ThrowsAsync<KeeperException>(() => stranger.GetDataAsync(ZnodeLayout.History("/flume/a1", 0), cancellationToken: Token));
        Assert.Equal(ErrorCode.NoAuth, history.Code);

        var present = Assert.IsType<ConfigObservation.Present>(await ConfigFollower.ReadOnceAsync(owner, "/flume/a1", Token));
        Assert.Equal("a1.sources = r1\n", present.Config.Text);
    }
}

public sealed class ProgressStoreTests(BackendPool pool)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task Save_WhileLeader_StoredAndAfterLosingTheElectionNode_Fenced(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        await using var client = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
        await using var latch = new LeaderLatch(client, ZnodeLayout.Election("g", "ticker"), "a1");
        await latch.StartAsync(Token);
        await latch.AwaitLeadershipAsync(Token);
        var store = new ZnodeProgressStore(client, ZnodeLayout.Progress("g", "ticker"), latch.ParticipantPath!);

        Assert.Null(await store.LoadAsync(Token));
        await store.SaveAsync("next=10"u8.ToArray(), Token);
        await store.SaveAsync("next=20"u8.ToArray(), Token);
        Assert.Equal("next=20", Encoding.ASCII.GetString((await store.LoadAsync(Token))!));

        // The election node goes (as when the session expires): a deposed leader's save must not land.
        await client.DeleteAsync(latch.ParticipantPath!, -1, Token);
        var fenced = await Assert.ThrowsAsync<ProgressFencedException>(async () => await store.SaveAsync("next=30"u8.ToArray(), Token));
        Assert.Contains(latch.ParticipantPath!, fenced.Message, StringComparison.Ordinal);
        Assert.Equal("next=20", Encoding.ASCII.GetString((await store.LoadAsync(Token))!));
    }
}

public sealed class ZooKeeperSinkTests(BackendPool pool)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task Process_ManyBatches_KeepsNewestMaxEventsInOrder(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        var (sink, channel) = await StartSinkAsync(connect, "maxEvents = 25", "batchSize = 10");
        try
        {
            await PutAsync(channel, Enumerable.Range(0, 60).Select(i => $"alert-{i:D3}").ToArray());
            while (channel.Size > 0)
            {
                await sink.ProcessAsync(Token);
            }

            await using var reader = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
            var children = ZkPaths.SortBySequence(await reader.GetChildrenAsync("/alerts/web", cancellationToken: Token));
            Assert.Equal(25, children.Count);
            var bodies = new List<string>();
            foreach (var child in children)
            {
                bodies.Add(Encoding.UTF8.GetString((await reader.GetDataAsync("/alerts/web/" + child, cancellationToken: Token)).Data));
            }
            Assert.Equal(Enumerable.Range(35, 25).Select(i => $"alert-{i:D3}"), bodies);
            Assert.All(children, c => Assert.StartsWith(ZooKeeperSink.NodePrefix, c, StringComparison.Ordinal));
        }
        finally
        {
            await sink.StopAsync(Token);
        }
    }

    [Theory]
    [MemberData(nameof(BackendPool.Kinds), MemberType = typeof(BackendPool))]
    public async Task Process_OversizeEvent_RefusedOthersStoredChannelNotWedged(BackendKind kind)
    {
        var (_, connect) = await pool.NewRootAsync(kind);
        var (sink, channel) = await StartSinkAsync(connect, "maxEventBytes = 100", "batchSize = 10");
        try
        {
            await PutAsync(channel, ["small-1", new string('x', 101), "small-2"]);
            Assert.Equal(ProcessStatus.Ready, await sink.ProcessAsync(Token));

            Assert.Equal(0, channel.Size);
            Assert.Equal(1, sink.Refused);
            Assert.Equal(1, sink.Counter.EventWriteFail);
            await using var reader = await ZooKeeperClient.ConnectAsync(connect, cancellationToken: Token);
            var children = ZkPaths.SortBySequence(await reader.GetChildrenAsync("/alerts/web", cancellationToken: Token));
            Assert.Equal(2, children.Count);
            Assert.Equal("small-2", Encoding.UTF8.GetString((await reader.GetDataAsync("/alerts/web/" + children[1], cancellationToken: Token)).Data));
        }
        finally
        {
            await sink.StopAsync(Token);
        }
    }

    [Fact]
    public void Create_WithoutConnectionOrPath_EveryErrorNamed()
    {
        var errors = new List<ConfigError>();
        var context = new ComponentContext("a1.sinks.k1.", new Dictionary<string, ConfigValue> { ["path"] = new("relative/x", "f:3") }, errors, NullLoggerFactory.Instance);
        _ = new ZooKeeperSink("k1", context, null, agentUsesService: false);
        Assert.Contains(errors, e => e.Key == "a1.sinks.k1.path" && e.Message.Contains("not an absolute znode path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "a1.sinks.k1.zkConnString" && e.Message.Contains("is required", StringComparison.Ordinal));
    }

    private static async Task<(ZooKeeperSink Sink, MemoryChannel Channel)> StartSinkAsync(string connect, params string[] extra)
    {
        var properties = new Dictionary<string, ConfigValue>
        {
            ["type"] = new("zookeeper", "t:1"),
            ["path"] = new("/alerts/web", "t:2"),
            ["zkConnString"] = new(connect, "t:3"),
        };
        foreach (var line in extra)
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            properties[parts[0]] = new ConfigValue(parts[1], "t:4");
        }
        var errors = new List<ConfigError>();
        var sink = new ZooKeeperSink("k1", new ComponentContext("a1.sinks.k1.", properties, errors, NullLoggerFactory.Instance), null, agentUsesService: false);
        Assert.Empty(errors);
        var channel = new MemoryChannel("c1", MemoryChannelOptions.Default);
        await channel.StartAsync(Token);
        sink.Channel = channel;
        await sink.StartAsync(Token);
        // The sink's own session connects in the background; wait for it (there is no event to await from outside).
        await Cli.WaitUntilAsync(async () =>
        {
            try
            {
                await PutAsync(channel, []);
                return await sink.ProcessAsync(Token) == ProcessStatus.Backoff;
            }
            catch (EventDeliveryException)
            {
                return false;
            }
        }, "the sink's session");
        return (sink, channel);
    }

    private static async Task PutAsync(IChannel channel, IReadOnlyList<string> bodies)
    {
        if (bodies.Count == 0)
        {
            return;
        }
        await using var tx = channel.BeginTransaction();
        foreach (var body in bodies)
        {
            tx.Put(new Event(Encoding.UTF8.GetBytes(body)));
        }
        await tx.CommitAsync(Token);
    }
}
