#!/usr/bin/python3
"""Drives a ZooKeeper-compatible server with kazoo (Debian python3-kazoo) and prints key=value lines.

Usage: /usr/bin/python3 kazoo_compat.py <section> <host:port> <root>
Run by Zooflow.Compat.Tests against Apache ZooKeeper 3.8 and Zooflow; the same expectations must hold on both.
"""
import json
import logging
import os
import subprocess
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, ZookeeperError
from kazoo.protocol.states import KazooState
from kazoo.security import ACL, Id, Permissions, make_acl, make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, CREATOR_ALL_ACL

logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

HOSTS = sys.argv[2]
ROOT = sys.argv[3]
TIMEOUT = 15


def out(key, value):
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    print(f"{key}={value}", flush=True)


def client(**kw):
    c = KazooClient(hosts=HOSTS, timeout=10.0, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1},
                    command_retry=None, **kw)
    c.start(timeout=TIMEOUT)
    return c


def err(fn):
    """Runs fn and returns 'OK' or the kazoo exception class name."""
    try:
        fn()
        return "OK"
    except (KazooException, ZookeeperError) as e:
        return type(e).__name__


def st(stat):
    return (f"v={stat.version} cv={stat.cversion} av={stat.aversion} dl={stat.dataLength} nc={stat.numChildren} "
            f"eo={'0' if stat.ephemeralOwner == 0 else 'set'}")


def rel(path):
    return path[len(ROOT):] if path.startswith(ROOT) else path


class Events:
    """Collects watch events in delivery order; kazoo delivers them one at a time on its callback thread."""

    def __init__(self, zk):
        self.zk = zk
        self.items = []
        self.lock = threading.Lock()
        self.sentinel = threading.Event()
        self.counter = 0

    def watch(self, event):
        with self.lock:
            self.items.append(f"{event.type} {rel(event.path)}")

    def flush(self, other):
        """Returns events delivered so far: a watch set last on a sentinel node, fired by `other`, marks the end."""
        self.counter += 1
        path = f"{ROOT}/sentinel-{self.counter}"
        done = threading.Event()
        self.zk.exists(path, watch=lambda e: done.set())
        other.create(path)
        if not done.wait(TIMEOUT):
            raise RuntimeError("sentinel event not delivered")
        with self.lock:
            items, self.items = self.items, []
        return items


