using Xunit;
using Zooflow.TestKit.Servers;

namespace Zooflow.Jepsen.Tests;

/// <summary>The evidence finder that tells ZooKeeper 3.8.0's own data-loss bug from a harness bug: it must find the
/// SyncThread crash as ZooKeeper logs it, and nothing in a member directory without it.</summary>
public sealed class ZooKeeperKnownBugsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zooflow-known-bugs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task FindEvidence_SyncThreadDiedOnNullLearnerSocket_ReportedWithLineAndCause()
    {
        await File.WriteAllLinesAsync(Path.Combine(_dir, "server.log"),
        [
            "2026-12-07 11:23:21,050 INFO  [QuorumPeer[myid=4]] Learner - FOLLOWING",
            "2026-12-07 11:23:21,051 ERROR [SyncThread:4] ZooKeeperCriticalThread - Severe unrecoverable error, from thread : SyncThread:4",
            "java.lang.NullPointerException: Cannot invoke \"java.net.Socket.isClosed()\" because \"this.learner.sock\" is null",
            "\tat org.apache.zookeeper.server.quorum.SendAckRequestProcessor.flush(SendAckRequestProcessor.java:64)",
        ], TestContext.Current.CancellationToken);

        var evidence = await ZooKeeperKnownBugs.FindEvidenceAsync(_dir, TestContext.Current.CancellationToken);

        var line = Assert.Single(evidence);
        Assert.StartsWith("server.log:2: ", line, StringComparison.Ordinal);
        Assert.Contains("this.learner.sock\" is null", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindEvidence_OrdinaryFollowerLogAndNoDataDir_Empty()
    {
        await File.WriteAllLinesAsync(Path.Combine(_dir, "server.log"),
        [
            "2026-12-07 11:23:21,289 INFO  [QuorumPeer[myid=4]] QuorumPeer - FOLLOWING",
            "2026-12-07 11:23:33,049 WARN  [SendWorker:2] QuorumCnxManager - Exception when using channel: for id 2 my id = 4",
            "java.net.SocketException: Connection reset by peer",
        ], TestContext.Current.CancellationToken);

        Assert.Empty(await ZooKeeperKnownBugs.FindEvidenceAsync(_dir, TestContext.Current.CancellationToken));
    }
}
