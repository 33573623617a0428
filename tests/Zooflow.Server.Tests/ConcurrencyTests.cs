using Zooflow.Jute;

namespace Zooflow.Server.Tests;

/// <summary>Many sessions pipelining at once through small queues: every request answered, in each client's order.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task PipelinedWritersAndReaders_TinyQueues_AllAnsweredInClientOrder()
    {
        // Queues far smaller than the load, so the back-pressure paths (full inbox, in-flight limit) are exercised.
        await using var server = await TestServer.StartAsync(o => o with { MaxInFlightTxns = 4, MaxQueuedRequests = 8 });
        await using var setup = await RawClient.ConnectAsync(server.EndPoint);
        await setup.CreateAsync("/load");
        const int clients = 4;
        const int perClient = 150;

        async Task RunClientAsync(int c)
        {
            await using var client = await RawClient.ConnectAsync(server.EndPoint);
            var xids = new List<int>();
            var sending = Task.Run(async () =>
            {
                for (var i = 0; i < perClient; i++)
                {
                    xids.Add(await client.SendAsync(OpCode.Create, new CreateRequest($"/load/c{c}-{i}", [], Acl.OpenAclUnsafe, CreateMode.Persistent)));
                    xids.Add(await client.SendAsync(OpCode.Exists, new ExistsRequest($"/load/c{c}-{i}", false)));
                }
            });
            var seen = new List<int>();
            for (var i = 0; i < 2 * perClient; i++)
            {
                var reply = await client.ReceiveAsync(TimeSpan.FromSeconds(30));
                // The exists right behind its create sees it: reads wait for the session's own earlier writes.
                Assert.Equal(ErrorCode.Ok, reply.Header.Err);
                seen.Add(reply.Header.Xid);
            }

            await sending;
            Assert.Equal(xids, seen);
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(RunClientAsync));

        var count = (await setup.CallAsync(OpCode.GetAllChildrenNumber, new GetAllChildrenNumberRequest("/load"))).Read<GetAllChildrenNumberResponse>();
        Assert.Equal(clients * perClient, count.TotalNumber);
    }

    [Fact]
    public async Task WatchOnOneSession_WriteOnAnother_EventBeforeAnyReplyShowingTheChange()
    {
        await using var server = await TestServer.StartAsync();
        await using var watcher = await RawClient.ConnectAsync(server.EndPoint);
        await using var writer = await RawClient.ConnectAsync(server.EndPoint);
        await writer.CreateAsync("/o", "0");
        await watcher.GetDataAsync("/o", watch: true);

        await writer.SetDataAsync("/o", "1");
        var xid = await watcher.SendAsync(OpCode.GetData, new GetDataRequest("/o", false));

        // The watcher's read is answered after the change was applied, so the event must already be ahead of it.
        var first = await watcher.ReceiveAsync();
        Assert.True(first.IsNotification);
        var reply = await watcher.ReceiveAsync();
        Assert.Equal(xid, reply.Header.Xid);
        Assert.Equal("1"u8.ToArray(), reply.Read<GetDataResponse>().Data);
    }
}