def crud():
    zk = client()
    zk.create(ROOT)
    out("create.path", rel(zk.create(ROOT + "/a", b"hello")))
    path, stat = zk.create(ROOT + "/b", b"xy", include_data=True)
    out("create2.stat", st(stat))
    out("create.seq", [rel(zk.create(ROOT + "/s-", sequence=True)) for _ in range(3)])
    out("create.ephemeralSeq", rel(zk.create(ROOT + "/s-", ephemeral=True, sequence=True)))
    out("create.exists", err(lambda: zk.create(ROOT + "/a")))
    out("create.noParent", err(lambda: zk.create(ROOT + "/x/y")))
    out("create.makepath", rel(zk.create(ROOT + "/x/y/z", b"deep", makepath=True)))
    zk.create(ROOT + "/eph", ephemeral=True)
    out("create.underEphemeral", err(lambda: zk.create(ROOT + "/eph/c")))
    for name, bad in (("nul", "a\u0000b"), ("ctl", "c\u0001"), ("del", "d\u007f"), ("c1", "f\u009f"),
                      ("private", "g\uf000"), ("special", "e\ufff5")):
        out("create.badPath." + name, err(lambda: zk.create(ROOT + "/" + bad)))
    out("create.unicode", rel(zk.create(ROOT + "/ok\u00e9")))
    data, stat = zk.get(ROOT + "/a")
    out("get.data", data.decode())
    out("get.stat", st(stat))
    out("get.missing", err(lambda: zk.get(ROOT + "/nope")))
    out("set.stat", st(zk.set(ROOT + "/a", b"v1", version=0)))
    out("set.badVersion", err(lambda: zk.set(ROOT + "/a", b"v2", version=0)))
    out("set.anyVersion", st(zk.set(ROOT + "/a", b"v22", version=-1)))
    out("set.missing", err(lambda: zk.set(ROOT + "/nope", b"")))
    out("exists.some", st(zk.exists(ROOT + "/a")))
    out("exists.none", str(zk.exists(ROOT + "/nope")))
    out("children", sorted(zk.get_children(ROOT)))
    children, stat = zk.get_children(ROOT, include_data=True)
    out("children2.stat", st(stat))
    out("children.missing", err(lambda: zk.get_children(ROOT + "/nope")))
    out("delete.notEmpty", err(lambda: zk.delete(ROOT + "/x")))
    out("delete.badVersion", err(lambda: zk.delete(ROOT + "/a", version=5)))
    out("delete.ok", err(lambda: zk.delete(ROOT + "/a", version=2)))
    out("delete.missing", err(lambda: zk.delete(ROOT + "/a")))
    out("delete.recursive", err(lambda: zk.delete(ROOT + "/x", recursive=True)))
    out("children.after", sorted(zk.get_children(ROOT)))
    big = bytes(range(256)) * 3900  # 998,400 bytes: under the 1 MiB frame limit
    zk.create(ROOT + "/big", big)
    data, stat = zk.get(ROOT + "/big")
    out("big.roundtrip", data == big)
    out("big.dataLength", stat.dataLength)
    zk.create(ROOT + "/empty")
    data, stat = zk.get(ROOT + "/empty")
    out("empty.data", repr(data))
    out("root.stat", st(zk.exists(ROOT)))
    zk.stop()
    zk.close()


