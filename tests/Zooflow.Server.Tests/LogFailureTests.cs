using Zooflow.Jute;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server.Tests;

/// <summary>A log that cannot write (disk full): writes fail with an error, reads go on, writes resume afterwards.</summary>
public sealed class LogFailureTests
{
    /// <summary>An in-memory log whose appends fail while <see cref="Failing"/> is set (fault injection, not a mock:
    /// the durable log's own disk-full tests live with the storage code).</summary>
    private sealed class SwitchableTxnLog : ITxnLog
    {
        private long _lastZxid;

        public volatile bool Failing;

        public long LastZxid => Volatile.Read(ref _lastZxid);

        public ValueTask AppendAsync(IReadOnlyList<LoggedTxn> batch, CancellationToken cancellationToken)
        {
            if (Failing)
            {
                throw new IOException("No space left on device");
            }

            Volatile.Write(ref _lastZxid, batch[^1].Header.Zxid);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task AppendFails_WritesGetSystemErrorReadsWork_ThenWritesResume()
    {
        var log = new SwitchableTxnLog();
        await using var server = await TestServer.StartAsync(log: log);
        await using var client = await RawClient.ConnectAsync(server.EndPoint);
        await client.CreateAsync("/before", "b");

        log.Failing = true;
        var failed = await client.CreateAsync("/during");
        var read = await client.GetDataAsync("/before");
        log.Failing = false;
        var resumed = await client.CreateAsync("/after");

        Assert.Equal(ErrorCode.SystemError, failed.Header.Err);
        Assert.Equal(ErrorCode.Ok, read.Header.Err);
        Assert.Equal(ErrorCode.Ok, resumed.Header.Err);
        Assert.Equal(ErrorCode.NoNode, (await client.ExistsAsync("/during")).Header.Err);
        Assert.Contains("SystemError", await server.Logs.WaitForAsync(3002), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendFails_NewSession_HandshakeRefused()
    {
        var log = new SwitchableTxnLog { Failing = true };
        await using var server = await TestServer.StartAsync(log: log);
        await using var client = await RawClient.OpenAsync(server.EndPoint);

        var response = await client.HandshakeAsync(10000);

        Assert.Equal(0, response.TimeOutMs);
        Assert.True(await client.ClosedByServerAsync());
    }
}
