using Xunit;
using Zooflow.Compat.Tests.Infrastructure;
using Zooflow.TestKit;

namespace Zooflow.Compat.Tests;

/// <summary>
/// Python's kazoo (Debian python3-kazoo 2.8) through python/kazoo_compat.py. The expected lines were recorded from Apache
/// ZooKeeper 3.8 and reviewed; every test runs against both servers.
/// </summary>
public sealed class KazooTests(ServerPool pool)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private async Task AssertSectionAsync(ServerKind kind, string section, string expected)
    {
        var server = await pool.GetAsync(kind);
        var script = Path.Combine(Paths.Assets, "python", "kazoo_compat.py");
        var result = await ProcessRunner.RunAsync(Paths.Python, [script, section, server.ConnectString, ServerPool.UniqueRoot("kazoo")],
            Timeout, cancellationToken: TestContext.Current.CancellationToken);
        var actual = ClientOutput.Parse(result.StandardOutput);
        var mismatches = Expectations.Compare(expected, actual);
        if (result.ExitCode != 0 || !actual.ContainsKey("done") || mismatches.Count > 0)
        {
            Assert.Fail($"kazoo section '{section}' against {kind}:\n{string.Join('\n', mismatches)}\n{result}");
        }
    }

    /// <summary>create modes, versions, errors, path validation, a 1 MB value.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Crud_CreateGetSetDeleteExistsChildren_MatchZooKeeper(ServerKind kind) => AssertSectionAsync(kind, "crud", """
create.path=/a
create2.stat=v=0 cv=0 av=0 dl=2 nc=0 eo=0
create.seq=["/s-0000000002", "/s-0000000003", "/s-0000000004"]
create.ephemeralSeq=/s-0000000005
create.exists=NodeExistsError
create.noParent=NoNodeError
create.makepath=/x/y/z
create.underEphemeral=NoChildrenForEphemeralsError
create.badPath.nul=BadArgumentsError
create.badPath.ctl=BadArgumentsError
create.badPath.del=BadArgumentsError
create.badPath.c1=BadArgumentsError
create.badPath.private=BadArgumentsError
create.badPath.special=BadArgumentsError
create.unicode=/oké
get.data=hello
get.stat=v=0 cv=0 av=0 dl=5 nc=0 eo=0
get.missing=NoNodeError
set.stat=v=1 cv=0 av=0 dl=2 nc=0 eo=0
set.badVersion=BadVersionError
set.anyVersion=v=2 cv=0 av=0 dl=3 nc=0 eo=0
set.missing=NoNodeError
exists.some=v=2 cv=0 av=0 dl=3 nc=0 eo=0
exists.none=None
children=["a", "b", "eph", "ok\u00e9", "s-0000000002", "s-0000000003", "s-0000000004", "s-0000000005", "x"]
children2.stat=v=0 cv=9 av=0 dl=0 nc=9 eo=0
children.missing=NoNodeError
delete.notEmpty=NotEmptyError
delete.badVersion=BadVersionError
delete.ok=OK
delete.missing=NoNodeError
delete.recursive=OK
children.after=["b", "eph", "ok\u00e9", "s-0000000002", "s-0000000003", "s-0000000004", "s-0000000005"]
big.roundtrip=true
big.dataLength=998400
empty.data=b''
root.stat=v=0 cv=13 av=0 dl=0 nc=9 eo=0
""");

    /// <summary>world/digest/ip/auth ACLs, NoAuth before BadVersion, InvalidACL, DELETE on the parent, ADMIN for setACL, the super user.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Acls_WorldDigestIpAuth_DenialsAndInvalidAclsMatchZooKeeper(ServerKind kind) => AssertSectionAsync(kind, "acl", """