def acl():
    zk = client()
    alice = client(auth_data=[("digest", "alice:secret")])
    zk.create(ROOT)
    digest = make_digest_acl("alice", "secret", all=True)
    zk.create(ROOT + "/ro", b"r", acl=READ_ACL_UNSAFE)
    out("world.readOnly.get", err(lambda: zk.get(ROOT + "/ro")))
    out("world.readOnly.set", err(lambda: zk.set(ROOT + "/ro", b"x")))
    out("world.readOnly.setWrongVersion", err(lambda: zk.set(ROOT + "/ro", b"x", version=7)))
    out("world.readOnly.create", err(lambda: zk.create(ROOT + "/ro/c")))
    out("world.readOnly.setAcl", err(lambda: zk.set_acls(ROOT + "/ro", OPEN_ACL_UNSAFE)))
    zk.create(ROOT + "/d", b"secret", acl=[digest])
    out("digest.anonymous.get", err(lambda: zk.get(ROOT + "/d")))
    out("digest.anonymous.exists", err(lambda: zk.exists(ROOT + "/d")))
    out("digest.alice.get", alice.get(ROOT + "/d")[0].decode())
    acls, stat = alice.get_acls(ROOT + "/d")
    out("digest.getAcl", [f"{a.id.scheme}:{a.id.id}:{a.perms}" for a in acls])
    out("digest.anonymous.getAcl", err(lambda: zk.get_acls(ROOT + "/d")))
    out("digest.alice.setAcl.badVersion", err(lambda: alice.set_acls(ROOT + "/d", OPEN_ACL_UNSAFE, version=3)))
    out("digest.alice.setAcl", st(alice.set_acls(ROOT + "/d", [digest, make_acl("world", "anyone", read=True)], version=0)))
    out("digest.anonymous.getAfterSetAcl", zk.get(ROOT + "/d")[0].decode())
    late = client()
    late.add_auth("digest", "alice:secret")
    out("digest.addAuth.set", err(lambda: late.set(ROOT + "/d", b"changed")))
    late.stop()
    late.close()
    zk.create(ROOT + "/ip", acl=[make_acl("ip", "127.0.0.1", all=True)])
    out("ip.exact.set", err(lambda: zk.set(ROOT + "/ip", b"1")))
    zk.create(ROOT + "/cidr", acl=[make_acl("ip", "127.0.0.0/8", all=True)])
    out("ip.cidr.set", err(lambda: zk.set(ROOT + "/cidr", b"1")))
    zk.create(ROOT + "/other", acl=[make_acl("ip", "10.0.0.0/8", all=True)])
    out("ip.otherNet.get", err(lambda: zk.get(ROOT + "/other")))
    out("auth.anonymous.create", err(lambda: zk.create(ROOT + "/cr", acl=CREATOR_ALL_ACL)))
    alice.create(ROOT + "/cr", acl=CREATOR_ALL_ACL)
    acls, _ = alice.get_acls(ROOT + "/cr")
    out("auth.alice.storedAs", [f"{a.id.scheme}:{a.id.id}:{a.perms}" for a in acls])
    out("auth.anonymous.get", err(lambda: zk.get(ROOT + "/cr")))
    out("invalid.ip", err(lambda: zk.create(ROOT + "/bad", acl=[make_acl("ip", "300.1.1.1", all=True)])))
    out("invalid.digest", err(lambda: zk.create(ROOT + "/bad", acl=[ACL(Permissions.ALL, Id("digest", "alice"))])))
    out("invalid.scheme", err(lambda: zk.create(ROOT + "/bad", acl=[ACL(Permissions.ALL, Id("nosuch", "x"))])))
    out("invalid.setAcl", err(lambda: zk.set_acls(ROOT + "/ip", [ACL(Permissions.ALL, Id("ip", "bad"))])))
    # delete needs DELETE on the parent, not on the node
    zk.create(ROOT + "/nodel", acl=[make_acl("world", "anyone", read=True, write=True, create=True, admin=True)])
    zk.create(ROOT + "/nodel/child")
    out("parent.noDelete.delete", err(lambda: zk.delete(ROOT + "/nodel/child")))
    zk.create(ROOT + "/noadmin", acl=[make_acl("world", "anyone", read=True, write=True, create=True, delete=True)])
    out("noAdmin.setAcl", err(lambda: zk.set_acls(ROOT + "/noadmin", OPEN_ACL_UNSAFE)))
    out("noAdmin.getAcl", err(lambda: zk.get_acls(ROOT + "/noadmin")))
    zk.create(ROOT + "/noread", acl=[make_acl("world", "anyone", write=True, create=True, delete=True, admin=True)])
    out("noRead.children", err(lambda: zk.get_children(ROOT + "/noread")))
    out("noRead.exists", err(lambda: zk.exists(ROOT + "/noread")))
    # the super user (digest configured on the server) passes every ACL check
    su = client(auth_data=[("digest", "super:superpw")])
    out("super.get", su.get(ROOT + "/cr")[0].decode() or "empty")
    out("super.setAclNoAdmin", err(lambda: su.set_acls(ROOT + "/noadmin", OPEN_ACL_UNSAFE)))
    out("super.getOtherNet", err(lambda: su.get(ROOT + "/other")))
    out("super.deleteUnderNoDelete", err(lambda: su.delete(ROOT + "/nodel/child")))
    wrong = client(auth_data=[("digest", "super:wrong")])
    out("superWrongPassword.get", err(lambda: wrong.get(ROOT + "/other")))
    for c in (zk, alice, su, wrong):
        c.stop()
        c.close()


