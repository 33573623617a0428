using Xunit;
using Zooflow.Compat.Tests.Infrastructure;

namespace Zooflow.Compat.Tests;

/// <summary>
/// The official Java client (Debian's zookeeper.jar) through java/CompatClient.java, covering the operations kazoo lacks.
/// Each expectation holds on Apache ZooKeeper 3.8 and must hold on Zooflow.
/// </summary>
public sealed class JavaClientTests(ServerPool pool)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<Dictionary<string, string>> RunAsync(ServerKind kind, string section)
    {
        var server = await pool.GetAsync(kind);
        return await JavaClient.RunAsync(server, section, ServerPool.UniqueRoot("java"), Timeout, TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Create2_AllModes_ReturnStatAndNamesAsZooKeeperDoes(ServerKind kind)
    {
        var r = await RunAsync(kind, "create2");
        Assert.Equal("/p", r["create2.path"]);
        Assert.Equal("v=0 cv=0 av=0 dl=3 nc=0", r["create2.stat"]);
        Assert.Equal("true", r["create2.czxidEqMzxid"]);
        Assert.Equal("true", r["create2.czxidEqPzxid"]);
        Assert.Equal("0", r["create2.ephemeralOwner"]);
        Assert.Equal("true", r["create2.ctimeEqMtime"]);
        Assert.Equal("true", r["create2.ephemeral.ownerIsSession"]);
        Assert.Equal("/s-0000000002", r["create2.sequential.path"]);
        Assert.Equal("/s-0000000003", r["create2.sequential2.path"]);
        Assert.Equal("true", r["create2.sequential2.ownerIsSession"]);
        Assert.Equal("v=0 cv=4 av=0 dl=0 nc=4", r["create2.parent"]);
        Assert.Equal("true", r["create2.parent.pzxidIsLastChild"]);
        Assert.Equal("NODEEXISTS", r["create2.duplicate"]);
        Assert.Equal("NONODE", r["create2.noParent"]);
        Assert.Equal("NOCHILDRENFOREPHEMERALS", r["create2.underEphemeral"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task CreateContainer_LastChildDeleted_ContainerIsReaped(ServerKind kind)
    {
        var r = await RunAsync(kind, "container");
        Assert.Equal("v=0 cv=0 av=0 dl=2 nc=0", r["container.stat"]);
        Assert.Equal("0", r["container.ephemeralOwner"]);
        Assert.Equal("NODEEXISTS", r["container.duplicate"]);
        Assert.Equal("v=0 cv=1 av=0 dl=2 nc=1", r["container.withChild"]);
        Assert.Equal("true", r["container.reapedAfterLastChild"]);
        Assert.Matches(@"^\[NodeDeleted /java-[0-9a-f]+/c\]$", r["container.events"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task CreateTtl_Expired_NodeIsReapedUnlessItHasChildren(ServerKind kind)
    {
        var r = await RunAsync(kind, "ttl");
        Assert.Equal("v=0 cv=0 av=0 dl=2 nc=0", r["ttl.stat"]);
        Assert.Equal("0", r["ttl.ephemeralOwner"]);
        Assert.Equal("/ts-0000000001", r["ttl.sequential.path"]);
        Assert.Equal("true", r["ttl.reaped"]);
        Assert.Equal("true", r["ttl.sequential.reaped"]);
        Assert.Equal("true", r["ttl.withChild.exists"]);
        Assert.Equal("true", r["ttl.withChild.reapedAfterChild"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task GetAllChildrenNumber_Tree_CountsAllDescendants(ServerKind kind)
    {
        var r = await RunAsync(kind, "allchildren");
        Assert.Equal("5", r["allchildren.root"]);
        Assert.Equal("3", r["allchildren.a"]);
        Assert.Equal("0", r["allchildren.leaf"]);
        Assert.Equal("NONODE", r["allchildren.missing"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task GetEphemerals_ByPrefix_ListsOnlyOwnSessionsNodes(ServerKind kind)
    {
        var r = await RunAsync(kind, "ephemerals");
        Assert.Equal("[/e1, /x/e2, /x/s-0000000001]", r["ephemerals.prefixRoot"]);
        Assert.Equal("[/x/e2, /x/s-0000000001]", r["ephemerals.prefixX"]);
        Assert.Equal("[/e1, /x/e2, /x/s-0000000001]", r["ephemerals.all"]);
        Assert.Equal("[/o1]", r["ephemerals.other"]);
        Assert.Equal("[]", r["ephemerals.prefixNone"]);
        Assert.Equal("[o1, x]", r["ephemerals.afterClose"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task MultiRead_MixedResults_ReturnsPerOperationResults(ServerKind kind)
    {
        var r = await RunAsync(kind, "multiread");
        Assert.Equal("[CHILDREN([a, b]), DATA(A,v=0 cv=0 av=0 dl=1 nc=0), ERR(NONODE), DATA(BBB,v=1 cv=0 av=0 dl=3 nc=0), ERR(NONODE)]",
            r["multiread.results"]);
        Assert.Equal("[ERR(NOAUTH), DATA(A,v=0 cv=0 av=0 dl=1 nc=0)]", r["multiread.noAuth"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task AddWatch_Persistent_FiresEveryTimeInOrder(ServerKind kind)
    {
        var r = await RunAsync(kind, "persistent");
        Assert.Equal("[NodeDataChanged /p, NodeDataChanged /p, NodeChildrenChanged /p, NodeChildrenChanged /p, NodeDeleted /p, NodeCreated /p]",
            r["persistent.events"]);
        Assert.Equal("[NodeCreated /later]", r["persistent.missingPath"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task AddWatch_PersistentRecursive_FiresForWholeSubtree(ServerKind kind)
    {
        var r = await RunAsync(kind, "recursive");
        Assert.Equal("[NodeCreated /a, NodeCreated /a/b, NodeDataChanged /a/b, NodeCreated /a/b/c, NodeDeleted /a/b/c, NodeDataChanged , NodeCreated /m, NodeDeleted /a/b]",
            r["recursive.events"]);
        Assert.Equal("[NodeDataChanged /m, NodeDataChanged /m]", r["recursive.withDataWatch"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task RemoveWatches_ByTypeAndAll_StopsEventsAndNotifiesRemoval(ServerKind kind)
    {
        var r = await RunAsync(kind, "removewatches");
        Assert.Equal("[DataWatchRemoved /n, NodeChildrenChanged /n]", r["removewatches.afterDataRemoved"]);
        Assert.Equal("[ChildWatchRemoved /n, DataWatchRemoved /n]", r["removewatches.afterAllRemoved"]);
        Assert.Equal("NOWATCHER", r["removewatches.none"]);
        Assert.Equal("[PersistentWatchRemoved /n]", r["removewatches.persistentRemoved"]);
        Assert.Equal("[]", r["removewatches.defaultWatcher"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task WhoAmI_AfterDigestAuth_ListsIpAndDigestIdentities(ServerKind kind)
    {
        var r = await RunAsync(kind, "whoami");
        Assert.Equal("[ip:127.0.0.1]", r["whoami.anonymous"]);
        Assert.Equal("[digest:alice, ip:127.0.0.1]", r["whoami.digest"]);
        Assert.Equal("[digest:alice, digest:bob, ip:127.0.0.1]", r["whoami.twoDigests"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Sync_Path_CompletesWithOkAndPath(ServerKind kind)
    {
        var r = await RunAsync(kind, "sync");
        Assert.Equal("0 <root>", r["sync.result"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Watches_ChangeThenReply_EventArrivesBeforeReplyThatReflectsIt(ServerKind kind)
    {
        var r = await RunAsync(kind, "ordering");
        Assert.Equal("[event NodeDataChanged, setData rc=0]", r["ordering.own"]);
        Assert.Equal("[event NodeDataChanged, event NodeCreated, event NodeChildrenChanged, getData 2]", r["ordering.other"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Sessions_ReattachWrongPasswordCloseAndClamp_BehaveAsZooKeeper(ServerKind kind)
    {
        var r = await RunAsync(kind, "sessions");
        Assert.Equal("10000", r["sessions.timeout"]);
        Assert.Equal("true", r["sessions.wrongPasswordExpired"]);
        Assert.Equal("true", r["sessions.sameId"]);
        Assert.Equal("true", r["sessions.ephemeralStill"]);
        Assert.Equal("true", r["sessions.ephemeralOwnerIsSession"]);
        Assert.Equal("false", r["sessions.ephemeralAfterClose"]);
        Assert.Equal("[NodeDeleted /eph, NodeChildrenChanged ]", r["sessions.observerEvents"]);
        Assert.Equal("true", r["sessions.reattachAfterCloseExpired"]);
        Assert.Equal((2 * ServerProcess.TickTime).ToString(System.Globalization.CultureInfo.InvariantCulture), r["sessions.clampedLow"]);
        Assert.Equal((20 * ServerProcess.TickTime).ToString(System.Globalization.CultureInfo.InvariantCulture), r["sessions.clampedHigh"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task SessionExpiry_ClientVanishes_EphemeralsRemovedAndWatchesFire(ServerKind kind)
    {
        var r = await RunAsync(kind, "expiry");
        Assert.Equal("2000", r["expiry.negotiated"]);
        Assert.Equal("true", r["expiry.ephemeralDeleted"]);
        Assert.Equal("true", r["expiry.notBeforeTimeout"]);
        Assert.Equal("[NodeChildrenChanged , NodeDeleted /eph]", r["expiry.observerEvents"]);
        Assert.Equal("[]", r["expiry.children"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Reconnect_ConnectionCut_SessionKeptAndSetWatchesDeliversMissedEvents(ServerKind kind)
    {
        var r = await RunAsync(kind, "reconnect");
        Assert.Equal("true", r["reconnect.sameSession"]);
        Assert.Equal("true", r["reconnect.ephemeralKept"]);
        Assert.Equal("[NodeChildrenChanged , NodeCreated /missing, NodeDataChanged /d]", r["reconnect.missedEvents"]);
        Assert.Equal("[NodeDataChanged /p, NodeCreated /rec/y]", r["reconnect.laterEvents"]);
        Assert.Equal("[SyncConnected, Disconnected, SyncConnected]", r["reconnect.states"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Reconnect_NoPersistentWatches_SetWatchesRestoresOneShotWatches(ServerKind kind)
    {
        var r = await RunAsync(kind, "reconnectPlain");
        Assert.Equal("[NodeChildrenChanged , NodeCreated /missing, NodeDataChanged /d, NodeDeleted /gone]", r["reconnectPlain.missedEvents"]);
        Assert.Equal("[NodeDataChanged /same]", r["reconnectPlain.laterEvents"]);
    }

    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public async Task Multi_SuccessAndFailures_AllOrNothingWithPerOperationResults(ServerKind kind)
    {
        var r = await RunAsync(kind, "multi");
        Assert.Equal("[CREATE(/b), CREATE(/s-0000000002), SET(v=1 cv=0 av=0 dl=2 nc=0), CHECK, CREATE(/c), DELETE]", r["multi.ok"]);
        Assert.Equal("BADVERSION [ERR(OK), ERR(BADVERSION), ERR(RUNTIMEINCONSISTENCY)]", r["multi.failCheck"]);
        Assert.Equal("false", r["multi.failCheck.xExists"]);
        Assert.Equal("a2", r["multi.failCheck.aData"]);
        Assert.Equal("NONODE [ERR(OK), ERR(NONODE), ERR(RUNTIMEINCONSISTENCY)]", r["multi.failNoNode"]);
        Assert.Equal("NODEEXISTS [ERR(OK), ERR(NODEEXISTS)]", r["multi.failExists"]);
        Assert.Equal("NOTEMPTY [ERR(OK), ERR(NOTEMPTY)]", r["multi.failNotEmpty"]);
        Assert.Equal("[]", r["multi.empty"]);
        Assert.Equal("v=0 cv=5 av=0 dl=0 nc=3", r["multi.rootStat"]);
    }
}
