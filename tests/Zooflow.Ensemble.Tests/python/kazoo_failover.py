"""kazoo (python3-kazoo) against an ensemble through a multi-host connect string, across a leader fail-over.

usage: kazoo_failover.py HOSTS PATH STOPFILE

Creates PATH, then sets it to 1, 2, 3, ... one acknowledged write at a time (KazooRetry rides out ConnectionLoss while
the ensemble elects a new leader; a retried set is idempotent here because the value is the counter), printing
"acked N" every 20 writes, until STOPFILE exists. Then syncs, reads PATH back and prints
"final acked=N read=V connected=HOST:PORT". Exit 0 on success.
"""
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

hosts, path, stopfile = sys.argv[1], sys.argv[2], sys.argv[3]
retry = KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5, deadline=60)
zk = KazooClient(hosts=hosts, timeout=10.0, connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5),
                 command_retry=retry, randomize_hosts=True)
zk.start(timeout=30)
zk.retry(zk.ensure_path, path)
print("connected", flush=True)
acked = 0
deadline = time.monotonic() + 90
while not os.path.exists(stopfile):
    if time.monotonic() > deadline:
        print("timed out waiting for the stop file", flush=True)
        sys.exit(2)
    value = acked + 1
    zk.retry(zk.set, path, str(value).encode())
    acked = value
    if acked % 20 == 0:
        print("acked %d" % acked, flush=True)
zk.retry(zk.sync, path)
data, _ = zk.retry(zk.get, path)
host = zk._connection._socket.getpeername() if zk._connection._socket else ("?", 0)
print("final acked=%d read=%s connected=%s:%s" % (acked, data.decode(), host[0], host[1]), flush=True)
zk.stop()
zk.close()