def txn():
    zk = client()
    zk.create(ROOT)
    zk.create(ROOT + "/a", b"a")
    t = zk.transaction()
    t.create(ROOT + "/b", b"b")
    t.create(ROOT + "/s-", sequence=True)
    t.set_data(ROOT + "/a", b"a1", version=0)
    t.check(ROOT + "/a", 1)
    t.delete(ROOT + "/b")
    results = t.commit()
    out("txn.ok", [r if isinstance(r, (str, bool)) else (type(r).__name__ if isinstance(r, Exception) else st(r))
                   for r in [rel(x) if isinstance(x, str) else x for x in results]])
    t = zk.transaction()
    t.create(ROOT + "/c")
    t.check(ROOT + "/a", 0)
    t.set_data(ROOT + "/a", b"never")
    results = t.commit()
    out("txn.failCheck", [type(r).__name__ for r in results])
    out("txn.failCheck.cExists", zk.exists(ROOT + "/c") is not None)
    out("txn.failCheck.aData", zk.get(ROOT + "/a")[0].decode())
    t = zk.transaction()
    t.delete(ROOT + "/a")
    t.create(ROOT + "/a/child")
    results = t.commit()
    out("txn.failNoNode", [type(r).__name__ for r in results])
    out("txn.failNoNode.aExists", zk.exists(ROOT + "/a") is not None)
    out("root.stat", st(zk.exists(ROOT)))
    zk.stop()
    zk.close()


def watches():
    zk = client()
    other = client()
    zk.create(ROOT)
    zk.create(ROOT + "/n", b"0")
    ev = Events(zk)
    zk.get(ROOT + "/n", watch=ev.watch)
    zk.exists(ROOT + "/m", watch=ev.watch)
    zk.get_children(ROOT, watch=ev.watch)
    other.set(ROOT + "/n", b"1")
    other.set(ROOT + "/n", b"2")  # one-shot: no second event
    other.create(ROOT + "/m")
    out("watch.first", ev.flush(other))
    zk.get(ROOT + "/n", watch=ev.watch)
    zk.get_children(ROOT + "/n", watch=ev.watch)
    zk.exists(ROOT + "/m", watch=ev.watch)
    other.create(ROOT + "/n/c")
    other.delete(ROOT + "/n/c")
    other.delete(ROOT + "/m")
    other.delete(ROOT + "/n")
    out("watch.second", ev.flush(other))
    # one change triggers data and child watches of several kinds: data event first, then the parent's children
    zk.create(ROOT + "/p")
    zk.create(ROOT + "/p/q")
    zk.get(ROOT + "/p/q", watch=ev.watch)
    zk.get_children(ROOT + "/p/q", watch=ev.watch)
    zk.get_children(ROOT + "/p", watch=ev.watch)
    other.delete(ROOT + "/p/q")
    out("watch.deleteFanout", ev.flush(other))
    zk.stop()
    zk.close()
    other.stop()
    other.close()


def ephemerals():
    owner = client()
    watcher = client()
    owner.create(ROOT)
    owner.create(ROOT + "/e", b"x", ephemeral=True)
    seq = owner.create(ROOT + "/es-", ephemeral=True, sequence=True)
    out("ephemeral.seqName", rel(seq))
    out("ephemeral.owner", watcher.exists(ROOT + "/e").ephemeralOwner == owner.client_id[0])
    ev = Events(watcher)
    watcher.exists(ROOT + "/e", watch=ev.watch)
    watcher.get_children(ROOT, watch=ev.watch)
    owner.stop()
    owner.close()
    out("ephemeral.afterClose", sorted(watcher.get_children(ROOT)))
    out("ephemeral.events", sorted(ev.flush(watcher)))  # the order of deletions within one close is the server's choice
    watcher.stop()
    watcher.close()


CHILD = r"""
import os, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=2.0)
zk.start(timeout=15)
zk.create(sys.argv[2] + "/gone", ephemeral=True)
sid, pwd = zk.client_id
print(f"{sid} {pwd.hex()}", flush=True)
os._exit(0)  # no closeSession: the session lives on until it times out (or is resumed)
"""


