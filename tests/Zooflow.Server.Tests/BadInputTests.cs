using System.Buffers.Binary;
using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>Bad input closes only the offending connection, with one log line, and changes nothing.</summary>
public sealed class BadInputTests
{
    private static byte[] Prefix(int length)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, length);
        return bytes;
    }

    [Fact]
    public async Task OversizedFrame_ClosesOnlyThatConnection_TreeUnchanged()
    {
        await using var server = await TestServer.StartAsync(o => o with { JuteMaxBufferBytes = 4096 });
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        await using var bad = await RawClient.ConnectAsync(server.EndPoint);
        await good.CreateAsync("/keep", "k");

        await bad.SendAsync(OpCode.Create, new CreateRequest("/big", new byte[5000], Acl.OpenAclUnsafe, CreateMode.Persistent));

        Assert.True(await bad.ClosedByServerAsync());
        var line = await server.Logs.WaitForAsync(1003);
        Assert.Contains("4096", line, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", line, StringComparison.Ordinal);
        Assert.Equal(1, server.Logs.Count(1003));
        Assert.Equal(ErrorCode.NoNode, (await good.ExistsAsync("/big")).Header.Err);
        Assert.Equal(ErrorCode.Ok, (await good.ExistsAsync("/keep")).Header.Err);
    }

    [Fact]
    public async Task NegativeLength_ClosesConnection()
    {
        await using var server = await TestServer.StartAsync();
        await using var bad = await RawClient.ConnectAsync(server.EndPoint);

        await bad.SendRawAsync(Prefix(-5));

        Assert.True(await bad.ClosedByServerAsync());
        await server.Logs.WaitForAsync(1003);
    }

    [Fact]
    public async Task MalformedFrame_ClosesOnlyThatConnection()
    {
        await using var server = await TestServer.StartAsync();
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        await using var bad = await RawClient.ConnectAsync(server.EndPoint);

        // A create whose path length claims 1000 bytes inside a 20-byte frame.
        var frame = new byte[4 + 20];
        BinaryPrimitives.WriteInt32BigEndian(frame, 20);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), 1);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), (int)OpCode.Create);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(12), 1000);
        await bad.SendRawAsync(frame);

        Assert.True(await bad.ClosedByServerAsync());
        Assert.Contains("127.0.0.1", await server.Logs.WaitForAsync(1004), StringComparison.Ordinal);
        Assert.Equal(ErrorCode.Ok, (await good.PingAsync()).Header.Err);
        Assert.Equal(ErrorCode.NoNode, (await good.ExistsAsync("/zzz")).Header.Err);
    }

    [Fact]
    public async Task TruncatedFrame_ThenEof_LoggedAndOthersUnaffected()
    {
        await using var server = await TestServer.StartAsync();
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        var bad = await RawClient.ConnectAsync(server.EndPoint);

        await bad.SendRawAsync([.. Prefix(100), 1, 2, 3]);
        await bad.DisposeAsync();

        await server.Logs.WaitForAsync(1006);
        Assert.Equal(ErrorCode.Ok, (await good.PingAsync()).Header.Err);
    }

    [Fact]
    public async Task UnknownOpcode_RepliesUnimplementedAndCloses()
    {
        await using var server = await TestServer.StartAsync();
        await using var good = await RawClient.ConnectAsync(server.EndPoint);
        await using var bad = await RawClient.ConnectAsync(server.EndPoint);

        var xid = await bad.SendAsync((OpCode)77, null);

        var reply = await bad.ReceiveAsync();
        Assert.Equal(xid, reply.Header.Xid);
        Assert.Equal(ErrorCode.Unimplemented, reply.Header.Err);
        Assert.True(await bad.ClosedByServerAsync());
        Assert.Contains("77", await server.Logs.WaitForAsync(1005), StringComparison.Ordinal);
        Assert.Equal(ErrorCode.Ok, (await good.PingAsync()).Header.Err);
    }

    [Fact]
    public async Task MaxClientCnxns_ExtraConnectionFromSameIp_Refused()
    {
        await using var server = await TestServer.StartAsync(o => o with { MaxClientCnxns = 2 });
        await using var one = await RawClient.ConnectAsync(server.EndPoint);
        await using var two = await RawClient.ConnectAsync(server.EndPoint);

        await using var three = await RawClient.OpenAsync(server.EndPoint);

        Assert.True(await three.ClosedByServerAsync());
        Assert.Contains("maxClientCnxns=2", await server.Logs.WaitForAsync(1002), StringComparison.Ordinal);
        Assert.Equal(ErrorCode.Ok, (await one.PingAsync()).Header.Err);
    }
}
