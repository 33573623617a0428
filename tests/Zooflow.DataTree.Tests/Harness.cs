using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

/// <summary>Tree + prep stage + zxid counter + a fake clock: prepare, apply, clean up, like the server's write path.</summary>
internal sealed class Harness
{
    public static readonly IReadOnlyList<Id> NoAuth = [new Id("ip", "127.0.0.1")];

    public Harness(DataTreeOptions? options = null)
    {
        Tree = new ZnodeTree();
        Prep = new RequestPreparer(Tree, options);
    }

    public ZnodeTree Tree { get; }

    public RequestPreparer Prep { get; }

    public long NextZxid { get; private set; } = 1;

    public long NowMs { get; set; } = 1_700_000_000_000;

    public long TakeZxid() => NextZxid++;

    public PrepareResult Prepare(long session, OpCode type, object? request, IReadOnlyList<Id>? auth = null) =>
        Prep.Prepare(session, 1, type, request, auth ?? NoAuth, NextZxid++, NowMs);

    public ApplyResult Apply(PrepareResult p)
    {
        ApplyResult r = Tree.Apply(p.Header, p.Txn);
        Prep.Applied(p.Header.Zxid);
        return r;
    }

    public ApplyResult Run(long session, OpCode type, object? request, IReadOnlyList<Id>? auth = null) => Apply(Prepare(session, type, request, auth));

    public long OpenSession(long session, int timeoutMs = 30_000)
    {
        Apply(Prep.PrepareCreateSession(session, timeoutMs, NextZxid++, NowMs));
        return session;
    }

    public ApplyResult Create(long session, string path, string data = "", CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null,
        IReadOnlyList<Id>? auth = null) =>
        Run(session, OpCode.Create2, new CreateRequest(path, System.Text.Encoding.UTF8.GetBytes(data), acl ?? Acl.OpenAclUnsafe, mode), auth);

    public ZnodeView Node(string path)
    {
        Assert.True(Tree.TryGetNode(path, out ZnodeView v), $"node {path} should exist");
        return v;
    }
}
