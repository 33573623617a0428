using Zooflow.Jute;

namespace Zooflow.DataTree.Tests;

// WatchManager.triggerWatch / WatcherModeManager / DataTree.setWatches (ZooKeeper 3.8) and the Programmer's Guide
// "ZooKeeper Watches" (one-time triggers, persistent and recursive watches).
public class WatchManagerTests
{
    private const long A = 1;
    private const long B = 2;

    private static WatchTrigger T(string path, EventType type) => new(path, type, Acl.OpenAclUnsafe);

    private static List<(long, EventType, string)> Fire(WatchManager w, params WatchTrigger[] triggers) =>
        w.TriggerAll(triggers).Select(d => (d.SessionId, d.Event.Type, d.Event.Path)).ToList();

    [Fact]
    public void DataWatch_IsOneShot()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Data);
        Assert.Equal([(A, EventType.NodeDataChanged, "/a")], Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Empty(Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Equal(0, w.WatchCount);
    }

    [Fact]
    public void ChildWatch_FiresOnChildrenChangedOnly()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Child);
        Assert.Empty(Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Equal([(A, EventType.NodeChildrenChanged, "/a")], Fire(w, T("/a", EventType.NodeChildrenChanged)));
        Assert.Empty(Fire(w, T("/a", EventType.NodeChildrenChanged)));
    }

    [Fact]
    public void Delete_NotifiesDataAndChildWatchersOncePerSession()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Data);
        w.AddWatch(A, "/a", WatchKind.Child);
        w.AddWatch(B, "/a", WatchKind.Child);
        Assert.Equal([(A, EventType.NodeDeleted, "/a"), (B, EventType.NodeDeleted, "/a")], Fire(w, T("/a", EventType.NodeDeleted)));
        Assert.Equal(0, w.WatchCount);
    }

    [Fact]
    public void ExistWatchOnMissingNode_FiresOnCreate()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/new", WatchKind.Data);
        Assert.Equal([(A, EventType.NodeCreated, "/new")], Fire(w, T("/new", EventType.NodeCreated), T("/", EventType.NodeChildrenChanged)));
    }

    [Fact]
    public void PersistentWatch_StaysAndSeesDataAndChildEventsOfItsPathOnly()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", AddWatchMode.Persistent);
        Assert.Equal([(A, EventType.NodeDataChanged, "/a")], Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Equal([(A, EventType.NodeChildrenChanged, "/a")], Fire(w, T("/a", EventType.NodeChildrenChanged)));
        Assert.Empty(Fire(w, T("/a/b", EventType.NodeCreated)));
        Assert.Equal([(A, EventType.NodeDataChanged, "/a")], Fire(w, T("/a", EventType.NodeDataChanged)));
    }

    [Fact]
    public void RecursiveWatch_SeesDescendantsButNeverChildrenChanged()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", AddWatchMode.PersistentRecursive);
        List<(long, EventType, string)> events = Fire(w,
            T("/a/b/c", EventType.NodeCreated), T("/a/b", EventType.NodeChildrenChanged),
            T("/a/b/c", EventType.NodeDataChanged), T("/a/b/c", EventType.NodeDeleted), T("/a/b", EventType.NodeChildrenChanged),
            T("/other", EventType.NodeCreated));
        Assert.Equal([(A, EventType.NodeCreated, "/a/b/c"), (A, EventType.NodeDataChanged, "/a/b/c"), (A, EventType.NodeDeleted, "/a/b/c")], events);
    }

    [Fact]
    public void RecursiveAndOneShot_SameSessionGetsOneEventPerTrigger()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/", AddWatchMode.PersistentRecursive);
        w.AddWatch(A, "/x", WatchKind.Data);
        Assert.Equal([(A, EventType.NodeDataChanged, "/x")], Fire(w, T("/x", EventType.NodeDataChanged)));
    }

    [Fact]
    public void RemoveWatches_ByType_NoWatcherWhenAbsent()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Data);
        w.AddWatch(A, "/a", WatchKind.Child);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/a", WatcherType.Children));
        Assert.Equal(ErrorCode.Ok, w.RemoveWatches(A, "/a", WatcherType.Children));
        Assert.Equal(ErrorCode.NoWatcher, w.RemoveWatches(A, "/a", WatcherType.Children));
        Assert.Equal(ErrorCode.NoWatcher, w.CheckWatches(A, "/a", WatcherType.Children));
        Assert.Equal(ErrorCode.Ok, w.RemoveWatches(A, "/a", WatcherType.Any));
        Assert.Equal(ErrorCode.NoWatcher, w.RemoveWatches(A, "/a", WatcherType.Any));
        Assert.Equal(ErrorCode.NoWatcher, w.RemoveWatches(B, "/zzz", WatcherType.Data));
    }

    [Fact]
    public void RemoveWatches_PersistentRecursive()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", AddWatchMode.PersistentRecursive);
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/a", WatcherType.PersistentRecursive));
        Assert.Equal(ErrorCode.NoWatcher, w.RemoveWatches(A, "/a", WatcherType.Persistent));
        Assert.Equal(ErrorCode.Ok, w.RemoveWatches(A, "/a", WatcherType.PersistentRecursive));
        Assert.Empty(Fire(w, T("/a/b", EventType.NodeCreated)));
    }

    [Fact]
    public void RemoveSession_DropsEverything()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Data);
        w.AddWatch(A, "/b", AddWatchMode.PersistentRecursive);
        w.AddWatch(B, "/a", WatchKind.Data);
        w.RemoveSession(A);
        Assert.Equal([(B, EventType.NodeDataChanged, "/a")], Fire(w, T("/a", EventType.NodeDataChanged), T("/b/c", EventType.NodeCreated)));
        Assert.Equal(0, w.WatchingSessionCount);
    }

    [Fact]
    public void Listings_ForFourLetterWords()
    {
        // mntr zk_watch_count counts both tables; wchs/wchc/wchp show the data table only (DataTree.dumpWatches*).
        var w = new WatchManager();
        w.AddWatch(A, "/a", WatchKind.Data);
        w.AddWatch(A, "/b", WatchKind.Child);
        w.AddWatch(B, "/a", WatchKind.Child);
        w.AddWatch(B, "/c", WatchKind.Data);
        Assert.Equal(4, w.WatchCount);
        Assert.Equal(2, w.DataWatchCount);
        Assert.Equal(2, w.WatchedPathCount);
        Assert.Equal(2, w.WatchingSessionCount);
        IReadOnlyList<(long SessionId, IReadOnlyList<string> Paths)> bySession = w.WatchesBySession();
        Assert.Equal(A, bySession[0].SessionId);
        Assert.Equal(["/a"], bySession[0].Paths);
        Assert.Equal(["/a", "/b"], w.WatchesBySession(includeChildWatches: true)[0].Paths);
        IReadOnlyList<(string Path, IReadOnlyList<long> SessionIds)> byPath = w.WatchesByPath();
        Assert.Equal(["/a", "/c"], byPath.Select(p => p.Path));
        Assert.Equal([A], byPath[0].SessionIds);
        Assert.Equal([A, B], w.WatchesByPath(includeChildWatches: true)[0].SessionIds);
    }

    [Fact]
    public void Trigger_WithoutReadPermission_IsNotDelivered()
    {
        // NIOServerCnxn.process(WatchedEvent, List<ACL>): events are filtered by READ permission on the znode.
        var w = new WatchManager();
        w.AddWatch(A, "/s", WatchKind.Data);
        w.AddWatch(B, "/s", WatchKind.Data);
        var bob = new Id("digest", "bob:x");
        var trigger = new WatchTrigger("/s", EventType.NodeDataChanged, [new Acl(Perms.Read, bob)]);
        IReadOnlyList<WatchDelivery> d = w.Trigger(trigger, s => s == A ? [bob] : [new Id("ip", "1.1.1.1")]);
        Assert.Equal([A], d.Select(x => x.SessionId));
        Assert.Equal(0, w.WatchCount); // both one-shot watches were consumed
    }

    [Fact]
    public void SetWatches_FiresCatchUpEventsAndRegistersTheRest()
    {
        // DataTree.setWatches.
        var tree = new ZnodeTree();
        TxnHeader H(long zxid, OpCode type) => new(A, 1, zxid, 0, type);
        tree.Apply(H(1, OpCode.Create), new CreateTxn("/old", [], Acl.OpenAclUnsafe, false, 1));
        tree.Apply(H(2, OpCode.Create), new CreateTxn("/changed", [], Acl.OpenAclUnsafe, false, 2));
        tree.Apply(H(3, OpCode.Create), new CreateTxn("/kids", [], Acl.OpenAclUnsafe, false, 3));
        tree.Apply(H(10, OpCode.SetData), new SetDataTxn("/changed", [1], 1));
        tree.Apply(H(11, OpCode.Create), new CreateTxn("/kids/k", [], Acl.OpenAclUnsafe, false, 1));

        var w = new WatchManager();
        IReadOnlyList<WatchDelivery> due = w.SetWatches(A, relativeZxid: 5, tree,
            dataWatches: ["/old", "/changed", "/gone"], existWatches: ["/old", "/notyet"], childWatches: ["/kids", "/old", "/gone2"],
            persistentWatches: ["/p"], persistentRecursiveWatches: ["/r"]);
        Assert.Equal(
            [(EventType.NodeDataChanged, "/changed"), (EventType.NodeDeleted, "/gone"), (EventType.NodeCreated, "/old"),
             (EventType.NodeChildrenChanged, "/kids"), (EventType.NodeDeleted, "/gone2")],
            due.Select(d => (d.Event.Type, d.Event.Path)));
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/old", WatcherType.Data));
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/notyet", WatcherType.Data));
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/old", WatcherType.Children));
        Assert.Equal(ErrorCode.NoWatcher, w.CheckWatches(A, "/kids", WatcherType.Children));
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/p", WatcherType.Persistent));
        Assert.Equal(ErrorCode.Ok, w.CheckWatches(A, "/r", WatcherType.PersistentRecursive));
    }

    [Fact]
    public void EndToEnd_TreeTriggersDriveWatches()
    {
        var h = new Harness();
        h.OpenSession(A);
        var w = new WatchManager();
        w.AddWatch(B, "/", WatchKind.Child);
        w.AddWatch(B, "/n", WatchKind.Data);
        ApplyResult r = h.Create(A, "/n");
        Assert.Equal([(B, EventType.NodeCreated, "/n"), (B, EventType.NodeChildrenChanged, "/")], w.TriggerAll(r.Triggers).Select(d => (d.SessionId, d.Event.Type, d.Event.Path)));
    }

    [Fact]
    public void OneShotAfterPersistentOnSamePath_ReplacesTheMode_As38Does()
    {
        // ZooKeeper 3.8 WatcherModeManager keeps one mode per (watcher, path): getData(watch) after addWatch(PERSISTENT)
        // turns the data-table entry into a one-shot watch (ZOOKEEPER-4466 changed this only in later releases).
        var w = new WatchManager();
        w.AddWatch(A, "/a", AddWatchMode.Persistent);
        w.AddWatch(A, "/a", WatchKind.Data);
        Assert.Single(Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Empty(Fire(w, T("/a", EventType.NodeDataChanged)));
        Assert.Single(Fire(w, T("/a", EventType.NodeChildrenChanged))); // the child-table entry is still persistent
        Assert.Single(Fire(w, T("/a", EventType.NodeChildrenChanged)));
    }

    [Fact]
    public void PersistentWatch_OnDelete_FiresOnceAndStays()
    {
        var w = new WatchManager();
        w.AddWatch(A, "/a", AddWatchMode.Persistent);
        Assert.Equal([(A, EventType.NodeDeleted, "/a")], Fire(w, T("/a", EventType.NodeDeleted)));
        Assert.Equal([(A, EventType.NodeCreated, "/a")], Fire(w, T("/a", EventType.NodeCreated)));
    }
}
