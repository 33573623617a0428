using FsCheck.Xunit;
using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// Random sequences of prepared-then-applied writes (several in flight at once, as the pipeline runs them) keep the tree's
// invariants; what prep accepted the tree applies without error; a replica fed the same transactions ends identical.
public class InvariantPropertyTests
{
    private static readonly string[] Paths = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/c"];

    [Property(MaxTest = 100)]
    public void RandomWrites_KeepInvariants(int seed)
    {
        var rng = new Random(seed);
        var h = new Harness();
        var replica = new ZnodeTree();
        var live = new List<long>();
        long nextSession = 1;
        var inFlight = new List<PrepareResult>();
        var log = new List<PrepareResult>();

        for (int step = 0; step < 120; step++)
        {
            PrepareResult? p = NextRequest(rng, h, live, ref nextSession);
            if (p is { } prepared)
            {
                inFlight.Add(prepared);
            }

            // Apply a random number of in-flight transactions, oldest first.
            if (inFlight.Count > 0 && (rng.Next(3) == 0 || inFlight.Count > 5))
            {
                int n = rng.Next(1, inFlight.Count + 1);
                for (int i = 0; i < n; i++)
                {
                    ApplyAndCheck(h, replica, inFlight[0]);
                    log.Add(inFlight[0]);
                    inFlight.RemoveAt(0);
                }
            }
        }

        foreach (PrepareResult p in inFlight)
        {
            ApplyAndCheck(h, replica, p);
            log.Add(p);
        }

        Assert.Equal(0, h.Prep.OutstandingChanges);
        CheckInvariants(h.Tree);
        Assert.Equal(h.Tree.ComputeDigest(), replica.ComputeDigest());

        // Fuzzy-snapshot replay (FileTxnSnapLog.restore): a snapshot taken at log position k2 and the log replayed from an
        // earlier position k1 converge on the same tree.
        int k2 = rng.Next(log.Count + 1);
        int k1 = rng.Next(k2 + 1);
        var snapshot = new ZnodeTree();
        for (int i = 0; i < k2; i++)
        {
            snapshot.Apply(log[i].Header, log[i].Txn);
        }

        for (int i = k1; i < log.Count; i++)
        {
            snapshot.Apply(log[i].Header, log[i].Txn);
            CheckInvariants(snapshot, settled: false); // mid-replay an ephemeral may outlive its session or briefly hold children
        }

        CheckInvariants(snapshot);

        if (h.Tree.ComputeDigest() != snapshot.ComputeDigest())
        {
            var a = h.Tree.EnumerateNodes().Select(v => $"{v.Path} {v.Stat} {v.Kind} {Convert.ToHexString(v.Data)}").ToList();
            var b = snapshot.EnumerateNodes().Select(v => $"{v.Path} {v.Stat} {v.Kind} {Convert.ToHexString(v.Data)}").ToList();
            string diff = $"k1={k1} k2={k2} n={log.Count}\nonly live:\n{string.Join("\n", a.Except(b))}\nonly replay:\n{string.Join("\n", b.Except(a))}\nlog:\n"
                + string.Join("\n", log.Select((p, i) => $"{i} {p.Header} {Describe(p.Txn)}"));
            Assert.Fail(diff);
        }

        Assert.Equal(h.Tree.Sessions.Keys, snapshot.Sessions.Keys);
        Assert.Equal(h.Tree.EphemeralCount, snapshot.EphemeralCount);
        Assert.Equal(h.Tree.ApproximateDataSize, snapshot.ApproximateDataSize);
        Assert.Equal(h.Tree.LastProcessedZxid, snapshot.LastProcessedZxid);
    }

    private static string Describe(object txn) => txn switch
    {
        MultiTxn m => "multi[" + string.Join("; ", m.Txns.Select(t => t.Type + " " + Describe(t.Txn))) + "]",
        CloseSessionTxn c => "close[" + string.Join(",", c.Paths2Delete) + "]",
        _ => txn.ToString() ?? "",
    };

