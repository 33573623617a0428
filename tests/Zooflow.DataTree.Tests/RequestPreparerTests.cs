using System.Text;
using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// PrepRequestProcessor.pRequest2Txn / pRequest2TxnCreate / multi handling (ZooKeeper 3.8).
public class RequestPreparerTests
{
    private const long S = 0x100;

    private static Harness NewHarness(DataTreeOptions? options = null)
    {
        var h = new Harness(options);
        h.OpenSession(S);
        return h;
    }

    private static CreateRequest Create(string path, CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, string data = "") =>
        new(path, Encoding.UTF8.GetBytes(data), acl ?? Acl.OpenAclUnsafe, mode);

    [Fact]
    public void Create_Success_ProducesCreateTxnWithNextParentCversion()
    {
        Harness h = NewHarness();
        PrepareResult p = h.Prepare(S, OpCode.Create2, Create("/a", data: "v"));
        Assert.Equal(ErrorCode.Ok, p.Err);
        Assert.Equal(OpCode.Create2, p.Header.Type);
        CreateTxn txn = Assert.IsType<CreateTxn>(p.Txn);
        Assert.Equal("/a", txn.Path);
        Assert.Equal(1, txn.ParentCVersion);
        Assert.False(txn.Ephemeral);
        ApplyResult r = h.Apply(p);
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.Equal(p.Header.Zxid, r.Stat!.Value.Czxid);
        Assert.Equal(h.NowMs, r.Stat!.Value.Ctime);
    }

    [Fact]
    public void Failure_BecomesErrorTxnThatConsumesTheZxid()
    {
        // pRequest: a failed write keeps its header with type error and an ErrorTxn; the reply carries its zxid.
        Harness h = NewHarness();
        PrepareResult p = h.Prepare(S, OpCode.Delete, new DeleteRequest("/missing", -1));
        Assert.Equal(ErrorCode.NoNode, p.Err);
        Assert.Equal(OpCode.Error, p.Header.Type);
        Assert.Equal(new ErrorTxn(ErrorCode.NoNode), p.Txn);
        ApplyResult r = h.Apply(p);
        Assert.Equal(ErrorCode.NoNode, r.Err);
        Assert.Equal(p.Header.Zxid, h.Tree.LastProcessedZxid);
    }

    [Fact]
    public void Create_TwoInFlight_SecondIsNodeExists()
    {
        Harness h = NewHarness();
        PrepareResult first = h.Prepare(S, OpCode.Create, Create("/a"));
        PrepareResult second = h.Prepare(S, OpCode.Create, Create("/a"));
        Assert.Equal(ErrorCode.Ok, first.Err);
        Assert.Equal(ErrorCode.NodeExists, second.Err);
        h.Apply(first);
        h.Apply(second);
        Assert.Equal(0, h.Prep.OutstandingChanges);
    }

    [Fact]
    public void Create_SequentialInFlight_CountersAdvance()
    {
        Harness h = NewHarness();
        h.Create(S, "/q");
        PrepareResult a = h.Prepare(S, OpCode.Create, Create("/q/n-", CreateMode.PersistentSequential));
        PrepareResult b = h.Prepare(S, OpCode.Create, Create("/q/n-", CreateMode.PersistentSequential));
        Assert.Equal("/q/n-0000000000", ((CreateTxn)a.Txn).Path);
        Assert.Equal("/q/n-0000000001", ((CreateTxn)b.Txn).Path);
        Assert.Equal("/q/n-0000000000", h.Apply(a).Path);
        Assert.Equal("/q/n-0000000001", h.Apply(b).Path);
    }

    [Fact]
    public void Create_SequentialAfterDelete_UsesCversionNotChildCount()
    {
        Harness h = NewHarness();
        h.Create(S, "/q");
        h.Run(S, OpCode.Create, Create("/q/x", CreateMode.PersistentSequential));
        h.Run(S, OpCode.Delete, new DeleteRequest("/q/x0000000000", -1));
        ApplyResult r = h.Run(S, OpCode.Create, Create("/q/x", CreateMode.PersistentSequential));
        Assert.Equal("/q/x0000000001", r.Path);
    }

