using System.Text;
using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// DataTree.processTxn / createNode / deleteNode / setData / setACL / killSession (ZooKeeper 3.8) and the Stat field
// definitions of the Programmer's Guide ("ZooKeeper Stat Structure").
public class ZnodeTreeTests
{
    private static TxnHeader H(long zxid, OpCode type, long session = 7, long time = 1000) => new(session, 1, zxid, time, type);

    [Fact]
    public void New_HasZooKeeperSystemNodes()
    {
        var tree = new ZnodeTree();
        Assert.True(tree.TryGetNode("/", out ZnodeView root));
        Assert.Equal(["zookeeper"], root.Children);
        // Clients see cversion = 2 × creates − numChildren (DataNode.copyStat): ZooKeeper 3.8 reports -1 for a fresh "/"
        // and -2 for "/zookeeper", whose children were added without counting as creates.
        Assert.Equal(new Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0), root.Stat);
        Assert.Equal(0, root.StoredCversion);
        Assert.True(tree.TryGetStat("/zookeeper", out Stat zookeeper));
        Assert.Equal(-2, zookeeper.Cversion);
        Assert.True(tree.TryGetChildren("/zookeeper", out IReadOnlyList<string> children, out _));
        Assert.Equal(["config", "quota"], children);
        // DataTree.addConfigNode: setACL(READ_ACL_UNSAFE, -1) leaves aversion -1.
        Assert.True(tree.TryGetNode("/zookeeper/config", out ZnodeView config));
        Assert.Equal(-1, config.Stat.Aversion);
        Assert.Equal(Acl.ReadAclUnsafe, config.Acl);
        Assert.Equal(4, tree.NodeCount);
        Assert.Equal(3, tree.GetAllChildrenNumber("/"));
        Assert.Equal(0, tree.LastProcessedZxid);
    }

    [Fact]
    public void ApplyCreate_SetsStatAndParentCversionPzxid()
    {
        var tree = new ZnodeTree();
        ApplyResult r = tree.Apply(H(5, OpCode.Create2), new CreateTxn("/a", "xy"u8.ToArray(), Acl.OpenAclUnsafe, false, 1));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.Equal("/a", r.Path);
        Assert.Equal(new Stat(5, 5, 1000, 1000, 0, 0, 0, 0, 2, 0, 5), r.Stat);
        Assert.True(tree.TryGetStat("/", out Stat root));
        Assert.Equal(0, root.Cversion); // 2 × 1 create − 2 children ("zookeeper" was never a counted create)
        Assert.Equal(5, root.Pzxid);
        Assert.Equal(2, root.NumChildren);
        Assert.Equal(5, tree.LastProcessedZxid);
        Assert.Equal([new WatchTrigger("/a", EventType.NodeCreated, Acl.OpenAclUnsafe), new WatchTrigger("/", EventType.NodeChildrenChanged, Acl.OpenAclUnsafe)],
            r.Triggers);
    }

    [Fact]
    public void ApplyCreate_PlainCreate_ReturnsNoStat()
    {
        var tree = new ZnodeTree();
        ApplyResult r = tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.Null(r.Stat);
    }

    [Fact]
    public void ApplyCreate_EphemeralOwnedByHeaderSession()
    {
        var tree = new ZnodeTree();
        ApplyResult r = tree.Apply(H(1, OpCode.Create2, session: 0x55), new CreateTxn("/e", [], Acl.OpenAclUnsafe, true, 1));
        Assert.Equal(0x55, r.Stat!.Value.EphemeralOwner);
        Assert.Equal(["/e"], tree.EphemeralsOf(0x55));
        Assert.Equal(1, tree.EphemeralCount);
    }

    [Fact]
    public void ApplyCreate_ContainerAndTtl_ReportEphemeralOwnerZero()
    {
        // DataNode.copyStat: container/TTL markers are hidden from clients.
        var tree = new ZnodeTree();
        ApplyResult c = tree.Apply(H(1, OpCode.CreateContainer), new CreateContainerTxn("/c", [], Acl.OpenAclUnsafe, 1));
        ApplyResult t = tree.Apply(H(2, OpCode.CreateTtl), new CreateTtlTxn("/t", [], Acl.OpenAclUnsafe, 2, 5000));
        Assert.Equal(0, c.Stat!.Value.EphemeralOwner);
        Assert.Equal(0, t.Stat!.Value.EphemeralOwner);
        Assert.True(tree.TryGetNode("/c", out ZnodeView cv));
        Assert.Equal(ZnodeKind.Container, cv.Kind);
        Assert.Equal(long.MinValue, cv.RawEphemeralOwner);
        Assert.True(tree.TryGetNode("/t", out ZnodeView tv));
        Assert.Equal(5000, tv.TtlMs);
        Assert.Equal(unchecked((long)0xFF00_0000_0000_1388UL), tv.RawEphemeralOwner);
        Assert.Equal(0, tree.EphemeralCount);
    }

    [Fact]
    public void ApplyCreate_ExistingNode_NodeExistsButParentCversionMovesForward()
    {
        // DataTree.processTxn: replay after a fuzzy snapshot adjusts the parent's cversion/pzxid on NodeExists.
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        ApplyResult again = tree.Apply(H(9, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 4));
        Assert.Equal(ErrorCode.NodeExists, again.Err);
        Assert.Empty(again.Triggers);
        Assert.True(tree.TryGetStat("/", out Stat root));
        Assert.Equal(6, root.Cversion); // stored 4 creates → 2 × 4 − 2 children
        Assert.Equal(9, root.Pzxid);
        Assert.Equal(2, root.NumChildren);
    }

    [Fact]
    public void ApplyCreate_MissingParent_NoNode()
    {
        var tree = new ZnodeTree();
        ApplyResult r = tree.Apply(H(1, OpCode.Create), new CreateTxn("/x/y", [], Acl.OpenAclUnsafe, false, 1));
        Assert.Equal(ErrorCode.NoNode, r.Err);
        Assert.False(tree.Exists("/x/y"));
        Assert.Equal(1, tree.LastProcessedZxid);
    }

    [Fact]
    public void ApplyDelete_UpdatesParentPzxid_ClientCversionCountsTheDelete()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create), new CreateTxn("/a/b", "12345"u8.ToArray(), Acl.OpenAclUnsafe, false, 1));
        long size = tree.ApproximateDataSize;
        ApplyResult r = tree.Apply(H(3, OpCode.Delete), new DeleteTxn("/a/b"));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.True(tree.TryGetStat("/a", out Stat a));
        // DataTree.deleteNode leaves the stored cversion (1 create) alone; clients see 2 × 1 − 0 = 2 changes, as
        // ZooKeeper 3.8 reports after a create and a delete of a child.
        Assert.Equal(2, a.Cversion);
        Assert.Equal(3, a.Pzxid);
        Assert.Equal(0, a.NumChildren);
        Assert.Equal(size - "/a/b".Length - 5, tree.ApproximateDataSize);
        Assert.Equal([EventType.NodeDeleted, EventType.NodeChildrenChanged], r.Triggers.Select(t => t.Type));
        Assert.Equal(["/a/b", "/a"], r.Triggers.Select(t => t.Path));
    }

    [Fact]
    public void ApplyDelete_Missing_NoNodeAndParentPzxidStillForward()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        ApplyResult r = tree.Apply(H(8, OpCode.Delete), new DeleteTxn("/a/zzz"));
        Assert.Equal(ErrorCode.NoNode, r.Err);
        Assert.True(tree.TryGetStat("/a", out Stat a));
        Assert.Equal(8, a.Pzxid);
    }

    [Fact]
    public void ApplySetData_SetsVersionMzxidMtimeAndFiresDataChanged()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        ApplyResult r = tree.Apply(H(2, OpCode.SetData, time: 2000), new SetDataTxn("/a", "hello"u8.ToArray(), 1));
        Assert.Equal(new Stat(1, 2, 1000, 2000, 1, 0, 0, 0, 5, 0, 1), r.Stat);
        Assert.Equal([new WatchTrigger("/a", EventType.NodeDataChanged, Acl.OpenAclUnsafe)], r.Triggers);
        Assert.True(tree.TryGetData("/a", out byte[] data, out _, out _));
        Assert.Equal("hello", Encoding.UTF8.GetString(data));
    }

    [Fact]
    public void ApplySetAcl_SetsAversionAndFiresNothing()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        ApplyResult r = tree.Apply(H(2, OpCode.SetAcl), new SetAclTxn("/a", Acl.ReadAclUnsafe, 1));
        Assert.Equal(1, r.Stat!.Value.Aversion);
        Assert.Equal(1, r.Stat!.Value.Mzxid); // setACL changes neither mzxid nor version
        Assert.Empty(r.Triggers);
        Assert.True(tree.TryGetAcl("/a", out IReadOnlyList<Acl> acl));
        Assert.Equal(Acl.ReadAclUnsafe, acl);
    }

    [Fact]
    public void ApplyErrorAndCheck_ChangeNothingButZxid()
    {
        var tree = new ZnodeTree();
        ulong before = tree.ComputeDigest();
        ApplyResult e = tree.Apply(H(3, OpCode.Error), new ErrorTxn(ErrorCode.NoNode));
        ApplyResult c = tree.Apply(H(4, OpCode.Check), new CheckVersionTxn("/zookeeper", 1));
        Assert.Equal(ErrorCode.NoNode, e.Err);
        Assert.Equal(ErrorCode.Ok, c.Err);
        Assert.Equal(before, tree.ComputeDigest());
        Assert.Equal(4, tree.LastProcessedZxid);
    }

    [Fact]
    public void ApplySessions_CreateThenCloseDeletesListedAndUnlistedEphemerals()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.CreateSession, 0x10), new CreateSessionTxn(4000));
        Assert.Equal(4000, tree.Sessions[0x10]);
        tree.Apply(H(2, OpCode.Create, 0x10), new CreateTxn("/e1", [], Acl.OpenAclUnsafe, true, 1));
        tree.Apply(H(3, OpCode.Create, 0x10), new CreateTxn("/e2", [], Acl.OpenAclUnsafe, true, 2));
        ApplyResult r = tree.Apply(H(4, OpCode.CloseSession, 0x10), new CloseSessionTxn(["/e2"]));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.False(tree.Exists("/e1"));
        Assert.False(tree.Exists("/e2"));
        Assert.False(tree.Sessions.ContainsKey(0x10));
        Assert.Empty(tree.EphemeralsOf(0x10));
        // listed path first, then the rest (DataTree.killSession)
        Assert.Equal(["/e2", "/", "/e1", "/"], r.Triggers.Select(t => t.Path));
    }

    [Fact]
    public void ApplyMulti_Success_ReturnsPerOpResults()
    {
        var tree = new ZnodeTree();
        var multi = new MultiTxn([
            new SubTxn(OpCode.Create, new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1)),
            new SubTxn(OpCode.Create2, new CreateTxn("/a/b", [], Acl.OpenAclUnsafe, false, 1)),
            new SubTxn(OpCode.SetData, new SetDataTxn("/a", "x"u8.ToArray(), 1)),
            new SubTxn(OpCode.Check, new CheckVersionTxn("/a", 2)),
            new SubTxn(OpCode.Delete, new DeleteTxn("/a/b")),
            new SubTxn(OpCode.CreateContainer, new CreateContainerTxn("/c", [], Acl.OpenAclUnsafe, 2)),
        ]);
        ApplyResult r = tree.Apply(H(10, OpCode.Multi), multi);
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.NotNull(r.MultiResults);
        Assert.Equal([OpCode.Create, OpCode.Create2, OpCode.SetData, OpCode.Check, OpCode.Delete, OpCode.Create2], r.MultiResults!.Select(m => m.Type));
        Assert.Equal(new CreateResponse("/a"), r.MultiResults[0].Response);
        Assert.Equal("/a/b", Assert.IsType<Create2Response>(r.MultiResults[1].Response).Path);
        Assert.Equal(1, Assert.IsType<StatResponse>(r.MultiResults[2].Response).Stat.Version);
        Assert.Null(r.MultiResults[3].Response);
        Assert.Equal(10, tree.LastProcessedZxid);
        Assert.True(tree.Exists("/c"));
    }

    [Fact]
    public void ApplyMulti_WithErrorTxn_AppliesNothingAndReportsOkThenCodeThenRuntimeInconsistency()
    {
        // DataTree.processTxn case multi: ops before the failed one report 0, after it RUNTIMEINCONSISTENCY.
        var tree = new ZnodeTree();
        ulong before = tree.ComputeDigest();
        var multi = new MultiTxn([
            new SubTxn(OpCode.Create, new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1)),
            new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.NodeExists)),
            new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.RuntimeInconsistency)),
        ]);
        ApplyResult r = tree.Apply(H(3, OpCode.Multi), multi);
        Assert.Equal(ErrorCode.NodeExists, r.Err);
        Assert.Equal([ErrorCode.Ok, ErrorCode.NodeExists, ErrorCode.RuntimeInconsistency], r.MultiResults!.Select(m => m.Err));
        Assert.All(r.MultiResults!, m => Assert.Equal(OpCode.Error, m.Type));
        Assert.Equal(new ErrorResponse(ErrorCode.Ok), r.MultiResults![0].Response);
        Assert.Empty(r.Triggers);
        Assert.Equal(before, tree.ComputeDigest());
        Assert.Equal(3, tree.LastProcessedZxid);
    }

    [Fact]
    public void FindExpired_ContainerRules()
    {
        // ContainerManager.getCandidates: empty containers with cversion > 0; never-used ones only past the grace interval.
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.CreateContainer, time: 1000), new CreateContainerTxn("/used", [], Acl.OpenAclUnsafe, 1));
        tree.Apply(H(2, OpCode.CreateContainer, time: 1000), new CreateContainerTxn("/fresh", [], Acl.OpenAclUnsafe, 2));
        tree.Apply(H(3, OpCode.CreateContainer, time: 1000), new CreateContainerTxn("/busy", [], Acl.OpenAclUnsafe, 3));
        tree.Apply(H(4, OpCode.Create), new CreateTxn("/used/x", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(5, OpCode.Delete), new DeleteTxn("/used/x"));
        tree.Apply(H(6, OpCode.Create), new CreateTxn("/busy/x", [], Acl.OpenAclUnsafe, false, 1));

        Assert.Equal(["/used"], tree.FindExpiredContainersAndTtls(nowMs: 2000));
        Assert.Equal(["/used"], tree.FindExpiredContainersAndTtls(nowMs: 2000, containerMaxNeverUsedIntervalMs: 5000));
        Assert.Equal(["/fresh", "/used"], tree.FindExpiredContainersAndTtls(nowMs: 7000, containerMaxNeverUsedIntervalMs: 5000));
    }

    [Fact]
    public void FindExpired_TtlRules()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.CreateTtl, time: 1000), new CreateTtlTxn("/t", [], Acl.OpenAclUnsafe, 1, 100));
        tree.Apply(H(2, OpCode.CreateTtl, time: 1000), new CreateTtlTxn("/tp", [], Acl.OpenAclUnsafe, 2, 100));
        tree.Apply(H(3, OpCode.Create), new CreateTxn("/tp/c", [], Acl.OpenAclUnsafe, false, 1));
        Assert.Empty(tree.FindExpiredContainersAndTtls(nowMs: 1100));   // exactly TTL: not yet (elapsed > ttl)
        Assert.Equal(["/t"], tree.FindExpiredContainersAndTtls(nowMs: 1101)); // /tp has a child
        tree.Apply(H(4, OpCode.SetData, time: 1090), new SetDataTxn("/t", [], 1)); // modification resets the clock (mtime)
        Assert.Empty(tree.FindExpiredContainersAndTtls(nowMs: 1101));
    }

    [Fact]
    public void GetAllChildrenNumberAndEphemerals_CountDescendantsAndPrefix()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create, 9), new CreateTxn("/a/e1", [], Acl.OpenAclUnsafe, true, 1));
        tree.Apply(H(3, OpCode.Create, 9), new CreateTxn("/a/e2", [], Acl.OpenAclUnsafe, true, 2));
        tree.Apply(H(4, OpCode.Create, 9), new CreateTxn("/b", [], Acl.OpenAclUnsafe, true, 2));
        Assert.Equal(2, tree.GetAllChildrenNumber("/a"));
        Assert.Equal(7, tree.GetAllChildrenNumber("/")); // everything but the root, /zookeeper nodes included
        Assert.Equal(["/a/e1", "/a/e2", "/b"], tree.GetEphemerals(9, "/"));
        Assert.Equal(["/a/e1", "/a/e2"], tree.GetEphemerals(9, "/a"));
        Assert.Empty(tree.GetEphemerals(10, null));
    }

    [Fact]
    public void LoadNode_RebuildsEqualTree()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", "d"u8.ToArray(), Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create, 9), new CreateTxn("/a/e", [], Acl.OpenAclUnsafe, true, 1));
        tree.Apply(H(3, OpCode.CreateTtl), new CreateTtlTxn("/t", [], Acl.OpenAclUnsafe, 2, 50));

        var copy = new ZnodeTree();
        foreach (ZnodeView v in tree.EnumerateNodes())
        {
            (ZnodeKind kind, long owner, long ttl) = EphemeralOwner.Decode(v.RawEphemeralOwner, extendedTypesEnabled: true);
            copy.LoadNode(v.Path, v.Data, v.Acl, v.Stat with { Cversion = v.StoredCversion }, kind, owner, ttl);
        }

        Assert.Equal(tree.ComputeDigest(), copy.ComputeDigest());
        Assert.Equal(["/a/e"], copy.EphemeralsOf(9));
        Assert.Equal(["/t"], copy.Ttls);
        Assert.Equal(tree.ApproximateDataSize, copy.ApproximateDataSize);
    }

    [Fact]
    public void ApplyDeleteContainer_DeletesLikeDelete()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.CreateContainer), new CreateContainerTxn("/c", [], Acl.OpenAclUnsafe, 1));
        ApplyResult r = tree.Apply(H(2, OpCode.DeleteContainer, session: 0), new DeleteTxn("/c"));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.False(tree.Exists("/c"));
        Assert.Empty(tree.Containers);
    }

    [Fact]
    public void ApplyCloseSession_WithoutBody_DeletesAllOfTheSessionsEphemerals()
    {
        // Older logs carry closeSession without a body (DataTree.killSession(session, zxid)).
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.CreateSession, 3), new CreateSessionTxn(5000));
        tree.Apply(H(2, OpCode.Create, 3), new CreateTxn("/e", [], Acl.OpenAclUnsafe, true, 1));
        tree.Apply(H(3, OpCode.CloseSession, 3), null);
        Assert.False(tree.Exists("/e"));
        Assert.Equal(0, tree.EphemeralCount);
    }

    [Fact]
    public void ApplyDelete_OfNodeWithChildrenDuringReplay_DropsDescendants()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create), new CreateTxn("/a/b", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(3, OpCode.Create, 5), new CreateTxn("/a/b/e", [], Acl.OpenAclUnsafe, true, 1));
        tree.Apply(H(4, OpCode.Delete), new DeleteTxn("/a"));
        Assert.False(tree.Exists("/a/b"));
        Assert.False(tree.Exists("/a/b/e"));
        Assert.Equal(0, tree.EphemeralCount);
        Assert.Equal(4, tree.NodeCount);
    }

    [Fact]
    public void Apply_BodyOfWrongType_Throws()
    {
        var tree = new ZnodeTree();
        Assert.Throws<ArgumentException>(() => tree.Apply(H(1, OpCode.SetData), new DeleteTxn("/a")));
        Assert.Throws<ArgumentException>(() => tree.Apply(H(1, OpCode.GetData), null));
    }

    [Fact]
    public void EnumerateNodes_PreOrderSorted()
    {
        var tree = new ZnodeTree();
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/b", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create), new CreateTxn("/a", [], Acl.OpenAclUnsafe, false, 2));
        tree.Apply(H(3, OpCode.Create), new CreateTxn("/a/c", [], Acl.OpenAclUnsafe, false, 1));
        Assert.Equal(["/", "/a", "/a/c", "/b", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"], tree.EnumerateNodes().Select(v => v.Path));
    }
}
