using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// The fuzzy snapshot's walk: resumable between transactions, parents first, each surviving node once.
public class FuzzyTreeWalkTests
{
    private const long Session = 0x5001;

    private static Harness TreeWithDirectories()
    {
        var h = new Harness(new DataTreeOptions { ExtendedTypesEnabled = true });
        h.OpenSession(Session);
        foreach (string dir in new[] { "/a", "/a/b", "/a/b/c", "/d", "/e" })
        {
            h.Create(Session, dir, "dir " + dir);
        }

        for (int i = 0; i < 25; i++)
        {
            h.Create(Session, "/a/b/n" + i, "leaf " + i);
            h.Create(Session, "/d/m" + i, "leaf " + i);
        }

        h.Create(Session, "/a/b/c/eph", "e", CreateMode.Ephemeral);
        return h;
    }

    private static List<NodeRecord> WalkAll(ZnodeTree tree, int chunk, Action<int>? betweenChunks = null)
    {
        var walk = new FuzzyTreeWalk(tree);
        var buffer = new NodeRecord[chunk];
        var all = new List<NodeRecord>();
        for (int turn = 0; ; turn++)
        {
            int n = walk.Collect(buffer);
            if (n == 0)
            {
                break;
            }

            Assert.InRange(n, 1, chunk);
            all.AddRange(buffer.AsSpan(0, n).ToArray());
            betweenChunks?.Invoke(turn);
        }

        Assert.True(walk.IsDone);
        return all;
    }

    private static void AssertParentsFirst(IEnumerable<string> paths)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string p in paths)
        {
            if (p != "/")
            {
                Assert.Contains(PathValidator.ParentOf(p), seen);
            }

            Assert.True(seen.Add(p), $"{p} visited twice");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Collect_QuietTree_VisitsEveryNodeOnceParentsFirst(int chunk)
    {
        Harness h = TreeWithDirectories();

        List<string> paths = WalkAll(h.Tree, chunk).Select(r => r.Path).ToList();

        AssertParentsFirst(paths);
        Assert.Equal(h.Tree.EnumerateNodes().Select(v => v.Path).Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Collect_Records_CarryTheStoredFieldsOfEachNode()
    {
        Harness h = TreeWithDirectories();
        h.Run(Session, OpCode.SetData, new SetDataRequest("/a/b/n3", "changed"u8.ToArray(), -1));
        Assert.Equal(ErrorCode.Ok, h.Run(Session, OpCode.CreateContainer, new CreateRequest("/cont", [], Acl.OpenAclUnsafe, CreateMode.Container)).Err);
        Assert.Equal(ErrorCode.Ok,
            h.Run(Session, OpCode.CreateTtl, new CreateTtlRequest("/ttl", [], Acl.OpenAclUnsafe, CreateMode.PersistentWithTtl, 5000)).Err);

        List<NodeRecord> records = WalkAll(h.Tree, 4);

        Assert.Equal(h.Tree.NodeCount, records.Count);
        foreach (NodeRecord r in records)
        {
            ZnodeView v = h.Node(r.Path);
            Assert.Same(v.Data, r.Data);
            Assert.Equal(v.Acl, r.Acl);
            Assert.Equal((v.Stat.Czxid, v.Stat.Mzxid, v.Stat.Pzxid, v.Stat.Ctime, v.Stat.Mtime, v.Stat.Version, v.Stat.Aversion),
                (r.Czxid, r.Mzxid, r.Pzxid, r.Ctime, r.Mtime, r.Version, r.Aversion));
            Assert.Equal(v.StoredCversion, r.StoredCversion);
            Assert.Equal(v.RawEphemeralOwner, r.RawEphemeralOwner);
        }

        Assert.Equal(Session, records.Single(r => r.Path == "/a/b/c/eph").RawEphemeralOwner);
        Assert.Equal(EphemeralOwner.Container, records.Single(r => r.Path == "/cont").RawEphemeralOwner);
        Assert.Equal(EphemeralOwner.ForTtl(5000), records.Single(r => r.Path == "/ttl").RawEphemeralOwner);
        Assert.Null(records[0].ParentPath);
        Assert.Equal("/", records[0].Path);
    }

    [Fact]
    public void Collect_WritesBetweenChunks_SkipsDeletedNodesAndKeepsEverySurvivorOnce()
    {
        Harness h = TreeWithDirectories();
        var before = h.Tree.EnumerateNodes().Select(v => v.Path).ToHashSet(StringComparer.Ordinal);
        var deletedAtTurn = new Dictionary<string, int>(StringComparer.Ordinal);
        var created = new HashSet<string>(StringComparer.Ordinal);
        var walk = new FuzzyTreeWalk(h.Tree);
        var buffer = new NodeRecord[5];
        var emittedAtTurn = new List<(string Path, int Turn)>();
        for (int turn = 0; walk.Collect(buffer) is int n and > 0; turn++)
        {
            emittedAtTurn.AddRange(buffer.Take(n).Select(r => (r.Path, turn)));
            // Between chunks: delete two leaves and add one, in directories the walk has and has not reached yet.
            foreach (string p in new[] { $"/a/b/n{24 - turn}", $"/d/m{turn}" })
            {
                if (h.Tree.Exists(p))
                {
                    Assert.Equal(ErrorCode.Ok, h.Run(Session, OpCode.Delete, new DeleteRequest(p, -1)).Err);
                    deletedAtTurn[p] = turn;
                }
            }

            string fresh = $"/e/new{turn}";
            h.Create(Session, fresh);
            created.Add(fresh);
        }

        List<string> paths = emittedAtTurn.Select(e => e.Path).ToList();
        AssertParentsFirst(paths);
        Assert.True(deletedAtTurn.Count >= 10, "the walk should span enough turns to delete nodes on both sides of it");
        // A deleted node is emitted only if the walk reached it before its delete, never after.
        foreach ((string path, int turn) in emittedAtTurn)
        {
            if (deletedAtTurn.TryGetValue(path, out int deletedTurn))
            {
                Assert.True(turn <= deletedTurn, $"{path} emitted in turn {turn} after its delete in turn {deletedTurn}");
            }
        }

        Assert.Contains(deletedAtTurn.Keys, p => !paths.Contains(p));
        // Every node present for the whole walk is in it exactly once; nothing is invented.
        foreach (string p in before.Where(p => !deletedAtTurn.ContainsKey(p)))
        {
            Assert.Single(paths, p);
        }

        Assert.All(paths, p => Assert.True(before.Contains(p) || created.Contains(p), p));
    }

    [Fact]
    public void Collect_DirectoryDeletedBeforeItsTurn_IsSkippedWithItsChildren()
    {
        var h = new Harness();
        h.OpenSession(Session);
        h.Create(Session, "/first");
        h.Create(Session, "/gone");
        h.Create(Session, "/gone/child");
        var walk = new FuzzyTreeWalk(h.Tree);
        var buffer = new NodeRecord[1];

        Assert.Equal(1, walk.Collect(buffer)); // the root; its children are copied now
        Assert.Equal("/", buffer[0].Path);
        h.Run(Session, OpCode.Delete, new DeleteRequest("/gone/child", -1));
        h.Run(Session, OpCode.Delete, new DeleteRequest("/gone", -1));
        var rest = new List<string>();
        while (walk.Collect(buffer) == 1)
        {
            rest.Add(buffer[0].Path);
        }

        Assert.DoesNotContain("/gone", rest);
        Assert.DoesNotContain("/gone/child", rest);
        Assert.Contains("/first", rest);
        Assert.Contains("/zookeeper/quota", rest);
    }
}