def orphan_session(timeout_hint):
    """Creates ROOT/gone from a child process that exits without closing its session; returns (id, password)."""
    proc = subprocess.run([sys.executable, "-c", CHILD.replace("timeout=2.0", f"timeout={timeout_hint}"), HOSTS, ROOT],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError("child failed: " + proc.stderr)
    sid, pwd = proc.stdout.split()
    return int(sid), bytes.fromhex(pwd)


def expiry():
    watcher = client()
    watcher.create(ROOT)
    orphan_session(2.0)
    gone = threading.Event()
    if watcher.exists(ROOT + "/gone", watch=lambda e: gone.set()) is None:
        raise RuntimeError("ephemeral missing before expiry")
    out("expiry.deletedBySessionExpiry", gone.wait(30))
    out("expiry.children", sorted(watcher.get_children(ROOT)))
    watcher.stop()
    watcher.close()


def reconnect():
    watcher = client()
    watcher.create(ROOT)
    sid, pwd = orphan_session(10.0)
    states = []
    resumed = KazooClient(hosts=HOSTS, timeout=10.0, client_id=(sid, pwd))
    resumed.add_listener(lambda s: states.append(s))
    resumed.start(timeout=TIMEOUT)
    out("reconnect.sameSession", resumed.client_id[0] == sid)
    out("reconnect.ephemeralKept", resumed.exists(ROOT + "/gone") is not None)
    # (a wrong password is covered by the Java client: kazoo starts out LOST and never reports the refusal)
    resumed.stop()
    resumed.close()
    out("reconnect.ephemeralAfterClose", watcher.exists(ROOT + "/gone") is not None)
    watcher.stop()
    watcher.close()


def recipes():
    a = client()
    b = client()
    a.create(ROOT)
    lock_a = a.Lock(ROOT + "/lock", "a")
    lock_b = b.Lock(ROOT + "/lock", "b")
    out("lock.a", lock_a.acquire(timeout=TIMEOUT))
    out("lock.b.whileHeld", lock_b.acquire(blocking=False))
    out("lock.contenders", lock_b.contenders())
    lock_a.release()
    out("lock.b.afterRelease", lock_b.acquire(timeout=TIMEOUT))
    lock_b.release()
    counter = a.Counter(ROOT + "/counter")
    counter += 5
    b.Counter(ROOT + "/counter").__add__(3)
    counter -= 1
    out("counter.value", a.Counter(ROOT + "/counter").value)
    q = a.Queue(ROOT + "/queue")
    for item in (b"one", b"two", b"three"):
        q.put(item)
    q.put(b"urgent", priority=1)
    bq = b.Queue(ROOT + "/queue")
    out("queue.order", [bq.get().decode() for _ in range(4)])
    out("queue.empty", str(bq.get()))
    seen = []
    cond = threading.Condition()

    @b.DataWatch(ROOT + "/dw")
    def dw(data, stat):
        with cond:
            seen.append(None if data is None else data.decode())
            cond.notify_all()

    def wait_for(value):
        with cond:
            return cond.wait_for(lambda: seen and seen[-1] == value, TIMEOUT)

    wait_for(None)
    a.create(ROOT + "/dw", b"first")
    wait_for("first")
    a.set(ROOT + "/dw", b"second")
    wait_for("second")
    a.delete(ROOT + "/dw")
    wait_for(None)
    out("datawatch.sequence", seen)
    kids = []
    kcond = threading.Condition()

    @b.ChildrenWatch(ROOT + "/queue")
    def cw(children):
        with kcond:
            kids.append(len(children))
            kcond.notify_all()

    a.create(ROOT + "/queue/extra")
    with kcond:
        out("childrenwatch.sawExtra", kcond.wait_for(lambda: kids and kids[-1] == 1, TIMEOUT))
    barrier = a.Barrier(ROOT + "/barrier")
    barrier.create()
    out("barrier.waitWhileUp", barrier.wait(0.2))
    b.Barrier(ROOT + "/barrier").remove()
    out("barrier.waitAfterRemove", barrier.wait(TIMEOUT))
    for c in (a, b):
        c.stop()
        c.close()


SECTIONS = {f.__name__: f for f in (crud, acl, txn, watches, ephemerals, expiry, reconnect, recipes)}

if __name__ == "__main__":
    SECTIONS[sys.argv[1]]()
    out("done", "true")