    [Fact]
    public void Create_SequentialWithTrailingSlash_NamesByCounterOnly()
    {
        // The server validates only the final name: "/q/" + "0000000000" is fine.
        Harness h = NewHarness();
        h.Create(S, "/q");
        Assert.Equal("/q/0000000000", h.Run(S, OpCode.Create, Create("/q/", CreateMode.PersistentSequential)).Path);
    }

    [Theory]
    [InlineData("/a/", ErrorCode.BadArguments)]
    [InlineData("/a/.", ErrorCode.BadArguments)]
    [InlineData("a", ErrorCode.BadArguments)]
    [InlineData("/a/../b", ErrorCode.NoNode)]   // the parent "/a/.." is looked up before the final name is validated
    [InlineData("/nope/", ErrorCode.NoNode)]
    [InlineData("/nope/x", ErrorCode.NoNode)]
    [InlineData("/", ErrorCode.NodeExists)]
    [InlineData("/zookeeper", ErrorCode.NodeExists)]
    public void Create_BadPaths(string path, ErrorCode expected)
    {
        // pRequest2TxnCreate order: validatePathForCreate, fixupACL, parent lookup, ACL, sequence, validatePath, exists.
        Harness h = NewHarness();
        h.Create(S, "/a");
        Assert.Equal(expected, h.Prepare(S, OpCode.Create, Create(path)).Err);
    }

    [Fact]
    public void Create_UnderEphemeral_NoChildrenForEphemerals()
    {
        Harness h = NewHarness();
        h.Create(S, "/e", mode: CreateMode.Ephemeral);
        Assert.Equal(ErrorCode.NoChildrenForEphemerals, h.Prepare(S, OpCode.Create, Create("/e/c")).Err);
    }

    [Fact]
    public void Create_InvalidFlags_BadArguments()
    {
        Harness h = NewHarness();
        Assert.Equal(ErrorCode.BadArguments, h.Prepare(S, OpCode.Create, Create("/a", (CreateMode)42)).Err);
    }

    [Fact]
    public void CreateTtl_DisabledIsUnimplemented_EnabledChecksRange()
    {
        Harness off = NewHarness();
        Assert.Equal(ErrorCode.Unimplemented,
            off.Prepare(S, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 1000)).Err);

