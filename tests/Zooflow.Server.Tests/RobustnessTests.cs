using System.Buffers.Binary;
using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>Containers/TTL reaping, stuck clients, and garbage input: the server keeps serving everyone else.</summary>
public sealed class RobustnessTests
{
    [Fact]
    public async Task Reaper_ContainerLosesLastChild_ContainerDeleted()
    {
        await using var server = await TestServer.StartAsync(o => o with { ContainerCheckIntervalMs = 50 });
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(ErrorCode.Ok, (await client.CallAsync(OpCode.CreateContainer,
            new CreateRequest("/c", [], Acl.OpenAclUnsafe, CreateMode.Container))).Header.Err);
        await client.CreateAsync("/c/child");
        Assert.Equal(ErrorCode.Ok, (await client.ExistsAsync("/c", watch: true)).Header.Err);

        await client.DeleteAsync("/c/child");

        // ContainerManager deletes the now-empty container; the exists watch reports it.
        var notification = await client.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new WatcherEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/c"), notification.Read<WatcherEvent>());
    }

    [Fact]
    public async Task Reaper_TtlNodeUnmodifiedPastTtl_Deleted()
    {
        await using var server = await TestServer.StartAsync(o => o with { ContainerCheckIntervalMs = 50, ExtendedTypesEnabled = true });
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        Assert.Equal(ErrorCode.Ok, (await client.CallAsync(OpCode.CreateTtl,
            new CreateTtlRequest("/ttl", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 100))).Header.Err);
        Assert.Equal(ErrorCode.Ok, (await client.ExistsAsync("/ttl", watch: true)).Header.Err);

        var notification = await client.ReceiveAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new WatcherEvent(EventType.NodeDeleted, KeeperState.SyncConnected, "/ttl"), notification.Read<WatcherEvent>());
    }

    [Fact]
    public async Task CreateTtl_ExtendedTypesDisabled_Unimplemented()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.EndPoint);

        var reply = await client.CallAsync(OpCode.CreateTtl, new CreateTtlRequest("/ttl", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 100));

        Assert.Equal(ErrorCode.Unimplemented, reply.Header.Err);
        Assert.Equal(ErrorCode.NoNode, (await client.ExistsAsync("/ttl")).Header.Err);
    }

    [Fact]
    public async Task StuckClient_NeverReads_DisconnectedWhileOthersServed()
    {
        await using var server = await TestServer.StartAsync(o => o with { MaxOutgoingBytesPerConnection = 256 * 1024 });
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        await using var stuck = await RawClient.ConnectAsync(server.EndPoint);
        await good.CreateAsync("/big", new string('x', 500_000));

        // 100 replies of 500 KB = 50 MB: far more than socket buffers plus the 256 KB queue limit.
        for (var i = 0; i < 100; i++)
        {
            await stuck.SendAsync(OpCode.GetData, new GetDataRequest("/big", false));
        }

        Assert.Contains("not reading", await server.Logs.WaitForAsync(1007, TimeSpan.FromSeconds(20)), StringComparison.Ordinal);
        Assert.Equal(ErrorCode.Ok, (await good.PingAsync()).Header.Err);
    }

    [Fact]
    public async Task RandomGarbageFrames_ManyConnections_ServerKeepsServingAndTreeUnchanged()
    {
        await using var server = await TestServer.StartAsync();
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        await good.CreateAsync("/stable", "s");
        var random = new Random(1234);

        for (var i = 0; i < 40; i++)
        {
            await using var bad = await RawClient.ConnectAsync(server.EndPoint);
            // A plausible header (xid, a real opcode) followed by random bytes.
            var body = new byte[8 + random.Next(0, 64)];
            random.NextBytes(body);
            BinaryPrimitives.WriteInt32BigEndian(body, i + 1);
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), random.Next(1, 23));
            var frame = new byte[4 + body.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
            body.CopyTo(frame, 4);
            await bad.SendRawAsync(frame);
            await bad.SendRawAsync(frame);
        }

        Assert.Equal(ErrorCode.Ok, (await good.PingAsync()).Header.Err);
        var data = (await good.GetDataAsync("/stable")).Read<GetDataResponse>();
        Assert.Equal("s"u8.ToArray(), data.Data);
        var children = (await good.CallAsync(OpCode.GetChildren, new GetChildrenRequest("/", false))).Read<GetChildrenResponse>();
        Assert.All(children.Children, c => Assert.True(c is "stable" or "zookeeper", $"unexpected child {c}"));
    }
}
