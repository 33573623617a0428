using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Persistence;
using Zooflow.Storage;
using Zooflow.TestKit;

namespace Zooflow.Server.Tests;

// The fuzzy snapshot writes nodes from FuzzyTreeWalk records; the bytes of each node must be those of the v1 format.
public class TreeSnapshotTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ZnodeTree SampleTree()
    {
        var tree = new ZnodeTree();
        long zxid = 0;
        void Apply(OpCode type, object txn, long session = 0) => tree.Apply(new TxnHeader(session, 1, ++zxid, 1_700_000_000_000 + zxid, type), txn);
        Apply(OpCode.CreateSession, new CreateSessionTxn(30_000), 0x77);
        Apply(OpCode.Create, new CreateTxn("/app", "config"u8.ToArray(), Acl.OpenAclUnsafe, false, -1));
        Apply(OpCode.Create, new CreateTxn("/app/é-ünïcode", [1, 2, 3], [new Acl(Perms.Read, new Id("digest", "u:h"))], false, -1));
        Apply(OpCode.Create, new CreateTxn("/app/eph", [], Acl.OpenAclUnsafe, true, -1), 0x77);
        Apply(OpCode.CreateContainer, new CreateContainerTxn("/app/cont", [], Acl.OpenAclUnsafe, -1));
        Apply(OpCode.CreateTtl, new CreateTtlTxn("/ttl", [9], Acl.OpenAclUnsafe, -1, 60_000));
        for (var i = 0; i < 40; i++)
        {
            Apply(OpCode.Create, new CreateTxn($"/app/cont/n{i:D3}", Encoding.UTF8.GetBytes("v" + i), Acl.OpenAclUnsafe, false, -1));
        }

        Apply(OpCode.SetData, new SetDataTxn("/app", "changed"u8.ToArray(), 1));
        return tree;
    }

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }

        return stream.ToArray();
    }

    [Fact]
    public void WriteNode_FromWalkRecord_SameBytesAsFromView()
    {
        var tree = SampleTree();
        var records = new NodeRecord[7];
        var walk = new FuzzyTreeWalk(tree);
        var scratch = new byte[4]; // too small on purpose: WriteNode must grow it
        var checkedNodes = 0;
        for (int n; (n = walk.Collect(records)) > 0;)
        {
            for (var i = 0; i < n; i++)
            {
                Assert.True(tree.TryGetNode(records[i].Path, out var view));
                var fromRecord = Bytes(w => TreeSnapshot.WriteNode(w, records[i], ref scratch));
                var fromView = Bytes(w => TreeSnapshot.WriteNode(w, view));
                Assert.Equal(fromView, fromRecord);
                checkedNodes++;
            }
        }

        Assert.Equal(tree.NodeCount, checkedNodes);
    }

    [Fact]
    public async Task TakeAsync_WhileTheTreeChangesBetweenChunks_LoadsIntoTheTreeAfterReplay()
    {
        // A tree bigger than one chunk, changed on every loop turn of the snapshot: the snapshot plus the replay of the
        // transactions after its zxid must give the final tree (the fuzzy snapshot contract).
        using var dir = new TempDir();
        var store = new SnapshotStore(dir.Path);
        var tree = new ZnodeTree();
        var log = new List<(TxnHeader Header, object Txn)>();
        long zxid = 0;
        void Apply(OpCode type, object txn)
        {
            var header = new TxnHeader(0, 1, ++zxid, 1_700_000_000_000 + zxid, type);
            tree.Apply(header, txn);
            log.Add((header, txn));
        }

        // Creates carry the parent's new cversion as prep assigns it, so a replayed create does not count twice.
        var childCreates = 0;
        void Create(string name, byte[] data) => Apply(OpCode.Create, new CreateTxn("/d/" + name, data, Acl.OpenAclUnsafe, false, ++childCreates));

        Apply(OpCode.Create, new CreateTxn("/d", [], Acl.OpenAclUnsafe, false, 1));
        for (var i = 0; i < Snapshotter.ChunkNodes + 500; i++)
        {
            Create($"n{i}", [(byte)i]);
        }

        var turn = 0;
        var snapshotter = new Snapshotter(store, (action, _) =>
        {
            action(tree);
            // Between loop turns: a delete, a create and a setData, as client writes would do.
            Apply(OpCode.Delete, new DeleteTxn($"/d/n{turn * 7}"));
            Create($"late{turn}", []);
            Apply(OpCode.SetData, new SetDataTxn($"/d/n{turn * 7 + 1}", [0xEE], 1));
            turn++;
            return Task.CompletedTask;
        }, NullLogger.Instance);

        var snapshotZxid = await snapshotter.TakeAsync(Ct);
        await snapshotter.DisposeAsync();

        Assert.True(turn >= 3, "the snapshot should take several loop turns");
        ZnodeTree? loaded = null;
        var result = await store.LoadNewestAsync((stream, info, _) =>
        {
            loaded = TreeSnapshot.Load(stream, info.Zxid);
            return ValueTask.CompletedTask;
        }, Ct);
        Assert.Equal(snapshotZxid, result.Loaded?.Zxid);
        Assert.NotNull(loaded);
        foreach (var (header, txn) in log.Where(t => t.Header.Zxid > snapshotZxid))
        {
            loaded.Apply(header, txn);
        }

        Assert.Equal(tree.NodeCount, loaded.NodeCount);
        Assert.Equal(tree.ComputeDigest(), loaded.ComputeDigest());
    }
}
