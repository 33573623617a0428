using System.Text;
using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// ZooKeeper Programmer's Guide, "ZooKeeper access control using ACLs", and ZooKeeperServer.checkACL / fixupACL.
public class AclTests
{
    private static readonly IReadOnlyList<Id> Anonymous = [new Id("ip", "10.0.0.5")];

    [Fact]
    public void Generate_KnownVector_MatchesZooKeeperDocs()
    {
        // The ZooKeeper Administrator's Guide uses super:admin -> super:xQJmxLMiHGwaqBvst5y6rkB6HQs=.
        Assert.Equal("super:xQJmxLMiHGwaqBvst5y6rkB6HQs=", DigestAuthenticationProvider.Generate("super", "admin"));
        Assert.Equal("user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=", DigestAuthenticationProvider.GenerateDigest("user:password"));
    }

    [Fact]
    public void Authenticate_SuperDigest_AddsSuperId()
    {
        IReadOnlyList<Id> ids = DigestAuthenticationProvider.Authenticate(Encoding.UTF8.GetBytes("super:admin"), "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
        Assert.Contains(new Id("super", ""), ids);
        Assert.Contains(new Id("digest", "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="), ids);

        IReadOnlyList<Id> plain = DigestAuthenticationProvider.Authenticate(Encoding.UTF8.GetBytes("bob:pw"), "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
        Assert.Single(plain);
        Assert.Equal("digest", plain[0].Scheme);
    }

    [Fact]
    public void Check_World_AllowsAnyone()
    {
        Assert.True(AclChecker.Check(Acl.OpenAclUnsafe, Perms.Write, Anonymous));
        Assert.True(AclChecker.Check(Acl.ReadAclUnsafe, Perms.Read, Anonymous));
        Assert.False(AclChecker.Check(Acl.ReadAclUnsafe, Perms.Write, Anonymous));
    }

    [Fact]
    public void Check_EmptyAcl_AllowsEverything() => Assert.True(AclChecker.Check([], Perms.Admin, Anonymous));

    [Fact]
    public void Check_Digest_MatchesOnlyThatUser()
    {
        string id = DigestAuthenticationProvider.Generate("bob", "secret");
        IReadOnlyList<Acl> acl = [new Acl(Perms.All, new Id("digest", id))];
        Assert.True(AclChecker.Check(acl, Perms.Delete, [.. Anonymous, new Id("digest", id)]));
        Assert.False(AclChecker.Check(acl, Perms.Delete, [.. Anonymous, new Id("digest", DigestAuthenticationProvider.Generate("bob", "wrong"))]));
        Assert.False(AclChecker.Check(acl, Perms.Delete, Anonymous));
    }

    [Fact]
    public void Check_PermissionBitsMissing_Denies()
    {
        IReadOnlyList<Acl> acl = [new Acl(Perms.Read | Perms.Write, new Id("ip", "10.0.0.5"))];
        Assert.True(AclChecker.Check(acl, Perms.Write, Anonymous));
        Assert.False(AclChecker.Check(acl, Perms.Admin, Anonymous));
    }

    [Fact]
    public void Check_SuperId_BypassesEverything()
    {
        IReadOnlyList<Acl> acl = [new Acl(Perms.Read, new Id("digest", "x:y"))];
        Assert.True(AclChecker.Check(acl, Perms.Admin, [new Id("super", "")]));
    }

    [Theory]
    [InlineData("10.0.0.5", "10.0.0.5", true)]
    [InlineData("10.0.0.6", "10.0.0.5", false)]
    [InlineData("10.0.0.200", "10.0.0.0/24", true)]
    [InlineData("10.0.1.1", "10.0.0.0/24", false)]
    [InlineData("10.255.1.1", "10.0.0.0/8", true)]
    [InlineData("1.2.3.4", "0.0.0.0/0", true)]
    [InlineData("10.0.0.5", "10.0.0.0/33", false)]
    [InlineData("10.0.0.5", "10.0.0.0/x", false)]
    [InlineData("::ffff:10.0.0.5", "10.0.0.0/24", true)]
    [InlineData("2001:db8::1", "2001:db8::/32", true)]
    [InlineData("2001:db9::1", "2001:db8::/32", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("::1", "127.0.0.1", false)]
    public void IpMatches_AddressAndCidr(string client, string aclExpr, bool expected) =>
        Assert.Equal(expected, IpAuthenticationProvider.Matches(client, aclExpr));

    [Theory]
    [InlineData("10.0.0.1", true)]
    [InlineData("10.0.0.0/24", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0", false)]
    [InlineData("10.0.0.256", false)]
    [InlineData("host.example", false)]
    [InlineData("fe80::1/64", true)]
    public void IpIsValid_Cases(string expr, bool expected) => Assert.Equal(expected, IpAuthenticationProvider.IsValid(expr));

    [Theory]
    [InlineData("user:hash", true)]
    [InlineData("user:hash:", true)]   // Java split drops trailing empty strings
    [InlineData("user", false)]
    [InlineData("a:b:c", false)]
    public void DigestIsValid_FollowsJavaSplit(string id, bool expected) => Assert.Equal(expected, DigestAuthenticationProvider.IsValid(id));

    [Fact]
    public void FixupAcl_AuthScheme_ExpandsToDigestIdsOnly()
    {
        var digest = new Id("digest", "bob:abc=");
        ErrorCode err = AclChecker.FixupAcl([new Acl(Perms.All, Id.AuthIds)], [new Id("ip", "1.2.3.4"), digest], out IReadOnlyList<Acl> acl);
        Assert.Equal(ErrorCode.Ok, err);
        Assert.Equal([new Acl(Perms.All, digest)], acl);
    }

    [Fact]
    public void FixupAcl_AuthSchemeWithoutAuthenticatedIds_IsInvalidAcl() =>
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl(Acl.CreatorAllAcl, Anonymous, out _));

    [Fact]
    public void FixupAcl_BadEntries_AreInvalidAcl()
    {
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl([], Anonymous, out _));
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl([new Acl(Perms.All, new Id("world", "someone"))], Anonymous, out _));
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl([new Acl(Perms.All, new Id("digest", "nocolon"))], Anonymous, out _));
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl([new Acl(Perms.All, new Id("ip", "300.1.1.1"))], Anonymous, out _));
        Assert.Equal(ErrorCode.InvalidAcl, AclChecker.FixupAcl([new Acl(Perms.All, new Id("kerberos", "x"))], Anonymous, out _));
    }

    [Fact]
    public void FixupAcl_Duplicates_AreRemoved()
    {
        var a = new Acl(Perms.All, Id.AnyoneIdUnsafe);
        Assert.Equal(ErrorCode.Ok, AclChecker.FixupAcl([a, a], Anonymous, out IReadOnlyList<Acl> acl));
        Assert.Single(acl);
    }
}
