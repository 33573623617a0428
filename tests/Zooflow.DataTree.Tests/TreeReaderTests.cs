using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// FinalRequestProcessor read cases (ZooKeeper 3.8): exists, getData, getChildren(2), getAllChildrenNumber, getACL,
// getEphemerals, multiRead.
public class TreeReaderTests
{
    private const long S = 0x42;
    private static readonly IReadOnlyList<Id> Anon = Harness.NoAuth;

    private static (Harness H, WatchManager W) Setup()
    {
        var h = new Harness();
        h.OpenSession(S);
        h.Create(S, "/a", "data");
        h.Create(S, "/a/b");
        h.Create(S, "/secret", acl: [new Acl(Perms.Write, Id.AnyoneIdUnsafe)]);
        return (h, new WatchManager());
    }

    [Fact]
    public void Exists_MissingNode_NoNodeButWatchRegistered()
    {
        (Harness h, WatchManager w) = Setup();
        Assert.Equal(ErrorCode.NoNode, TreeReader.Read(h.Tree, w, S, Anon, OpCode.Exists, new ExistsRequest("/none", true), out object? rsp));
        Assert.Null(rsp);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(S, "/none", WatcherType.Data));
    }

    [Fact]
    public void Exists_NoReadPermission_StatAndWatch()
    {
        // ZooKeeper 3.8's FinalRequestProcessor answers exists without an ACL check (the Compat differential test pins it).
        (Harness h, WatchManager w) = Setup();
        Assert.Equal(ErrorCode.Ok, TreeReader.Read(h.Tree, w, S, Anon, OpCode.Exists, new ExistsRequest("/secret", true), out object? rsp));
        Assert.IsType<StatResponse>(rsp);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(S, "/secret", WatcherType.Data));
    }

    [Fact]
    public void GetData_ReturnsDataAndStat_MissingSetsNoWatch()
    {
        (Harness h, WatchManager w) = Setup();
        Assert.Equal(ErrorCode.Ok, TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetData, new GetDataRequest("/a", true), out object? rsp));
        GetDataResponse d = Assert.IsType<GetDataResponse>(rsp);
        Assert.Equal("data"u8.ToArray(), d.Data);
        Assert.Equal(1, d.Stat.NumChildren);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(S, "/a", WatcherType.Data));
        Assert.Equal(ErrorCode.NoNode, TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetData, new GetDataRequest("/none", true), out _));
        Assert.Equal(ErrorCode.NoWatcher, w.CheckWatches(S, "/none", WatcherType.Data));
    }

    [Fact]
    public void GetChildren2_ReturnsChildrenAndStatAndSetsChildWatch()
    {
        (Harness h, WatchManager w) = Setup();
        Assert.Equal(ErrorCode.Ok, TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetChildren2, new GetChildrenRequest("/", true), out object? rsp));
        GetChildren2Response c = Assert.IsType<GetChildren2Response>(rsp);
        Assert.Equal(["a", "secret", "zookeeper"], c.Children);
        Assert.Equal(3, c.Stat.NumChildren);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(S, "/", WatcherType.Children));
    }

    [Fact]
    public void GetAcl_WithoutAdmin_MasksDigestIds()
    {
        var h = new Harness();
        h.OpenSession(S);
        var bob = new Id("digest", DigestAuthenticationProvider.Generate("bob", "pw"));
        h.Create(S, "/d", acl: [new Acl(Perms.Read, Id.AnyoneIdUnsafe), new Acl(Perms.All, bob)]);
        var w = new WatchManager();
        TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetAcl, new GetAclRequest("/d"), out object? anon);
        Assert.Equal(new Id("digest", "bob:x"), Assert.IsType<GetAclResponse>(anon).Acl[1].Id);
        TreeReader.Read(h.Tree, w, S, [bob], OpCode.GetAcl, new GetAclRequest("/d"), out object? admin);
        Assert.Equal(bob, Assert.IsType<GetAclResponse>(admin).Acl[1].Id);
    }

    [Fact]
    public void GetAllChildrenNumberAndEphemerals()
    {
        (Harness h, WatchManager w) = Setup();
        h.Create(S, "/a/e", mode: CreateMode.Ephemeral);
        TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetAllChildrenNumber, new GetAllChildrenNumberRequest("/a"), out object? n);
        Assert.Equal(2, Assert.IsType<GetAllChildrenNumberResponse>(n).TotalNumber);
        TreeReader.Read(h.Tree, w, S, Anon, OpCode.GetEphemerals, new GetEphemeralsRequest("/a"), out object? e);
        Assert.Equal(["/a/e"], Assert.IsType<GetEphemeralsResponse>(e).Ephemerals);
    }

    [Fact]
    public void MultiRead_PerOperationResults()
    {
        (Harness h, WatchManager w) = Setup();
        var req = new MultiRequest([
            new MultiOp(OpCode.GetData, new GetDataRequest("/a", false)),
            new MultiOp(OpCode.GetChildren, new GetChildrenRequest("/none", false)),
            new MultiOp(OpCode.GetChildren, new GetChildrenRequest("/a", false)),
            new MultiOp(OpCode.GetData, new GetDataRequest("/secret", false)),
        ]);
        Assert.Equal(ErrorCode.Ok, TreeReader.Read(h.Tree, w, S, Anon, OpCode.MultiRead, req, out object? rsp));
        IReadOnlyList<MultiResult> results = Assert.IsType<MultiResponse>(rsp).Results;
        Assert.Equal([OpCode.GetData, OpCode.Error, OpCode.GetChildren, OpCode.Error], results.Select(r => r.Type));
        Assert.Equal([ErrorCode.Ok, ErrorCode.NoNode, ErrorCode.Ok, ErrorCode.NoAuth], results.Select(r => r.Err));
        Assert.Equal(new GetChildrenResponse(["b"]).Children, Assert.IsType<GetChildrenResponse>(results[2].Response).Children);
    }
}