    private static PrepareResult? NextRequest(Random rng, Harness h, List<long> live, ref long nextSession)
    {
        if (live.Count == 0 || rng.Next(12) == 0)
        {
            long s = nextSession++;
            live.Add(s);
            return h.Prep.PrepareCreateSession(s, 10_000, h.TakeZxid(), h.NowMs);
        }

        long session = live[rng.Next(live.Count)];
        if (rng.Next(15) == 0)
        {
            live.Remove(session);
            return h.Prep.PrepareCloseSession(session, 0, h.TakeZxid(), h.NowMs);
        }

        string path = Paths[rng.Next(Paths.Length)];
        int kind = rng.Next(7);
        return kind switch
        {
            0 or 1 => h.Prepare(session, OpCode.Create2, new CreateRequest(path, [(byte)rng.Next(256)], Acl.OpenAclUnsafe,
                (CreateMode)rng.Next(4))),
            2 => h.Prepare(session, OpCode.CreateContainer, new CreateRequest(path, [], Acl.OpenAclUnsafe, CreateMode.Container)),
            3 => h.Prepare(session, OpCode.Delete, new DeleteRequest(path, rng.Next(3) - 1)),
            4 => h.Prepare(session, OpCode.SetData, new SetDataRequest(path, new byte[rng.Next(4)], rng.Next(3) - 1)),
            5 => h.Prepare(session, OpCode.SetAcl, new SetAclRequest(path, Acl.OpenAclUnsafe, -1)),
            _ => h.Prepare(session, OpCode.Multi, new MultiRequest([
                new MultiOp(OpCode.Create, new CreateRequest(path, [], Acl.OpenAclUnsafe, (CreateMode)rng.Next(4))),
                new MultiOp(OpCode.Delete, new DeleteRequest(Paths[rng.Next(Paths.Length)], -1)),
                new MultiOp(OpCode.SetData, new SetDataRequest(Paths[rng.Next(Paths.Length)], [1], -1)),
            ])),
        };
    }

    private static void ApplyAndCheck(Harness h, ZnodeTree replica, PrepareResult p)
    {
        ApplyResult r = h.Apply(p);
        replica.Apply(p.Header, p.Txn);
        // Prep's speculative view was exact: accepted requests apply cleanly, refused ones report the same error.
        Assert.Equal(p.Err, r.Err);
        if (p.Header.Type == OpCode.Multi && !p.Failed)
        {
            Assert.All(r.MultiResults!, m => Assert.Equal(ErrorCode.Ok, m.Err));
        }

        CheckInvariants(h.Tree);
    }

    private static void CheckInvariants(ZnodeTree tree, bool settled = true)
    {
        int count = 0;
        foreach (ZnodeView v in tree.EnumerateNodes())
        {
            count++;
            Assert.Equal(v.Children.Count, v.Stat.NumChildren);
            Assert.Equal(v.Data.Length, v.Stat.DataLength);
            if (v.Path != "/")
            {
                Assert.True(tree.TryGetChildren(PathValidator.ParentOf(v.Path), out IReadOnlyList<string> siblings, out _), $"parent of {v.Path}");
                Assert.Contains(PathValidator.NameOf(v.Path), siblings);
            }

            foreach (string c in v.Children)
            {
                Assert.True(tree.Exists((v.Path == "/" ? "" : v.Path) + "/" + c));
            }

            if (v.Kind == ZnodeKind.Ephemeral)
            {
                Assert.True(!settled || tree.Sessions.ContainsKey(v.Stat.EphemeralOwner), $"owner of {v.Path} is live");
                Assert.Contains(v.Path, tree.EphemeralsOf(v.Stat.EphemeralOwner));
                Assert.True(!settled || v.Children.Count == 0, $"ephemeral {v.Path} has no children");
            }
            else
            {
                Assert.Equal(0, v.Stat.EphemeralOwner);
            }
        }

        Assert.Equal(tree.NodeCount, count);
        foreach (long s in tree.SessionsWithEphemerals)
        {
            foreach (string p in tree.EphemeralsOf(s))
            {
                Assert.True(tree.TryGetStat(p, out Stat st));
                Assert.Equal(s, st.EphemeralOwner);
            }
        }
    }
}