world.readOnly.get=OK
world.readOnly.set=NoAuthError
world.readOnly.setWrongVersion=NoAuthError
world.readOnly.create=NoAuthError
world.readOnly.setAcl=NoAuthError
digest.anonymous.get=NoAuthError
digest.anonymous.exists=OK
digest.alice.get=secret
digest.getAcl=["digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:31"]
digest.anonymous.getAcl=NoAuthError
digest.alice.setAcl.badVersion=BadVersionError
digest.alice.setAcl=v=0 cv=0 av=1 dl=6 nc=0 eo=0
digest.anonymous.getAfterSetAcl=secret
digest.addAuth.set=OK
ip.exact.set=OK
ip.cidr.set=OK
ip.otherNet.get=NoAuthError
auth.anonymous.create=InvalidACLError
auth.alice.storedAs=["digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:31"]
auth.anonymous.get=NoAuthError
invalid.ip=InvalidACLError
invalid.digest=InvalidACLError
invalid.scheme=InvalidACLError
invalid.setAcl=InvalidACLError
parent.noDelete.delete=NoAuthError
noAdmin.setAcl=NoAuthError
noAdmin.getAcl=OK
noRead.children=NoAuthError
noRead.exists=OK
super.get=empty
super.setAclNoAdmin=OK
super.getOtherNet=OK
super.deleteUnderNoDelete=OK
superWrongPassword.get=NoAuthError
""");

    /// <summary>multi through kazoo transactions.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Transactions_SuccessAndFailingCheck_AllOrNothingWithPerOperationResults(ServerKind kind) => AssertSectionAsync(kind, "txn", """
txn.ok=["/b", "/s-0000000002", "v=1 cv=0 av=0 dl=2 nc=0 eo=0", true, true]
txn.failCheck=["RolledBackError", "BadVersionError", "RuntimeInconsistency"]
txn.failCheck.cExists=false
txn.failCheck.aData=a1
txn.failNoNode=["RolledBackError", "NoNodeError"]
txn.failNoNode.aExists=true
root.stat=v=0 cv=4 av=0 dl=0 nc=2 eo=0
""");

    /// <summary>one-shot watches and their order.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Watches_OneShotDataChildExists_FireOnceInOrder(ServerKind kind) => AssertSectionAsync(kind, "watches", """
watch.first=["CHANGED /n", "CREATED /m", "CHILD "]
watch.second=["CHILD /n", "DELETED /m", "DELETED /n"]
watch.deleteFanout=["DELETED /p/q", "DELETED /p/q", "CHILD /p"]
""");

    /// <summary>ephemerals after closeSession.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Ephemerals_OwnerCloses_NodesRemovedAndWatchersNotified(ServerKind kind) => AssertSectionAsync(kind, "ephemerals", """
ephemeral.seqName=/es-0000000001
ephemeral.owner=true
ephemeral.afterClose=[]
ephemeral.events=["CHILD ", "DELETED /e"]
""");

    /// <summary>ephemerals after session expiry.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task SessionExpiry_OwnerProcessDies_EphemeralRemovedAfterTimeout(ServerKind kind) => AssertSectionAsync(kind, "expiry", """
expiry.deletedBySessionExpiry=true
expiry.children=[]
""");

    /// <summary>resuming a session by id and password.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Reconnect_WithSessionIdAndPassword_ResumesSessionAndEphemerals(ServerKind kind) => AssertSectionAsync(kind, "reconnect", """
reconnect.sameSession=true
reconnect.ephemeralKept=true
reconnect.ephemeralAfterClose=false
""");

    /// <summary>kazoo recipes built on the primitives.</summary>
    [Theory]
    [InlineData(ServerKind.ZooKeeper)]
    [InlineData(ServerKind.Zooflow)]
    public Task Recipes_LockCounterQueueWatchersBarrier_WorkUnchanged(ServerKind kind) => AssertSectionAsync(kind, "recipes", """
lock.a=true
lock.b.whileHeld=false
lock.contenders=["a"]
lock.b.afterRelease=true
counter.value=7
queue.order=["urgent", "one", "two", "three"]
queue.empty=None
datawatch.sequence=[null, "first", "second", null]
childrenwatch.sawExtra=true
barrier.waitWhileUp=false
barrier.waitAfterRemove=true
""");
}