        Harness on = NewHarness(new DataTreeOptions { ExtendedTypesEnabled = true });
        Assert.Equal(ErrorCode.BadArguments,
            on.Prepare(S, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 0)).Err);
        Assert.Equal(ErrorCode.BadArguments,
            on.Prepare(S, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, EphemeralOwner.TtlMaxMs + 1)).Err);
        Assert.Equal(ErrorCode.BadArguments,
            on.Prepare(S, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.Persistent, 1000)).Err);
        ApplyResult ok = on.Run(S, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenAclUnsafe, CreateMode.PersistentSequentialWithTtl, 1000));
        Assert.Equal(ErrorCode.Ok, ok.Err);
        Assert.Equal("/t0000000000", ok.Path);
        Assert.Equal(ZnodeKind.Ttl, on.Node(ok.Path!).Kind);
    }

    [Fact]
    public void CreateContainer_CreatesContainer()
    {
        Harness h = NewHarness();
        ApplyResult r = h.Run(S, OpCode.CreateContainer, Create("/c", CreateMode.Container));
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.Equal(ZnodeKind.Container, h.Node("/c").Kind);
        Assert.Equal(0, r.Stat!.Value.EphemeralOwner);
    }

    [Fact]
    public void Create_AclChecks()
    {
        Harness h = NewHarness();
        Id bob = new("digest", DigestAuthenticationProvider.Generate("bob", "pw"));
        IReadOnlyList<Id> bobAuth = [.. Harness.NoAuth, bob];
        // auth scheme without authenticated ids -> InvalidACL
        Assert.Equal(ErrorCode.InvalidAcl, h.Prepare(S, OpCode.Create, Create("/p", acl: Acl.CreatorAllAcl)).Err);
        Assert.Equal(ErrorCode.InvalidAcl, h.Prepare(S, OpCode.Create, Create("/p", acl: [])).Err);
        // auth expands to bob's digest id
        h.Run(S, OpCode.Create, Create("/p", acl: Acl.CreatorAllAcl), bobAuth);
        Assert.Equal([new Acl(Perms.All, bob)], h.Node("/p").Acl);
        // CREATE on the parent is needed
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.Create, Create("/p/c")).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Create, Create("/p/c"), bobAuth).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Create, Create("/p/d"), [new Id("super", "")]).Err);
    }

    [Fact]
    public void Delete_ChecksInZooKeeperOrder()
    {
        Harness h = NewHarness();
        h.Create(S, "/p", acl: [new Acl(Perms.Read | Perms.Create, Id.AnyoneIdUnsafe)]);
        h.Create(S, "/p/c");
        h.Create(S, "/d");
        h.Create(S, "/d/x");
        // NoAuth (DELETE on parent) comes before NoNode of the target and before the version check.
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.Delete, new DeleteRequest("/p/missing", -1)).Err);
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.Delete, new DeleteRequest("/p/c", 5)).Err);
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(S, OpCode.Delete, new DeleteRequest("/d", 3)).Err);
        Assert.Equal(ErrorCode.NotEmpty, h.Prepare(S, OpCode.Delete, new DeleteRequest("/d", 0)).Err);
        Assert.Equal(ErrorCode.BadArguments, h.Prepare(S, OpCode.Delete, new DeleteRequest("/zookeeper", -1)).Err);
        Assert.Equal(ErrorCode.BadArguments, h.Prepare(S, OpCode.Delete, new DeleteRequest("/", -1)).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Delete, new DeleteRequest("/d/x", 0)).Err);
        // in flight: /d/x is gone, so /d is now empty
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Delete, new DeleteRequest("/d", -1)).Err);
    }

    [Fact]
    public void SetData_PermissionBeforeVersion_AndVersionInFlight()
    {
        Harness h = NewHarness();
        h.Create(S, "/r", acl: Acl.ReadAclUnsafe);
        h.Create(S, "/w");
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.SetData, new SetDataRequest("/r", [], 99)).Err);
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", [], 99)).Err);
        PrepareResult a = h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", [1], 0));
        Assert.Equal(new SetDataTxn("/w", [1], 1).Path, ((SetDataTxn)a.Txn).Path);
        Assert.Equal(1, ((SetDataTxn)a.Txn).Version);
        // the second sees version 1 in flight
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", [2], 0)).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", [2], 1)).Err);
    }

    [Fact]
    public void SetData_DataLimit_BadArguments()
    {
        Harness h = NewHarness(new DataTreeOptions { DataLengthMax = 4 });
        h.Create(S, "/w");
        Assert.Equal(ErrorCode.BadArguments, h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", new byte[5], -1)).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.SetData, new SetDataRequest("/w", new byte[4], -1)).Err);
    }

    [Fact]
    public void SetAcl_AdminAndAversion()
    {
        Harness h = NewHarness();
        h.Create(S, "/a");
        h.Create(S, "/ro", acl: [new Acl(Perms.Read | Perms.Write, Id.AnyoneIdUnsafe)]);
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.SetAcl, new SetAclRequest("/ro", Acl.OpenAclUnsafe, -1)).Err);
        Assert.Equal(ErrorCode.InvalidAcl, h.Prepare(S, OpCode.SetAcl, new SetAclRequest("/a", [], -1)).Err);
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(S, OpCode.SetAcl, new SetAclRequest("/a", Acl.ReadAclUnsafe, 1)).Err);
        ApplyResult r = h.Run(S, OpCode.SetAcl, new SetAclRequest("/a", Acl.ReadAclUnsafe, 0));
        Assert.Equal(1, r.Stat!.Value.Aversion);
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.SetData, new SetDataRequest("/a", [], -1)).Err);
    }

    [Fact]
    public void Check_RequiresReadAndVersion()
    {
        Harness h = NewHarness();
        h.Create(S, "/a");
        h.Create(S, "/secret", acl: [new Acl(Perms.Write, Id.AnyoneIdUnsafe)]);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Check, new CheckVersionRequest("/a", 0)).Err);
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(S, OpCode.Check, new CheckVersionRequest("/a", 1)).Err);
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.Check, new CheckVersionRequest("/secret", 0)).Err);
        Assert.Equal(ErrorCode.NoNode, h.Prepare(S, OpCode.Check, new CheckVersionRequest("/none", 0)).Err);
    }

    [Fact]
    public void Multi_SeesItsOwnEarlierOps()
    {
        Harness h = NewHarness();
        var multi = new MultiRequest([
            new MultiOp(OpCode.Create, Create("/m")),
            new MultiOp(OpCode.Create, Create("/m/c", CreateMode.PersistentSequential)),
            new MultiOp(OpCode.SetData, new SetDataRequest("/m", [9], 0)),
            new MultiOp(OpCode.Check, new CheckVersionRequest("/m", 1)),
        ]);
        PrepareResult p = h.Prepare(S, OpCode.Multi, multi);
        Assert.Equal(ErrorCode.Ok, p.Err);
        Assert.Equal(OpCode.Multi, p.Header.Type);
        ApplyResult r = h.Apply(p);
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.Equal(new CreateResponse("/m/c0000000000"), r.MultiResults![1].Response);
        Assert.Equal(1, h.Node("/m").Stat.Version);
    }

    [Fact]
    public void Multi_Failure_RollsBackAndReportsPerOp()
    {
        Harness h = NewHarness();
        h.Create(S, "/x");
        var multi = new MultiRequest([
            new MultiOp(OpCode.Create, Create("/new")),
            new MultiOp(OpCode.Delete, new DeleteRequest("/x", 7)),
            new MultiOp(OpCode.Create, Create("/other")),
        ]);
        PrepareResult p = h.Prepare(S, OpCode.Multi, multi);
        Assert.Equal(ErrorCode.BadVersion, p.Err);
        MultiTxn txn = Assert.IsType<MultiTxn>(p.Txn);
        Assert.Equal([OpCode.Create, OpCode.Error, OpCode.Error], txn.Txns.Select(t => t.Type));
        Assert.Equal(new ErrorTxn(ErrorCode.RuntimeInconsistency), txn.Txns[2].Txn);
        // the rolled back create of /new is not in the speculative view
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Create, Create("/new")).Err);
        ApplyResult r = h.Apply(p);
        Assert.Equal([ErrorCode.Ok, ErrorCode.BadVersion, ErrorCode.RuntimeInconsistency], r.MultiResults!.Select(m => m.Err));
        Assert.False(h.Tree.Exists("/other"));
    }

    [Fact]
    public void Multi_UnsupportedOp_MarshallingError()
    {
        Harness h = NewHarness();
        PrepareResult p = h.Prepare(S, OpCode.Multi, new MultiRequest([new MultiOp(OpCode.GetData, new GetDataRequest("/", false))]));
        Assert.Equal(ErrorCode.MarshallingError, p.Err);
        Assert.Equal(OpCode.Error, p.Header.Type);
    }

    [Fact]
    public void CloseSession_ListsCommittedAndInFlightEphemerals()
    {
        Harness h = NewHarness();
        h.Create(S, "/e1", mode: CreateMode.Ephemeral);
        h.Create(S, "/e2", mode: CreateMode.Ephemeral);
        PrepareResult pendingCreate = h.Prepare(S, OpCode.Create, Create("/e3", CreateMode.Ephemeral));
        PrepareResult pendingDelete = h.Prepare(S, OpCode.Delete, new DeleteRequest("/e1", -1));
        PrepareResult close = h.Prep.PrepareCloseSession(S, 9, h.NextZxid, h.NowMs);
        Assert.Equal(["/e2", "/e3"], Assert.IsType<CloseSessionTxn>(close.Txn).Paths2Delete);
        // the closing session can no longer write
        Assert.Equal(ErrorCode.SessionExpired, h.Prep.Prepare(S, 10, OpCode.Create, Create("/late"), Harness.NoAuth, h.NextZxid + 1, h.NowMs).Err);
        h.Apply(pendingCreate);
        h.Apply(pendingDelete);
        h.Apply(close);
        Assert.Empty(h.Tree.EphemeralsOf(S));
        Assert.False(h.Tree.Sessions.ContainsKey(S));
        Assert.Equal(0, h.Prep.OutstandingChanges);
    }

    [Fact]
    public void UnknownSession_SessionExpired_UnlessCheckDisabled()
    {
        var h = new Harness();
        Assert.Equal(ErrorCode.SessionExpired, h.Prepare(0x999, OpCode.Create, Create("/a")).Err);
        var lax = new Harness(new DataTreeOptions { CheckSessions = false });
        Assert.Equal(ErrorCode.Ok, lax.Prepare(0x999, OpCode.Create, Create("/a")).Err);
    }

    [Fact]
    public void DeleteContainer_OnlyEmptyContainersAndTtls()
    {
        Harness h = NewHarness();
        h.Run(S, OpCode.CreateContainer, Create("/c", CreateMode.Container));
        h.Create(S, "/c/x");
        h.Create(S, "/p");
        Assert.Equal(ErrorCode.NotEmpty, h.Prepare(0, OpCode.DeleteContainer, "/c").Err);
        Assert.Equal(ErrorCode.BadVersion, h.Prepare(0, OpCode.DeleteContainer, "/p").Err);
        h.Run(S, OpCode.Delete, new DeleteRequest("/c/x", -1));
        Assert.Equal(["/c"], h.Tree.FindExpiredContainersAndTtls(h.NowMs));
        ApplyResult r = h.Run(0, OpCode.DeleteContainer, "/c");
        Assert.Equal(ErrorCode.Ok, r.Err);
        Assert.False(h.Tree.Exists("/c"));
    }

    [Fact]
    public void Applied_DropsOnlyRecordsUpToZxid()
    {
        Harness h = NewHarness();
        PrepareResult a = h.Prepare(S, OpCode.Create, Create("/a"));
        PrepareResult b = h.Prepare(S, OpCode.Create, Create("/b"));
        Assert.Equal(4, h.Prep.OutstandingChanges);
        h.Apply(a);
        Assert.Equal(2, h.Prep.OutstandingChanges);
        // /b still pending: a second create is refused
        Assert.Equal(ErrorCode.NodeExists, h.Prepare(S, OpCode.Create, Create("/b")).Err);
        h.Apply(b);
        Assert.Equal(0, h.Prep.OutstandingChanges);
    }

    [Fact]
    public void SuperUser_PassesEveryCheck()
    {
        // ZooKeeperServer.checkACL: an id with scheme "super" (added by a superDigest match) skips the ACL.
        Harness h = NewHarness();
        h.Create(S, "/locked", acl: [new Acl(Perms.Read, new Id("digest", "nobody:x"))]);
        IReadOnlyList<Id> super = DigestAuthenticationProvider.Authenticate("super:admin"u8, "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
        Assert.Equal(ErrorCode.NoAuth, h.Prepare(S, OpCode.SetData, new SetDataRequest("/locked", [], -1)).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.SetData, new SetDataRequest("/locked", [], -1), super).Err);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.SetAcl, new SetAclRequest("/locked", Acl.OpenAclUnsafe, -1), super).Err);
    }

    [Fact]
    public void SkipAcl_DisablesChecks()
    {
        Harness h = NewHarness(new DataTreeOptions { SkipAcl = true });
        h.Create(S, "/ro", acl: Acl.ReadAclUnsafe);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.SetData, new SetDataRequest("/ro", [], -1)).Err);
    }

    [Fact]
    public void Reset_ForgetsSpeculativeState()
    {
        Harness h = NewHarness();
        h.Prepare(S, OpCode.Create, Create("/a"));
        h.Prep.Reset();
        Assert.Equal(0, h.Prep.OutstandingChanges);
        Assert.Equal(ErrorCode.Ok, h.Prepare(S, OpCode.Create, Create("/a")).Err);
    }

    [Fact]
    public void NullData_StaysTheJuteNullSentinel()
    {
        // ZooKeeper keeps null data null (getData returns null, the wire carries length -1); Jute's sentinel carries that.
        Harness h = NewHarness();
        h.Run(S, OpCode.Create, new CreateRequest("/n", null!, Acl.OpenAclUnsafe, CreateMode.Persistent));
        Assert.True(h.Tree.TryGetData("/n", out byte[] data, out Stat stat, out _));
        Assert.True(JuteNull.IsNull(data));
        Assert.Equal(0, stat.DataLength);
        h.Run(S, OpCode.SetData, new SetDataRequest("/n", JuteNull.Buffer, -1));
        Assert.True(h.Tree.TryGetData("/n", out data, out _, out _));
        Assert.Same(JuteNull.Buffer, data);
    }
}
