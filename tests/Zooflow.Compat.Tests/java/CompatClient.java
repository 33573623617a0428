// Drives a ZooKeeper-compatible server with the official Apache ZooKeeper Java client (Debian libzookeeper-java 3.8).
// Compiled and run by Zooflow.Compat.Tests against both Apache ZooKeeper and Zooflow; every section prints
// "key=value" lines that the C# tests assert on, so the same expectations are proven on the reference server first.
//
// Usage: java CompatClient <section> <host:port> <root> [args...]
// Sections: create2 container ttl allchildren ephemerals multiread persistent recursive removewatches whoami sync
//           ordering sessions reconnect multi diff
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class CompatClient {
    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;
    static final byte[] EMPTY = new byte[0];
    static String connect;
    static String root;

    public static void main(String[] args) throws Exception {
        String section = args[0];
        connect = args[1];
        root = args[2];
        try {
            switch (section) {
                case "create2" -> create2();
                case "container" -> container();
                case "ttl" -> ttl();
                case "allchildren" -> allChildren();
                case "ephemerals" -> ephemerals();
                case "multiread" -> multiRead();
                case "persistent" -> persistent();
                case "recursive" -> recursive();
                case "removewatches" -> removeWatches();
                case "whoami" -> whoAmI();
                case "sync" -> sync();
                case "ordering" -> ordering();
                case "sessions" -> sessions();
                case "reconnect" -> reconnect();
                case "reconnectPlain" -> reconnectPlain();
                case "expiry" -> expiry();
                case "multi" -> multi();
                case "diff" -> new Diff(Long.parseLong(args[3]), Integer.parseInt(args[4])).run();
                default -> throw new IllegalArgumentException("unknown section " + section);
            }
            out("done", "true");
        } catch (Throwable t) {
            System.out.flush();
            t.printStackTrace();
            System.exit(2);
        }
        System.out.flush();
        System.exit(0);
    }

    static void out(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] d) {
        return d == null ? "null" : new String(d, StandardCharsets.UTF_8);
    }

    /** Records node events (type != None) as "Type path" and session states, in delivery order. */
    static class Recorder implements Watcher {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<String> states = new CopyOnWriteArrayList<>();
        volatile CountDownLatch connected = new CountDownLatch(1);
        final CountDownLatch expired = new CountDownLatch(1);

        @Override
        public void process(WatchedEvent e) {
            if (e.getType() == Event.EventType.None) {
                states.add(e.getState().name());
                if (e.getState() == Event.KeeperState.SyncConnected) connected.countDown();
                if (e.getState() == Event.KeeperState.Expired) expired.countDown();
            } else {
                events.add(e.getType().name() + " " + e.getPath());
            }
        }

        List<String> drain() {
            List<String> copy = new ArrayList<>(events);
            events.clear();
            return copy;
        }
    }

    static ZooKeeper open(Recorder r) throws Exception {
        return open(connect, r, 0, null);
    }

    static ZooKeeper open(String cs, Recorder r, long sessionId, byte[] password) throws Exception {
        ZooKeeper zk = password == null ? new ZooKeeper(cs, 10000, r) : new ZooKeeper(cs, 10000, r, sessionId, password);
        if (!r.connected.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("no SyncConnected from " + cs);
        return zk;
    }

    /** Returns once every callback and watch event queued before it on this client has been delivered. */
    static void barrier(ZooKeeper zk) throws Exception {
        CountDownLatch l = new CountDownLatch(1);
        zk.exists("/", false, (rc, p, c, st) -> l.countDown(), null);
        if (!l.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("barrier timed out");
    }

    static String err(KeeperException e) {
        return e.code().name();
    }

    static String stat(Stat st) {
        if (st == null) return "null";
        return "v=" + st.getVersion() + " cv=" + st.getCversion() + " av=" + st.getAversion() + " dl=" + st.getDataLength()
                + " nc=" + st.getNumChildren();
    }

    static void create2() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        Stat st = new Stat();
        String p = zk.create(root + "/p", b("abc"), OPEN, CreateMode.PERSISTENT, st);
        out("create2.path", p.substring(root.length()));
        out("create2.stat", stat(st));
        out("create2.czxidEqMzxid", st.getCzxid() == st.getMzxid());
        out("create2.czxidEqPzxid", st.getCzxid() == st.getPzxid());
        out("create2.ephemeralOwner", st.getEphemeralOwner());
        out("create2.ctimeEqMtime", st.getCtime() == st.getMtime());
        Stat est = new Stat();
        zk.create(root + "/e", b("x"), OPEN, CreateMode.EPHEMERAL, est);
        out("create2.ephemeral.ownerIsSession", est.getEphemeralOwner() == zk.getSessionId());
        Stat sst = new Stat();
        String sp = zk.create(root + "/s-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL, sst);
        out("create2.sequential.path", sp.substring(root.length()));
        String sp2 = zk.create(root + "/s-", EMPTY, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, sst);
        out("create2.sequential2.path", sp2.substring(root.length()));
        out("create2.sequential2.ownerIsSession", sst.getEphemeralOwner() == zk.getSessionId());
        Stat rootStat = zk.exists(root, false);
        out("create2.parent", stat(rootStat));
        out("create2.parent.pzxidIsLastChild", rootStat.getPzxid() == sst.getCzxid());
        try {
            zk.create(root + "/p", EMPTY, OPEN, CreateMode.PERSISTENT, new Stat());
            out("create2.duplicate", "OK");
        } catch (KeeperException e) {
            out("create2.duplicate", err(e));
        }
        try {
            zk.create(root + "/missing/child", EMPTY, OPEN, CreateMode.PERSISTENT, new Stat());
            out("create2.noParent", "OK");
        } catch (KeeperException e) {
            out("create2.noParent", err(e));
        }
        try {
            zk.create(root + "/e/child", EMPTY, OPEN, CreateMode.PERSISTENT, new Stat());
            out("create2.underEphemeral", "OK");
        } catch (KeeperException e) {
            out("create2.underEphemeral", err(e));
        }
        zk.close();
    }

    static boolean waitGone(ZooKeeper zk, String path, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (zk.exists(path, false) == null) return true;
            Thread.sleep(100);
        }
        return false;
    }

    static void container() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        Stat st = new Stat();
        zk.create(root + "/c", b("cd"), OPEN, CreateMode.CONTAINER, st);
        out("container.stat", stat(st));
        out("container.ephemeralOwner", st.getEphemeralOwner());
        zk.create(root + "/c/child", EMPTY, OPEN, CreateMode.PERSISTENT);
        try {
            zk.create(root + "/c", EMPTY, OPEN, CreateMode.CONTAINER, new Stat());
            out("container.duplicate", "OK");
        } catch (KeeperException e) {
            out("container.duplicate", err(e));
        }
        // a container keeps living while it has children
        Stat cst = zk.exists(root + "/c", false);
        out("container.withChild", stat(cst));
        zk.exists(root + "/c", true);
        zk.delete(root + "/c/child", -1);
        out("container.reapedAfterLastChild", waitGone(zk, root + "/c", 20));
        barrier(zk);
        out("container.events", r.drain());
        zk.close();
    }

    static void ttl() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        Stat st = new Stat();
        zk.create(root + "/t", b("tt"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 500);
        out("ttl.stat", stat(st));
        out("ttl.ephemeralOwner", st.getEphemeralOwner());
        String sp = zk.create(root + "/ts-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 500);
        out("ttl.sequential.path", sp.substring(root.length()));
        // a TTL node with a child is not reaped while the child lives
        zk.create(root + "/tp", EMPTY, OPEN, CreateMode.PERSISTENT_WITH_TTL, new Stat(), 500);
        zk.create(root + "/tp/kid", EMPTY, OPEN, CreateMode.PERSISTENT);
        out("ttl.reaped", waitGone(zk, root + "/t", 20));
        out("ttl.sequential.reaped", waitGone(zk, sp, 20));
        out("ttl.withChild.exists", zk.exists(root + "/tp", false) != null);
        zk.delete(root + "/tp/kid", -1);
        out("ttl.withChild.reapedAfterChild", waitGone(zk, root + "/tp", 20));
        // a TTL node kept fresh by modification? not deterministic; a TTL node with too large a TTL is refused
        zk.close();
    }

    static void allChildren() throws Exception {
        ZooKeeper zk = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        for (String p : new String[] {"/a", "/a/b", "/a/c", "/a/c/d", "/e"}) zk.create(root + p, EMPTY, OPEN, CreateMode.PERSISTENT);
        out("allchildren.root", zk.getAllChildrenNumber(root));
        out("allchildren.a", zk.getAllChildrenNumber(root + "/a"));
        out("allchildren.leaf", zk.getAllChildrenNumber(root + "/e"));
        try {
            out("allchildren.missing", zk.getAllChildrenNumber(root + "/zz"));
        } catch (KeeperException e) {
            out("allchildren.missing", err(e));
        }
        zk.close();
    }

    static List<String> rel(List<String> paths) {
        List<String> res = new ArrayList<>();
        for (String p : paths) res.add(p.startsWith(root) ? p.substring(root.length()) : p);
        Collections.sort(res);
        return res;
    }

    static void ephemerals() throws Exception {
        ZooKeeper zk = open(new Recorder());
        ZooKeeper other = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/x", EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/e1", EMPTY, OPEN, CreateMode.EPHEMERAL);
        zk.create(root + "/x/e2", EMPTY, OPEN, CreateMode.EPHEMERAL);
        zk.create(root + "/x/s-", EMPTY, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
        other.create(root + "/o1", EMPTY, OPEN, CreateMode.EPHEMERAL);
        out("ephemerals.prefixRoot", rel(zk.getEphemerals(root)));
        out("ephemerals.prefixX", rel(zk.getEphemerals(root + "/x")));
        out("ephemerals.all", rel(zk.getEphemerals()));
        out("ephemerals.other", rel(other.getEphemerals(root)));
        out("ephemerals.prefixNone", rel(zk.getEphemerals(root + "/nothing")));
        zk.close();
        out("ephemerals.afterClose", rel(other.getChildren(root, false)));
        other.close();
    }

    static String result(OpResult res) {
        if (res instanceof OpResult.ErrorResult er) return "ERR(" + KeeperException.Code.get(er.getErr()).name() + ")";
        if (res instanceof OpResult.GetDataResult gd) return "DATA(" + s(gd.getData()) + "," + stat(gd.getStat()) + ")";
        if (res instanceof OpResult.GetChildrenResult gc) {
            List<String> c = new ArrayList<>(gc.getChildren());
            Collections.sort(c);
            return "CHILDREN(" + c + ")";
        }
        if (res instanceof OpResult.CreateResult cr) {
            String p = cr.getPath();
            return "CREATE(" + (p.startsWith(root) ? p.substring(root.length()) : p) + (cr.getStat() == null ? "" : "," + stat(cr.getStat())) + ")";
        }
        if (res instanceof OpResult.SetDataResult sd) return "SET(" + stat(sd.getStat()) + ")";
        if (res instanceof OpResult.DeleteResult) return "DELETE";
        if (res instanceof OpResult.CheckResult) return "CHECK";
        return res.getClass().getSimpleName();
    }

    static List<String> results(List<OpResult> rs) {
        List<String> l = new ArrayList<>();
        for (OpResult r : rs) l.add(result(r));
        return l;
    }

    static void multiRead() throws Exception {
        ZooKeeper zk = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/a", b("A"), OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/b", b("BB"), OPEN, CreateMode.PERSISTENT);
        zk.setData(root + "/b", b("BBB"), -1);
        List<OpResult> rs = zk.multi(Arrays.asList(
                Op.getChildren(root), Op.getData(root + "/a"), Op.getData(root + "/missing"), Op.getData(root + "/b"),
                Op.getChildren(root + "/missing")));
        out("multiread.results", results(rs));
        List<ACL> secret = new ArrayList<>();
        secret.add(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("alice:secret"))));
        zk.create(root + "/secret", b("S"), secret, CreateMode.PERSISTENT);
        rs = zk.multi(Arrays.asList(Op.getData(root + "/secret"), Op.getData(root + "/a")));
        out("multiread.noAuth", results(rs));
        zk.close();
    }

    static void persistent() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        ZooKeeper other = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/p", EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.addWatch(root + "/p", AddWatchMode.PERSISTENT);
        other.setData(root + "/p", b("1"), -1);
        other.setData(root + "/p", b("2"), -1);
        other.create(root + "/p/c", EMPTY, OPEN, CreateMode.PERSISTENT);
        other.setData(root + "/p/c", b("x"), -1);
        other.delete(root + "/p/c", -1);
        other.delete(root + "/p", -1);
        other.create(root + "/p", EMPTY, OPEN, CreateMode.PERSISTENT);
        barrier(other);
        barrier(zk);
        out("persistent.events", rel2(r.drain()));
        // addWatch on a missing path is allowed
        zk.addWatch(root + "/later", AddWatchMode.PERSISTENT);
        other.create(root + "/later", EMPTY, OPEN, CreateMode.PERSISTENT);
        barrier(zk);
        out("persistent.missingPath", rel2(r.drain()));
        other.close();
        zk.close();
    }

    static List<String> rel2(List<String> events) {
        List<String> res = new ArrayList<>();
        for (String e : events) res.add(e.replace(root, ""));
        return res;
    }

    static void recursive() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        ZooKeeper other = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.addWatch(root, AddWatchMode.PERSISTENT_RECURSIVE);
        other.create(root + "/a", EMPTY, OPEN, CreateMode.PERSISTENT);
        other.create(root + "/a/b", EMPTY, OPEN, CreateMode.PERSISTENT);
        other.setData(root + "/a/b", b("x"), -1);
        other.create(root + "/a/b/c", EMPTY, OPEN, CreateMode.EPHEMERAL);
        other.delete(root + "/a/b/c", -1);
        other.setData(root, b("r"), -1);
        other.multi(Arrays.asList(Op.create(root + "/m", EMPTY, OPEN, CreateMode.PERSISTENT), Op.delete(root + "/a/b", -1)));
        barrier(other);
        barrier(zk);
        out("recursive.events", rel2(r.drain()));
        // a one-shot data watch and the recursive watch on the same node yield one notification
        zk.getData(root + "/m", true, null);
        other.setData(root + "/m", b("y"), -1);
        other.setData(root + "/m", b("z"), -1);
        barrier(other);
        barrier(zk);
        out("recursive.withDataWatch", rel2(r.drain()));
        other.close();
        zk.close();
    }

    static void removeWatches() throws Exception {
        Recorder def = new Recorder();
        ZooKeeper zk = open(def);
        ZooKeeper other = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/n", EMPTY, OPEN, CreateMode.PERSISTENT);
        Recorder w = new Recorder();
        zk.getData(root + "/n", w, null);
        zk.getChildren(root + "/n", w);
        zk.removeWatches(root + "/n", w, Watcher.WatcherType.Data, false);
        other.setData(root + "/n", b("1"), -1);
        other.create(root + "/n/c", EMPTY, OPEN, CreateMode.PERSISTENT);
        barrier(other);
        barrier(zk);
        out("removewatches.afterDataRemoved", rel2(w.drain()));
        zk.getData(root + "/n", w, null);
        zk.getChildren(root + "/n", w);
        zk.removeAllWatches(root + "/n", Watcher.WatcherType.Any, false);
        other.setData(root + "/n", b("2"), -1);
        other.delete(root + "/n/c", -1);
        barrier(other);
        barrier(zk);
        List<String> removed = rel2(w.drain());
        Collections.sort(removed); // the client raises the removal events in its own map order
        out("removewatches.afterAllRemoved", removed);
        try {
            zk.removeAllWatches(root + "/n", Watcher.WatcherType.Any, false);
            out("removewatches.none", "OK");
        } catch (KeeperException e) {
            out("removewatches.none", err(e));
        }
        // persistent watch removal
        zk.addWatch(root + "/n", w, AddWatchMode.PERSISTENT);
        zk.removeWatches(root + "/n", w, Watcher.WatcherType.Any, false);
        other.setData(root + "/n", b("3"), -1);
        barrier(other);
        barrier(zk);
        out("removewatches.persistentRemoved", rel2(w.drain()));
        out("removewatches.defaultWatcher", rel2(def.drain()));
        other.close();
        zk.close();
    }

    static void whoAmI() throws Exception {
        ZooKeeper zk = open(new Recorder());
        out("whoami.anonymous", infos(zk.whoAmI()));
        zk.addAuthInfo("digest", b("alice:secret"));
        out("whoami.digest", infos(zk.whoAmI()));
        zk.addAuthInfo("digest", b("bob:pw"));
        out("whoami.twoDigests", infos(zk.whoAmI()));
        zk.close();
    }

    static List<String> infos(List<ClientInfo> l) {
        List<String> res = new ArrayList<>();
        for (ClientInfo c : l) res.add(c.getAuthScheme() + ":" + c.getUser());
        Collections.sort(res);
        return res;
    }

    static void sync() throws Exception {
        ZooKeeper zk = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        CountDownLatch l = new CountDownLatch(1);
        String[] got = new String[1];
        zk.sync(root, (rc, path, ctx) -> {
            got[0] = rc + " " + path.replace(root, "<root>");
            l.countDown();
        }, null);
        if (!l.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync timed out");
        out("sync.result", got[0]);
        zk.close();
    }

    static void ordering() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        Recorder r = new Recorder() {
            @Override
            public void process(WatchedEvent e) {
                super.process(e);
                if (e.getType() != Event.EventType.None) order.add("event " + e.getType().name());
            }
        };
        ZooKeeper zk = open(r);
        ZooKeeper other = open(new Recorder());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/n", b("0"), OPEN, CreateMode.PERSISTENT);
        // own change: the watch event is delivered before the reply of the change itself
        zk.getData(root + "/n", true, null);
        CountDownLatch l1 = new CountDownLatch(1);
        zk.setData(root + "/n", b("1"), -1, (rc, p, c, st) -> {
            order.add("setData rc=" + rc);
            l1.countDown();
        }, null);
        if (!l1.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("setData timed out");
        out("ordering.own", order);
        order.clear();
        // another session's change: the watch event precedes a later read that shows it
        zk.getData(root + "/n", true, null);
        zk.exists(root + "/m", true);
        zk.getChildren(root, true);
        other.setData(root + "/n", b("2"), -1);
        other.create(root + "/m", EMPTY, OPEN, CreateMode.PERSISTENT);
        CountDownLatch l2 = new CountDownLatch(1);
        zk.getData(root + "/n", false, (rc, p, c, d, st) -> {
            order.add("getData " + s(d));
            l2.countDown();
        }, null);
        if (!l2.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("getData timed out");
        out("ordering.other", order);
        other.close();
        zk.close();
    }

    static int serverPort() {
        return Integer.parseInt(connect.substring(connect.lastIndexOf(':') + 1));
    }

    static void sessions() throws Exception {
        Proxy proxy = new Proxy(serverPort());
        Recorder r = new Recorder();
        // the first client talks through a proxy that is then shut, so it vanishes without closing its session
        ZooKeeper zk = open("127.0.0.1:" + proxy.port(), r, 0, null);
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/eph", EMPTY, OPEN, CreateMode.EPHEMERAL);
        long id = zk.getSessionId();
        byte[] pw = zk.getSessionPasswd();
        out("sessions.timeout", zk.getSessionTimeout());
        proxy.close();
        // a wrong password is refused: the client learns its session expired
        byte[] wrong = pw.clone();
        wrong[0] ^= 0x55;
        Recorder r3 = new Recorder();
        ZooKeeper bad = new ZooKeeper(connect, 10000, r3, id, wrong);
        out("sessions.wrongPasswordExpired", r3.expired.await(15, TimeUnit.SECONDS));
        bad.close();
        // attaching with the right id and password keeps the session and its ephemerals
        Recorder r2 = new Recorder();
        ZooKeeper same = open(connect, r2, id, pw);
        out("sessions.sameId", same.getSessionId() == id);
        out("sessions.ephemeralStill", same.exists(root + "/eph", false) != null);
        Stat est = same.exists(root + "/eph", false);
        out("sessions.ephemeralOwnerIsSession", est != null && est.getEphemeralOwner() == id);
        // closing the session removes its ephemerals at once and fires watches of other sessions
        Recorder ro = new Recorder();
        ZooKeeper observer = open(ro);
        observer.exists(root + "/eph", true);
        observer.getChildren(root, true);
        same.close();
        out("sessions.ephemeralAfterClose", observer.exists(root + "/eph", false) != null);
        barrier(observer);
        out("sessions.observerEvents", rel2(ro.drain()));
        // the closed session cannot be resumed
        Recorder r4 = new Recorder();
        ZooKeeper again = new ZooKeeper(connect, 10000, r4, id, pw);
        out("sessions.reattachAfterCloseExpired", r4.expired.await(15, TimeUnit.SECONDS));
        again.close();
        // the negotiated timeout is clamped to [2, 20] x tickTime
        Recorder r5 = new Recorder();
        ZooKeeper tiny = new ZooKeeper(connect, 10, r5);
        r5.connected.await(15, TimeUnit.SECONDS);
        out("sessions.clampedLow", tiny.getSessionTimeout());
        tiny.close();
        Recorder r6 = new Recorder();
        ZooKeeper huge = new ZooKeeper(connect, 10_000_000, r6);
        r6.connected.await(15, TimeUnit.SECONDS);
        out("sessions.clampedHigh", huge.getSessionTimeout());
        huge.close();
        observer.close();
    }

    static void expiry() throws Exception {
        Proxy proxy = new Proxy(serverPort());
        Recorder r = new Recorder();
        ZooKeeper zk = new ZooKeeper("127.0.0.1:" + proxy.port(), 2000, r);
        if (!r.connected.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("no connection");
        out("expiry.negotiated", zk.getSessionTimeout());
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/eph", b("e"), OPEN, CreateMode.EPHEMERAL);
        zk.create(root + "/q-", b("e"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
        Recorder ro = new Recorder();
        ZooKeeper observer = open(ro);
        CountDownLatch gone = new CountDownLatch(1);
        observer.exists(root + "/eph", e -> {
            ro.events.add(e.getType().name() + " " + e.getPath());
            gone.countDown();
        });
        observer.getChildren(root, true);
        long start = System.nanoTime();
        proxy.close();
        out("expiry.ephemeralDeleted", gone.await(30, TimeUnit.SECONDS));
        out("expiry.notBeforeTimeout", System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(zk.getSessionTimeout() / 2));
        barrier(observer);
        List<String> ev = rel2(ro.drain());
        Collections.sort(ev);
        out("expiry.observerEvents", ev);
        out("expiry.children", observer.getChildren(root, false));
        out("expiry.clientSawExpired", r.expired.await(1, TimeUnit.MILLISECONDS) ? "true" : "notYet");
        observer.close();
    }

    /** A loopback TCP proxy whose connections can be cut, so the client reconnects and re-sends its watches. */
    static final class Proxy implements AutoCloseable {
        final ServerSocket server;
        final List<Socket> sockets = new CopyOnWriteArrayList<>();
        final int upstreamPort;

        Proxy(int upstreamPort) throws IOException {
            this.upstreamPort = upstreamPort;
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::acceptLoop, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        void acceptLoop() {
            try {
                while (true) {
                    Socket c = server.accept();
                    Socket u = new Socket();
                    u.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort), 5000);
                    sockets.add(c);
                    sockets.add(u);
                    pump(c, u);
                    pump(u, c);
                }
            } catch (IOException e) {
                // closed
            }
        }

        static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65536];
                try (InputStream in = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                    int n;
                    while ((n = in.read(buf)) > 0) o.write(buf, 0, n);
                } catch (IOException e) {
                    // cut
                }
                try {
                    from.close();
                    to.close();
                } catch (IOException e) {
                    // ignore
                }
            }, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        void cut() throws IOException {
            for (Socket s : sockets) s.close();
            sockets.clear();
        }

        @Override
        public void close() throws IOException {
            server.close();
            cut();
        }
    }

    static void reconnect() throws Exception {
        try (Proxy proxy = new Proxy(serverPort())) {
            Recorder r = new Recorder();
            ZooKeeper zk = open("127.0.0.1:" + proxy.port(), r, 0, null);
            ZooKeeper other = open(new Recorder());
            zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.create(root + "/d", EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.create(root + "/eph", EMPTY, OPEN, CreateMode.EPHEMERAL);
            zk.create(root + "/p", EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.getData(root + "/d", true, null);
            zk.exists(root + "/missing", true);
            zk.getChildren(root, true);
            zk.addWatch(root + "/p", AddWatchMode.PERSISTENT);
            zk.addWatch(root + "/rec", AddWatchMode.PERSISTENT_RECURSIVE);
            long id = zk.getSessionId();
            // cut the connection; make the changes while the client is away
            r.connected = new CountDownLatch(1);
            proxy.cut();
            other.setData(root + "/d", b("changed"), -1);
            other.create(root + "/missing", EMPTY, OPEN, CreateMode.PERSISTENT);
            other.setData(root + "/p", b("p1"), -1);
            other.create(root + "/rec", EMPTY, OPEN, CreateMode.PERSISTENT);
            other.create(root + "/rec/x", EMPTY, OPEN, CreateMode.PERSISTENT);
            if (!r.connected.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no reconnect");
            out("reconnect.sameSession", zk.getSessionId() == id);
            out("reconnect.ephemeralKept", other.exists(root + "/eph", false) != null);
            barrier(zk);
            List<String> ev = rel2(r.drain());
            Collections.sort(ev);
            out("reconnect.missedEvents", ev);
            // watches re-registered on reconnect keep working: the persistent ones fire again
            other.setData(root + "/p", b("p2"), -1);
            other.create(root + "/rec/y", EMPTY, OPEN, CreateMode.PERSISTENT);
            barrier(other);
            barrier(zk);
            out("reconnect.laterEvents", rel2(r.drain()));
            out("reconnect.states", r.states);
            other.close();
            zk.close();
        }
    }

    /** Without persistent watches the client re-registers with the original SetWatches (opcode 101). */
    static void reconnectPlain() throws Exception {
        try (Proxy proxy = new Proxy(serverPort())) {
            Recorder r = new Recorder();
            ZooKeeper zk = open("127.0.0.1:" + proxy.port(), r, 0, null);
            ZooKeeper other = open(new Recorder());
            zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.create(root + "/d", EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.create(root + "/gone", EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.create(root + "/same", EMPTY, OPEN, CreateMode.PERSISTENT);
            zk.getData(root + "/d", true, null);
            zk.exists(root + "/missing", true);
            zk.getData(root + "/gone", true, null);
            zk.getChildren(root, true);
            zk.getData(root + "/same", true, null);
            r.connected = new CountDownLatch(1);
            proxy.cut();
            other.setData(root + "/d", b("changed"), -1);
            other.create(root + "/missing", EMPTY, OPEN, CreateMode.PERSISTENT);
            other.delete(root + "/gone", -1);
            if (!r.connected.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no reconnect");
            barrier(zk);
            List<String> ev = rel2(r.drain());
            Collections.sort(ev);
            out("reconnectPlain.missedEvents", ev);
            // the untouched watch survived the reconnect and still fires once
            other.setData(root + "/same", b("x"), -1);
            barrier(other);
            barrier(zk);
            out("reconnectPlain.laterEvents", rel2(r.drain()));
            other.close();
            zk.close();
        }
    }

    static void multi() throws Exception {
        Recorder r = new Recorder();
        ZooKeeper zk = open(r);
        zk.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
        zk.create(root + "/a", b("a"), OPEN, CreateMode.PERSISTENT);
        List<OpResult> rs = zk.multi(Arrays.asList(
                Op.create(root + "/b", b("b"), OPEN, CreateMode.PERSISTENT),
                Op.create(root + "/s-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
                Op.setData(root + "/a", b("a2"), 0),
                Op.check(root + "/a", 1),
                Op.create(root + "/c", EMPTY, OPEN, CreateMode.PERSISTENT, 0L),
                Op.delete(root + "/c", 0)));
        out("multi.ok", results(rs));
        try {
            zk.multi(Arrays.asList(
                    Op.create(root + "/x", EMPTY, OPEN, CreateMode.PERSISTENT),
                    Op.check(root + "/a", 0),
                    Op.setData(root + "/a", b("nope"), -1)));
            out("multi.failCheck", "OK");
        } catch (KeeperException e) {
            out("multi.failCheck", err(e) + " " + results(e.getResults()));
        }
        out("multi.failCheck.xExists", zk.exists(root + "/x", false) != null);
        out("multi.failCheck.aData", s(zk.getData(root + "/a", false, null)));
        try {
            zk.multi(Arrays.asList(
                    Op.setData(root + "/a", b("nope"), -1),
                    Op.delete(root + "/missing", -1),
                    Op.create(root + "/b", EMPTY, OPEN, CreateMode.PERSISTENT)));
            out("multi.failNoNode", "OK");
        } catch (KeeperException e) {
            out("multi.failNoNode", err(e) + " " + results(e.getResults()));
        }
        try {
            zk.multi(Arrays.asList(
                    Op.create(root + "/n", EMPTY, OPEN, CreateMode.PERSISTENT),
                    Op.create(root + "/n", EMPTY, OPEN, CreateMode.PERSISTENT)));
            out("multi.failExists", "OK");
        } catch (KeeperException e) {
            out("multi.failExists", err(e) + " " + results(e.getResults()));
        }
        try {
            zk.multi(Arrays.asList(Op.create(root + "/q", EMPTY, OPEN, CreateMode.PERSISTENT), Op.delete(root, -1)));
            out("multi.failNotEmpty", "OK");
        } catch (KeeperException e) {
            out("multi.failNotEmpty", err(e) + " " + results(e.getResults()));
        }
        out("multi.empty", results(zk.multi(new ArrayList<>())));
        Stat st = zk.exists(root, false);
        out("multi.rootStat", stat(st));
        zk.close();
    }

    /**
     * The differential sequence: a fixed seed drives several hundred operations across sessions; every result is
     * printed normalized (zxids by order of first appearance, session ids by name, children sorted).
     */
    static final class Diff {
        final Random rnd;
        final int count;
        final List<ZooKeeper> zks = new ArrayList<>();
        final List<Recorder> recs = new ArrayList<>();
        final List<String> names = new ArrayList<>();
        final Map<Long, String> sessionNames = new HashMap<>();
        final Map<Long, Integer> zxids = new HashMap<>();
        final List<String> pool = new ArrayList<>();
        int sessionCounter;
        final List<ACL> alice;
        final List<ACL> mixed;

        Diff(long seed, int count) throws Exception {
            rnd = new Random(seed);
            this.count = count;
            alice = acls(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("alice:secret"))));
            mixed = acls(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE), alice.get(0));
            for (String p : new String[] {"/a", "/b", "/c", "/a/x", "/a/y", "/b/x", "/a/x/q", "/e", "/e/k", "/seq"}) pool.add(p);
        }

        static List<ACL> acls(ACL... a) {
            return new ArrayList<>(Arrays.asList(a));
        }

        String zx(long z) {
            Integer n = zxids.get(z);
            if (n == null) {
                n = zxids.size();
                zxids.put(z, n);
            }
            return "Z" + n;
        }

        String st(Stat s) {
            if (s == null) return "null";
            String owner = s.getEphemeralOwner() == 0 ? "0" : sessionNames.getOrDefault(s.getEphemeralOwner(), "other");
            return "{c=" + zx(s.getCzxid()) + " m=" + zx(s.getMzxid()) + " p=" + zx(s.getPzxid()) + " v=" + s.getVersion()
                    + " cv=" + s.getCversion() + " av=" + s.getAversion() + " eo=" + owner + " dl=" + s.getDataLength()
                    + " nc=" + s.getNumChildren() + "}";
        }

        String res(OpResult r) {
            if (r instanceof OpResult.ErrorResult er) return "ERR(" + KeeperException.Code.get(er.getErr()).name() + ")";
            if (r instanceof OpResult.GetDataResult gd) return "DATA(" + s(gd.getData()) + "," + st(gd.getStat()) + ")";
            if (r instanceof OpResult.GetChildrenResult gc) {
                List<String> c = new ArrayList<>(gc.getChildren());
                Collections.sort(c);
                return "CHILDREN(" + c + ")";
            }
            if (r instanceof OpResult.CreateResult cr) return "CREATE(" + cr.getPath().replace(root, "") + "," + st(cr.getStat()) + ")";
            if (r instanceof OpResult.SetDataResult sd) return "SET(" + st(sd.getStat()) + ")";
            if (r instanceof OpResult.DeleteResult) return "DELETE";
            if (r instanceof OpResult.CheckResult) return "CHECK";
            return r.getClass().getSimpleName();
        }

        void openSession(int slot) throws Exception {
            Recorder r = new Recorder();
            ZooKeeper zk = open(r);
            if (slot == 2) zk.addAuthInfo("digest", b("alice:secret"));
            String name = "s" + (sessionCounter++);
            sessionNames.put(zk.getSessionId(), name);
            if (slot < zks.size()) {
                zks.set(slot, zk);
                recs.set(slot, r);
                names.set(slot, name);
            } else {
                zks.add(zk);
                recs.add(r);
                names.add(name);
            }
        }

        void flush(boolean sortEvents) throws Exception {
            for (int i = 0; i < zks.size(); i++) {
                barrier(zks.get(i));
                List<String> ev = rel2(recs.get(i).drain());
                if (sortEvents) Collections.sort(ev);
                for (String e : ev) System.out.println("  ev " + names.get(i) + " " + e);
            }
        }

        String pick() {
            return pool.get(rnd.nextInt(pool.size()));
        }

        int version() {
            int v = rnd.nextInt(8);
            return v >= 4 ? -1 : v;
        }

        boolean watch() {
            return rnd.nextInt(4) != 0;
        }

        byte[] data() {
            int n = rnd.nextInt(4);
            return n == 0 ? EMPTY : b("d" + rnd.nextInt(1000) + "x".repeat(n));
        }

        List<ACL> acl(StringBuilder desc) {
            int k = rnd.nextInt(22);
            switch (k) {
                case 0 -> { desc.append("acl=read"); return ZooDefs.Ids.READ_ACL_UNSAFE; }
                case 1 -> { desc.append("acl=alice"); return alice; }
                case 2 -> { desc.append("acl=mixed"); return mixed; }
                case 3 -> { desc.append("acl=ip127"); return acls(new ACL(ZooDefs.Perms.ALL, new Id("ip", "127.0.0.1"))); }
                case 4 -> { desc.append("acl=ip10/8"); return acls(new ACL(ZooDefs.Perms.ALL, new Id("ip", "10.0.0.0/8"))); }
                case 5 -> { desc.append("acl=creator"); return ZooDefs.Ids.CREATOR_ALL_ACL; }
                case 6 -> { desc.append("acl=badip"); return acls(new ACL(ZooDefs.Perms.ALL, new Id("ip", "300.1.1.1"))); }
                case 7 -> { desc.append("acl=baddigest"); return acls(new ACL(ZooDefs.Perms.ALL, new Id("digest", "alice"))); }
                case 8 -> { desc.append("acl=ip127/8-rw"); return acls(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new Id("ip", "127.0.0.0/8"))); }
                default -> { desc.append("acl=open"); return OPEN; }
            }
        }

        CreateMode mode(StringBuilder desc) {
            int k = rnd.nextInt(10);
            CreateMode m = k < 5 ? CreateMode.PERSISTENT : k < 7 ? CreateMode.EPHEMERAL : k < 9 ? CreateMode.PERSISTENT_SEQUENTIAL : CreateMode.EPHEMERAL_SEQUENTIAL;
            desc.append(m.name());
            return m;
        }

        void remember(String createdPath) {
            String relp = createdPath.replace(root, "");
            if (!pool.contains(relp) && pool.size() < 40) pool.add(relp);
        }

        void run() throws Exception {
            for (int i = 0; i < 3; i++) openSession(i);
            ZooKeeper z0 = zks.get(0);
            // prelude: fixed nodes, containers and TTL nodes whose behaviour is deterministic
            z0.create(root, EMPTY, OPEN, CreateMode.PERSISTENT);
            Stat s = new Stat();
            z0.create(root + "/cont", b("c"), OPEN, CreateMode.CONTAINER, s);
            System.out.println("#p1 createContainer /cont -> " + st(s));
            z0.create(root + "/cont/kid", EMPTY, OPEN, CreateMode.PERSISTENT, s);
            System.out.println("#p2 create /cont/kid -> " + st(s));
            z0.create(root + "/ttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, s, 3_600_000L);
            System.out.println("#p3 createTTL /ttl -> " + st(s));
            String tp = z0.create(root + "/ttl/s-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, s, 3_600_000L);
            System.out.println("#p4 createTTL seq -> " + tp.replace(root, "") + " " + st(s));
            try {
                z0.create(root + "/cont/e", EMPTY, OPEN, CreateMode.EPHEMERAL, s);
                System.out.println("#p5 create ephemeral under container -> " + st(s));
            } catch (KeeperException e) {
                System.out.println("#p5 create ephemeral under container -> " + err(e));
            }
            System.out.println("#p6 getChildren2 /cont -> " + rel(z0.getChildren(root + "/cont", false, s)) + " " + st(s));
            for (String p : new String[] {"/a", "/b", "/e", "/seq"}) {
                z0.create(root + p, EMPTY, OPEN, CreateMode.PERSISTENT, s);
                System.out.println("#p7 create " + p + " -> " + st(s));
            }
            flush(false);

            for (int n = 0; n < count; n++) {
                int slot = rnd.nextInt(zks.size());
                ZooKeeper zk = zks.get(slot);
                StringBuilder d = new StringBuilder("#" + n + " " + names.get(slot) + " ");
                int op = rnd.nextInt(100);
                String path = pick();
                boolean sortEvents = false;
                try {
                    if (op < 22) {
                        CreateMode m = mode(d);
                        String target = m.isSequential() ? path + "/n-" : path;
                        d.append(" create ").append(target).append(' ');
                        List<ACL> a = acl(d);
                        byte[] data = data();
                        d.append(" data=").append(s(data));
                        Stat cs = new Stat();
                        String created = zk.create(root + target, data, a, m, cs);
                        d.append(" -> ").append(created.replace(root, "")).append(' ').append(st(cs));
                        if (!m.isEphemeral() || rnd.nextBoolean()) remember(created);
                    } else if (op < 32) {
                        int v = version();
                        d.append("delete ").append(path).append(" v=").append(v);
                        zk.delete(root + path, v);
                        d.append(" -> OK");
                    } else if (op < 44) {
                        int v = version();
                        byte[] data = data();
                        d.append("setData ").append(path).append(" v=").append(v).append(" data=").append(s(data));
                        Object result = st(zk.setData(root + path, data, v));
                        d.append(" -> ").append(result);
                    } else if (op < 52) {
                        boolean w = watch();
                        d.append("getData ").append(path).append(" watch=").append(w);
                        Stat gs = new Stat();
                        byte[] data = zk.getData(root + path, w, gs);
                        d.append(" -> ").append(s(data)).append(' ').append(st(gs));
                    } else if (op < 60) {
                        boolean w = watch();
                        d.append("exists ").append(path).append(" watch=").append(w);
                        Object result = st(zk.exists(root + path, w));
                        d.append(" -> ").append(result);
                    } else if (op < 68) {
                        boolean w = watch();
                        d.append("getChildren2 ").append(path).append(" watch=").append(w);
                        Stat gs = new Stat();
                        List<String> c = new ArrayList<>(zk.getChildren(root + path, w, gs));
                        Collections.sort(c);
                        d.append(" -> ").append(c).append(' ').append(st(gs));
                    } else if (op < 71) {
                        d.append("getACL ").append(path);
                        Stat gs = new Stat();
                        List<ACL> a = zk.getACL(root + path, gs);
                        List<String> as = new ArrayList<>();
                        for (ACL x : a) as.add(x.getId().getScheme() + ":" + x.getId().getId() + ":" + x.getPerms());
                        d.append(" -> ").append(as).append(' ').append(st(gs));
                    } else if (op < 74) {
                        int v = version();
                        d.append("setACL ").append(path).append(" v=").append(v).append(' ');
                        List<ACL> a = acl(d);
                        Object result = st(zk.setACL(root + path, a, v));
                        d.append(" -> ").append(result);
                    } else if (op < 84) {
                        int k = 1 + rnd.nextInt(4);
                        List<Op> ops = new ArrayList<>();
                        d.append("multi [");
                        for (int i = 0; i < k; i++) {
                            String p = pick();
                            int t = rnd.nextInt(5);
                            int v = version();
                            switch (t) {
                                case 0 -> { ops.add(Op.create(root + p, b("m"), OPEN, CreateMode.PERSISTENT)); d.append("create ").append(p); }
                                case 1 -> { ops.add(Op.delete(root + p, v)); d.append("delete ").append(p).append(" v=").append(v); }
                                case 2 -> { ops.add(Op.setData(root + p, b("M" + n), v)); d.append("setData ").append(p).append(" v=").append(v); }
                                case 3 -> { ops.add(Op.create(root + p + "/m-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL)); d.append("createSeq ").append(p).append("/m-"); }
                                default -> { ops.add(Op.check(root + p, v)); d.append("check ").append(p).append(" v=").append(v); }
                            }
                            d.append("; ");
                        }
                        d.append("]");
                        try {
                            List<OpResult> rs = zk.multi(ops);
                            List<String> l = new ArrayList<>();
                            for (OpResult r : rs) {
                                l.add(res(r));
                                if (r instanceof OpResult.CreateResult cr) remember(cr.getPath());
                            }
                            d.append(" -> OK ").append(l);
                        } catch (KeeperException e) {
                            List<String> l = new ArrayList<>();
                            if (e.getResults() != null) for (OpResult r : e.getResults()) l.add(res(r));
                            d.append(" -> ").append(err(e)).append(' ').append(l);
                        }
                    } else if (op < 87) {
                        d.append("multiRead [getData ").append(path).append("; getChildren ").append(path).append("/..]");
                        String parent = path.lastIndexOf('/') == 0 ? "" : path.substring(0, path.lastIndexOf('/'));
                        List<OpResult> rs = zk.multi(List.of(Op.getData(root + path), Op.getChildren(root + parent)));
                        List<String> l = new ArrayList<>();
                        for (OpResult r : rs) l.add(res(r));
                        d.append(" -> ").append(l);
                    } else if (op < 89) {
                        d.append("getAllChildrenNumber ").append(path);
                        Object result = zk.getAllChildrenNumber(root + path);
                        d.append(" -> ").append(result);
                    } else if (op < 91) {
                        d.append("getEphemerals /");
                        Object result = rel(zk.getEphemerals(root));
                        d.append(" -> ").append(result);
                    } else if (op < 93) {
                        AddWatchMode m = rnd.nextBoolean() ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE;
                        d.append("addWatch ").append(path).append(' ').append(m);
                        zk.addWatch(root + path, m);
                        d.append(" -> OK");
                    } else if (op < 95) {
                        d.append("removeAllWatches ").append(path);
                        zk.removeAllWatches(root + path, Watcher.WatcherType.Any, false);
                        d.append(" -> OK");
                    } else if (op < 99 || rnd.nextInt(3) != 0) {
                        d.append("sync ").append(path);
                        CountDownLatch l = new CountDownLatch(1);
                        int[] rc = new int[1];
                        zk.sync(root + path, (r, p, c) -> { rc[0] = r; l.countDown(); }, null);
                        if (!l.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync timed out");
                        d.append(" -> ").append(KeeperException.Code.get(rc[0]).name());
                    } else {
                        d.append("closeSession and reopen");
                        zk.close();
                        sortEvents = true;
                        openSession(slot);
                        d.append(" -> ").append(names.get(slot));
                    }
                } catch (KeeperException e) {
                    d.append(" -> ").append(err(e));
                } catch (IllegalArgumentException e) {
                    d.append(" -> CLIENT-REJECTED");
                }
                System.out.println(d);
                flush(sortEvents);
            }
            // final state of the whole tree, depth first
            dump(zks.get(0), "");
            for (ZooKeeper zk : zks) zk.close();
        }

        void dump(ZooKeeper zk, String relp) throws Exception {
            Stat gs = new Stat();
            byte[] data;
            try {
                data = zk.getData(root + relp, false, gs);
            } catch (KeeperException e) {
                System.out.println("tree " + (relp.isEmpty() ? "/" : relp) + " " + err(e));
                return;
            }
            List<String> c = new ArrayList<>(zk.getChildren(root + relp, false));
            Collections.sort(c);
            System.out.println("tree " + (relp.isEmpty() ? "/" : relp) + " " + s(data) + " " + st(gs) + " " + c);
            for (String k : c) dump(zk, relp + "/" + k);
        }
    }
}
