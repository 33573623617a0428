using System.Text;
using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>Requests over a real socket, checked against ZooKeeper 3.8 behaviour (FinalRequestProcessor).</summary>
public sealed class OperationTests
{
    [Fact]
    public async Task Handshake_NewSession_ReturnsIdPasswordAndNegotiatedTimeout()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.OpenAsync(server.EndPoint);

        // Asks for 1 ms: clamped up to minSessionTimeout = 2 x tickTime (ZooKeeper's default bounds).
        var response = await client.HandshakeAsync(1);

        Assert.Equal(0, response.ProtocolVersion);
        Assert.Equal(2 * server.Options.TickTimeMs, response.TimeOutMs);
        Assert.NotEqual(0, response.SessionId);
        Assert.Equal(16, response.Password.Length);
    }

    [Fact]
    public async Task Ping_AfterHandshake_RepliesWithPingXid()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        var reply = await client.PingAsync();

        Assert.Equal(Xids.Ping, reply.Header.Xid);
        Assert.Equal(ErrorCode.Ok, reply.Header.Err);
    }

    [Fact]
    public async Task CreateGetSetDelete_RoundTrip_StatFieldsFollowZooKeeper()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        var created = await client.CreateAsync("/a", "one");
        Assert.Equal(ErrorCode.Ok, created.Header.Err);
        var create2 = created.Read<Create2Response>();
        Assert.Equal("/a", create2.Path);
        Assert.Equal(created.Header.Zxid, create2.Stat.Czxid);
        Assert.Equal(create2.Stat.Czxid, create2.Stat.Mzxid);
        Assert.Equal(0, create2.Stat.Version);
        Assert.Equal(3, create2.Stat.DataLength);

        var got = (await client.GetDataAsync("/a")).Read<GetDataResponse>();
        Assert.Equal("one", Encoding.UTF8.GetString(got.Data));
        Assert.Equal(create2.Stat, got.Stat);

        var set = await client.SetDataAsync("/a", "two!", 0);
        Assert.Equal(ErrorCode.Ok, set.Header.Err);
        var setStat = set.Read<StatResponse>().Stat;
        Assert.Equal(1, setStat.Version);
        Assert.Equal(set.Header.Zxid, setStat.Mzxid);
        Assert.Equal(create2.Stat.Czxid, setStat.Czxid);
        Assert.Equal(4, setStat.DataLength);

        var badVersion = await client.SetDataAsync("/a", "x", 0);
        Assert.Equal(ErrorCode.BadVersion, badVersion.Header.Err);
        Assert.Empty(badVersion.Body);

        var exists = await client.CreateAsync("/a");
        Assert.Equal(ErrorCode.NodeExists, exists.Header.Err);

        Assert.Equal(ErrorCode.Ok, (await client.DeleteAsync("/a", 1)).Header.Err);
        Assert.Equal(ErrorCode.NoNode, (await client.GetDataAsync("/a")).Header.Err);
        Assert.Equal(ErrorCode.NoNode, (await client.ExistsAsync("/a")).Header.Err);
    }

    [Fact]
    public async Task Create_SequentialUnderParent_AppendsTenDigitCounter()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/q");

        var first = (await client.CreateAsync("/q/n-", mode: CreateMode.PersistentSequential)).Read<Create2Response>();
        var second = (await client.CreateAsync("/q/n-", mode: CreateMode.PersistentSequential)).Read<Create2Response>();

        Assert.Equal("/q/n-0000000000", first.Path);
        Assert.Equal("/q/n-0000000001", second.Path);
        var children = (await client.CallAsync(OpCode.GetChildren2, new GetChildrenRequest("/q", false))).Read<GetChildren2Response>();
        Assert.Equal(["n-0000000000", "n-0000000001"], children.Children);
        Assert.Equal(2, children.Stat.NumChildren);
    }

    [Fact]
    public async Task Watch_DataChangedOnSameConnection_NotificationArrivesBeforeReply()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/w", "0");
        Assert.Equal(ErrorCode.Ok, (await client.GetDataAsync("/w", watch: true)).Header.Err);

        var xid = await client.SendAsync(OpCode.SetData, new SetDataRequest("/w", [1], -1));

        // ZooKeeper's guarantee: the event comes before the reply that reflects the change.
        var first = await client.ReceiveAsync();
        Assert.True(first.IsNotification, $"expected the notification first, got xid {first.Header.Xid}");
        var watcherEvent = first.Read<WatcherEvent>();
        Assert.Equal(new WatcherEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/w"), watcherEvent);
        var second = await client.ReceiveAsync();
        Assert.Equal(xid, second.Header.Xid);
    }

    [Fact]
    public async Task Multi_FailingCheck_AppliesNothingAndReportsPerOpResults()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/m");

        var reply = await client.CallAsync(OpCode.Multi, new MultiRequest([
            new MultiOp(OpCode.Create, new CreateRequest("/m/x", [], Acl.OpenAclUnsafe, CreateMode.Persistent)),
            new MultiOp(OpCode.Check, new CheckVersionRequest("/m", 7)),
        ]));

        Assert.Equal(ErrorCode.Ok, reply.Header.Err);
        var results = reply.Read<MultiResponse>().Results;
        Assert.Equal(2, results.Count);
        Assert.Equal(OpCode.Error, results[0].Type);
        Assert.Equal(OpCode.Error, results[1].Type);
        Assert.Equal(ErrorCode.BadVersion, ((ErrorResponse)results[1].Response!).Err);
        Assert.Equal(ErrorCode.NoNode, (await client.ExistsAsync("/m/x")).Header.Err);
    }

    [Fact]
    public async Task Multi_AllSucceed_AppliesAtomically()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        var reply = await client.CallAsync(OpCode.Multi, new MultiRequest([
            new MultiOp(OpCode.Create, new CreateRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.Persistent)),
            new MultiOp(OpCode.SetData, new SetDataRequest("/t", [9], 0)),
        ]));

        var results = reply.Read<MultiResponse>().Results;
        Assert.Equal(OpCode.Create, results[0].Type);
        Assert.Equal(OpCode.SetData, results[1].Type);
        var stat = (await client.ExistsAsync("/t")).Read<StatResponse>().Stat;
        Assert.Equal(1, stat.Version);
    }

    [Fact]
    public async Task Auth_DigestThenAcl_OnlyAuthenticatedSessionReads()
    {
        await using var server = await TestServer.StartAsync();
        await using var owner = await RawClient.ConnectAsync(server.EndPoint);
        await using var stranger = await RawClient.ConnectAsync(server.EndPoint);

        await owner.SendAsync(OpCode.Auth, new AuthPacket(0, "digest", Encoding.UTF8.GetBytes("alice:secret")), Xids.Auth);
        Assert.Equal(ErrorCode.Ok, (await owner.ReplyToAsync(Xids.Auth)).Header.Err);
        Assert.Equal(ErrorCode.Ok, (await owner.CreateAsync("/private", "x", acl: Acl.CreatorAllAcl)).Header.Err);

        Assert.Equal(ErrorCode.Ok, (await owner.GetDataAsync("/private")).Header.Err);
        Assert.Equal(ErrorCode.NoAuth, (await stranger.GetDataAsync("/private")).Header.Err);
        var who = (await owner.CallAsync(OpCode.WhoAmI, null)).Read<WhoAmIResponse>();
        Assert.Contains(new ClientInfo("digest", "alice"), who.ClientInfo);
    }

    [Fact]
    public async Task Auth_UnknownScheme_RepliesAuthFailedAndCloses()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        await client.SendAsync(OpCode.Auth, new AuthPacket(0, "kerberos", [1, 2]), Xids.Auth);

        var reply = await client.ReceiveAsync();
        Assert.Equal(Xids.Auth, reply.Header.Xid);
        Assert.Equal(ErrorCode.AuthFailed, reply.Header.Err);
        Assert.True(await client.ClosedByServerAsync());
    }

    [Fact]
    public async Task AddWatch_PersistentRecursive_FiresForDescendantsRepeatedly()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/r");
        var add = await client.CallAsync(OpCode.AddWatch, new AddWatchRequest("/r", AddWatchMode.PersistentRecursive));
        Assert.Equal(ErrorCode.Ok, add.Header.Err);

        var events = new List<Reply>();
        await client.ReplyToAsync(await client.SendAsync(OpCode.Create, new CreateRequest("/r/a", [], Acl.OpenAclUnsafe, CreateMode.Persistent)), events);
        await client.ReplyToAsync(await client.SendAsync(OpCode.SetData, new SetDataRequest("/r/a", [1], -1)), events);

        Assert.Equal(
            [new WatcherEvent(EventType.NodeCreated, KeeperState.SyncConnected, "/r/a"), new WatcherEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/r/a")],
            events.Select(e => e.Read<WatcherEvent>()));
        Assert.Equal(ErrorCode.Ok, (await client.CallAsync(OpCode.RemoveWatches, new RemoveWatchesRequest("/r", WatcherType.Any))).Header.Err);
        Assert.Equal(ErrorCode.NoWatcher, (await client.CallAsync(OpCode.CheckWatches, new RemoveWatchesRequest("/r", WatcherType.Any))).Header.Err);
    }

    [Fact]
    public async Task MultiRead_MixedResults_EachOpAnsweredOnItsOwn()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/mr", "d");

        var reply = await client.CallAsync(OpCode.MultiRead, new MultiRequest([
            new MultiOp(OpCode.GetData, new GetDataRequest("/mr", false)),
            new MultiOp(OpCode.GetChildren, new GetChildrenRequest("/missing", false)),
        ]));

        var results = reply.Read<MultiResponse>().Results;
        Assert.Equal("d", Encoding.UTF8.GetString(((GetDataResponse)results[0].Response!).Data));
        Assert.Equal(ErrorCode.NoNode, ((ErrorResponse)results[1].Response!).Err);
    }

    [Fact]
    public async Task Reads_FromOtherSession_DoNotWaitAndSeeCommittedState()
    {
        await using var server = await TestServer.StartAsync();
        await using var writer = await RawClient.ConnectAsync(server.EndPoint);
        await using var reader = await RawClient.ConnectAsync(server.EndPoint);
        await writer.CreateAsync("/seen", "v");

        var reply = await reader.GetDataAsync("/seen");

        Assert.Equal("v", Encoding.UTF8.GetString(reply.Read<GetDataResponse>().Data));
        Assert.True(reply.Header.Zxid >= 1);
    }

    [Fact]
    public async Task PipelinedRequests_SameSession_AnsweredInOrder()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        var xids = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            xids.Add(await client.SendAsync(OpCode.Create, new CreateRequest($"/p{i}", [], Acl.OpenAclUnsafe, CreateMode.Persistent)));
            xids.Add(await client.SendAsync(OpCode.Exists, new ExistsRequest($"/p{i}", false)));
        }

        var seen = new List<int>();
        for (var i = 0; i < xids.Count; i++)
        {
            var reply = await client.ReceiveAsync();
            Assert.Equal(ErrorCode.Ok, reply.Header.Err);
            seen.Add(reply.Header.Xid);
        }

        Assert.Equal(xids, seen);
    }
}
