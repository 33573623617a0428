using System.Globalization;
using System.Text;
using Xunit;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.TestKit.Servers;

namespace Zooflow.Ensemble.Tests;

/// <summary>Helpers shared by the ensemble tests: start, ask <c>mntr</c>, wait on observable conditions, retry writes
/// across fail-overs.</summary>
internal static class Ensembles
{
    /// <summary>Upper bound for one test, start-up included (ZooKeeper's JVMs start slowly on a loaded machine).</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(3);

    /// <summary>How long a fail-over, a rejoin or a catch-up may take before a test fails.</summary>
    public static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(45);

    public static CancellationTokenSource Timeout()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TestTimeout);
        return cts;
    }

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(byte[] data) => Encoding.UTF8.GetString(data);

    /// <summary>The member's <c>mntr</c> answer as key → value (keys without the <c>zk_</c> prefix).</summary>
    public static async Task<Dictionary<string, string>> MntrAsync(IEnsemble ensemble, int id, CancellationToken cancellationToken)
    {
        var reply = await TestServer.FourLetterWordAsync(ensemble.ClientPort(id), "mntr", cancellationToken);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in reply.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab > 3 && line.StartsWith("zk_", StringComparison.Ordinal))
            {
                values[line[3..tab]] = line[(tab + 1)..].Trim();
            }
        }

        return values;
    }

    /// <summary>Polls <paramref name="condition"/> until true; fails naming <paramref name="what"/> and the last state.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"not within {timeout.TotalSeconds:0} s: {what()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The leader once exactly one member says so.</summary>
    public static async Task<int> WaitLeaderAsync(IEnsemble ensemble, CancellationToken cancellationToken, int? not = null)
    {
        int? leader = null;
        IReadOnlyList<MemberStatus> last = [];
        await WaitUntilAsync(async () =>
        {
            last = await ensemble.StatusAllAsync(cancellationToken);
            leader = await ensemble.FindLeaderAsync(cancellationToken);
            return leader is { } l && l != not;
        }, RecoveryTimeout, () => "one leader" + (not is { } n ? $" other than {n}" : "") + "; status " + string.Join(' ', last), cancellationToken);
        return leader!.Value;
    }

    public static async Task<ZooKeeperClient> ConnectAsync(string connectString, CancellationToken cancellationToken, TimeSpan? sessionTimeout = null) =>
        await ZooKeeperClient.ConnectAsync(connectString, new ZooKeeperClientOptions
        {
            SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(6),
            ConnectTimeout = TimeSpan.FromSeconds(2),
        }, cancellationToken);

    /// <summary>Runs an idempotent operation until it is answered, across ConnectionLoss (a fail-over in progress).</summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + RecoveryTimeout;
        while (true)
        {
            try
            {
                return await operation();
            }
            catch (KeeperException e) when (e.Code is ErrorCode.ConnectionLoss or ErrorCode.OperationTimeout && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Creates <paramref name="path"/>, retrying across fail-overs; a retry that finds the node (the lost answer
    /// was a success) counts as created.</summary>
    public static Task CreateRetryingAsync(ZooKeeperClient client, string path, string data, CancellationToken cancellationToken) =>
        RetryAsync(async () =>
        {
            try
            {
                await client.CreateAsync(path, Bytes(data), cancellationToken: cancellationToken);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
            {
            }

            return true;
        }, cancellationToken);

    /// <summary>Reads <paramref name="path"/> through member <paramref name="id"/> alone after a <c>sync</c>.</summary>
    public static async Task<string?> SyncReadAsync(IEnsemble ensemble, int id, string path, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(ensemble.MemberConnectString(id), cancellationToken);
        await client.SyncAsync(path, cancellationToken);
        try
        {
            return Text((await client.GetDataAsync(path, cancellationToken: cancellationToken)).Data);
        }
        catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
        {
            return null;
        }
    }

    /// <summary>The children of <paramref name="path"/> through member <paramref name="id"/> alone after a <c>sync</c>.</summary>
    public static async Task<IReadOnlyList<string>> SyncChildrenAsync(IEnsemble ensemble, int id, string path, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(ensemble.MemberConnectString(id), cancellationToken);
        await client.SyncAsync(path, cancellationToken);
        return await client.GetChildrenAsync(path, cancellationToken: cancellationToken);
    }

    public static string Describe(IEnsemble ensemble) =>
        string.Join("\n", ensemble.MemberIds.Select(id => $"=== member {id} ===\n{ensemble.DescribeMember(id)}"));

    public static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
