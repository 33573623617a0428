using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// Equal ACL lists are stored once (ZooKeeper's ReferenceCountedACLCache) and dropped when the last node using them goes.
public class AclSharingTests
{
    private const long Session = 0x5002;

    private static IReadOnlyList<Acl> FreshOpenAcl() => [new Acl(Perms.All, new Id(new string("world".AsSpan()), new string("anyone".AsSpan())))];

    private static IReadOnlyList<Acl> Digest(string user) => [new Acl(Perms.All, new Id("digest", user + ":hash"))];

    [Fact]
    public void Create_EqualAclsDecodedSeparately_ShareOneInstance()
    {
        var h = new Harness();
        h.OpenSession(Session);
        int distinct = h.Tree.DistinctAclCount;

        for (int i = 0; i < 50; i++)
        {
            h.Create(Session, "/n" + i, acl: FreshOpenAcl());
        }

        Assert.Equal(distinct, h.Tree.DistinctAclCount);
        Assert.True(h.Tree.TryGetAcl("/n0", out IReadOnlyList<Acl> first));
        Assert.Same(Acl.OpenAclUnsafe, first);
        Assert.True(h.Tree.TryGetAcl("/n49", out IReadOnlyList<Acl> last));
        Assert.Same(first, last);
    }

    [Fact]
    public void DeleteAndSetAcl_LastUserGone_DropsTheList()
    {
        var h = new Harness(new DataTreeOptions { SkipAcl = true });
        h.OpenSession(Session);
        int distinct = h.Tree.DistinctAclCount;
        h.Create(Session, "/x", acl: Digest("alice"));
        h.Create(Session, "/y", acl: Digest("alice"));
        Assert.Equal(distinct + 1, h.Tree.DistinctAclCount);

        Assert.Equal(ErrorCode.Ok, h.Run(Session, OpCode.Delete, new DeleteRequest("/x", -1)).Err);
        Assert.Equal(distinct + 1, h.Tree.DistinctAclCount); // /y still uses it

        Assert.Equal(ErrorCode.Ok, h.Run(Session, OpCode.SetAcl, new SetAclRequest("/y", Digest("bob"), -1)).Err);
        Assert.Equal(distinct + 1, h.Tree.DistinctAclCount); // alice's list gone, bob's added
        Assert.True(h.Tree.TryGetAcl("/y", out IReadOnlyList<Acl> acl));
        Assert.Equal(Digest("bob"), acl);

        Assert.Equal(ErrorCode.Ok, h.Run(Session, OpCode.Delete, new DeleteRequest("/y", -1)).Err);
        Assert.Equal(distinct, h.Tree.DistinctAclCount);
    }

    [Fact]
    public void Create_CallerChangesItsListAfterwards_TreeKeepsItsOwnCopy()
    {
        var h = new Harness(new DataTreeOptions { SkipAcl = true });
        h.OpenSession(Session);
        var mutable = new List<Acl> { new(Perms.Read, new Id("digest", "carol:hash")) };
        h.Tree.Apply(new TxnHeader(Session, 1, h.TakeZxid(), h.NowMs, OpCode.Create), new CreateTxn("/c", [], mutable, false, -1));

        mutable[0] = new Acl(Perms.All, Id.AnyoneIdUnsafe);

        Assert.True(h.Tree.TryGetAcl("/c", out IReadOnlyList<Acl> acl));
        Assert.Equal([new Acl(Perms.Read, new Id("digest", "carol:hash"))], acl);
    }
}
