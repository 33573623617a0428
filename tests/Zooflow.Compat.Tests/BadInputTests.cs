using System.Buffers.Binary;
using Xunit;
using Zooflow.Compat.Tests.Infrastructure;

namespace Zooflow.Compat.Tests;

/// <summary>
/// Bad input over raw sockets: the offending connection is closed (or, where ZooKeeper answers with an error, answered),
/// and every other session keeps working with no state changed.
/// </summary>
public sealed class BadInputTests(ServerPool pool) : IDisposable
{
    /// <summary>ZooKeeper's default jute.maxbuffer: a frame may carry at most this many bytes.</summary>
    private const int MaxFrame = 1_048_575;
    private const int Unimplemented = -6;
    private const int MarshallingError = -5;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _timeout = CreateTimeout();

    private CancellationToken Ct => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    private static CancellationTokenSource CreateTimeout()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        return cts;
    }

    private async Task AssertServerHealthyAsync(ServerProcess server, RawZkClient bystander)
    {
        Assert.Equal(0, await bystander.ExistsAsync("/", watch: false, Ct));
        await using var fresh = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        Assert.NotEqual(0, fresh.SessionId);
        Assert.Equal(0, await fresh.ExistsAsync("/", watch: false, Ct));
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task OversizeFrame_AfterHandshake_ClosesOnlyThatConnection(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using var offender = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        var header = new byte[4 + 4096];
        BinaryPrimitives.WriteInt32BigEndian(header, MaxFrame + 1);
        await offender.SendRawAsync(header, Ct);

        Assert.True(await offender.WaitClosedAsync(CloseTimeout), "connection with an oversize frame was not closed");
        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task OversizeFrame_BeforeHandshake_ClosesConnection(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using var offender = await RawZkClient.ConnectTcpAsync(server.Port, Ct);
        var header = new byte[4 + 100];
        BinaryPrimitives.WriteInt32BigEndian(header, 2_000_000);
        await offender.SendRawAsync(header, Ct);

        Assert.True(await offender.WaitClosedAsync(CloseTimeout), "connection with an oversize connect frame was not closed");
        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task NegativeFrameLength_ClosesConnection(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using var offender = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, -5);
        await offender.SendRawAsync(header, Ct);

        Assert.True(await offender.WaitClosedAsync(CloseTimeout), "connection with a negative frame length was not closed");
        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task FrameAtLimit_SetDataNearlyOneMegabyte_IsAccepted(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        var path = ServerPool.UniqueRoot("big");
        await using var client = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        Assert.Equal(0, await client.CallAsync(1, RawZkClient.CreatePayload(path, []), Ct));
        // header (xid, type) + path + data length + data + version = exactly MaxFrame bytes
        var fixedBytes = 8 + 4 + System.Text.Encoding.UTF8.GetByteCount(path) + 4 + 4;
        var data = new byte[MaxFrame - fixedBytes];
        Assert.Equal(0, await client.CallAsync(5, RawZkClient.SetDataPayload(path, data, -1), Ct));
        Assert.Equal(0, await client.ExistsAsync(path, watch: false, Ct));
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task TruncatedFrame_ClientDisconnects_OtherSessionsUnaffected(ServerKind kind)
    {
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using (var offender = await RawZkClient.OpenSessionAsync(server.Port, Ct))
        {
            var partial = new byte[4 + 10];
            BinaryPrimitives.WriteInt32BigEndian(partial, 100);
            await offender.SendRawAsync(partial, Ct);
        }

        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task UnknownOpcode_AnsweredUnimplementedOrClosed_OtherSessionsUnaffected(ServerKind kind)
    {
        // ZooKeeper 3.8 answers an unknown opcode with UNIMPLEMENTED (-6); issue 2 lets Zooflow close the connection.
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using var offender = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        int? error = null;
        try
        {
            error = await offender.CallAsync(9999, [], Ct);
        }
        catch (IOException)
        {
        }

        if (kind == ServerKind.ZooKeeper)
        {
            Assert.Equal(Unimplemented, error);
        }
        else
        {
            Assert.True(error is null or Unimplemented, $"unknown opcode answered with {error}");
        }

        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task TruncatedPayload_AnsweredMarshallingErrorOrClosed_OtherSessionsUnaffected(ServerKind kind)
    {
        // exists whose path claims 16 bytes but carries 2: ZooKeeper answers MARSHALLINGERROR (-5).
        var server = await pool.GetAsync(kind);
        await using var bystander = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        await using var offender = await RawZkClient.OpenSessionAsync(server.Port, Ct);
        int? error = null;
        try
        {
            error = await offender.CallAsync(RawZkClient.OpExists, [0, 0, 0, 16, (byte)'/', (byte)'a'], Ct);
        }
        catch (IOException)
        {
        }

        if (kind == ServerKind.ZooKeeper)
        {
            Assert.Equal(MarshallingError, error);
        }
        else
        {
            Assert.True(error is null or MarshallingError, $"malformed request answered with {error}");
        }

        await AssertServerHealthyAsync(server, bystander);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task MaxClientCnxns_LimitReached_ExtraConnectionClosedOthersKeepWorking(ServerKind kind)
    {
        // A server of its own: the shared ones run with maxClientCnxns=0 (unlimited).
        await using var server = await ServerProcess.StartAsync(kind, Ct, maxClientCnxns: 3);
        var sessions = new List<RawZkClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                sessions.Add(await OpenWithRetryAsync(server.Port));
            }

            // ZooKeeper may refuse the extra connection at once (even the connect can fail) or close it after accepting.
            RawZkClient? extra = null;
            var refused = false;
            try
            {
                extra = await RawZkClient.ConnectTcpAsync(server.Port, Ct);
                await extra.HandshakeAsync(10000, Ct);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                refused = true;
            }

            try
            {
                Assert.True(refused || await extra!.WaitClosedAsync(CloseTimeout), "connection over maxClientCnxns was served");
            }
            finally
            {
                if (extra is not null)
                {
                    await extra.DisposeAsync();
                }
            }

            foreach (var s in sessions)
            {
                Assert.Equal(0, await s.ExistsAsync("/", watch: false, Ct));
            }
        }
        finally
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Opens a session, retrying briefly: the server may still count the readiness probe's four-letter-word connection
    /// against the per-IP limit for a moment after closing it.
    /// </summary>
    private async Task<RawZkClient> OpenWithRetryAsync(int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RawZkClient.OpenSessionAsync(port, Ct);
            }
            catch (Exception e) when (attempt < 20 && e is IOException or System.Net.Sockets.SocketException)
            {
                await Task.Delay(100, Ct);
            }
        }
    }
}
