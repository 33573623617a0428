#!/usr/bin/python3
"""Minimal pipelined ZooKeeper-protocol client for the restart benchmark (same client for both servers).

  zkload.py load  <port> <count> <bytes>   create /b and /b/n0000000.. with <bytes> bytes each; prints creates/s
  zkload.py first <port> <timeout-s>       retry until a session is made and a getData("/b/n0000000") is answered;
                                           prints seconds from the call to the first successful reply
"""
import socket, struct, sys, time

OPEN_ACL = struct.pack(">i", 1) + struct.pack(">i", 31) + struct.pack(">i", 5) + b"world" + struct.pack(">i", 6) + b"anyone"


def frame(body):
    return struct.pack(">i", len(body)) + body


def connect(port, timeout=30.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16 + b"\0"
    s.sendall(frame(req))
    read_frame(s)
    return s


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = bytearray()

    def frames(self, n):
        out = []
        while len(out) < n:
            while len(self.buf) >= 4:
                ln = struct.unpack_from(">i", self.buf, 0)[0]
                if len(self.buf) < 4 + ln:
                    break
                out.append(bytes(self.buf[4:4 + ln]))
                del self.buf[:4 + ln]
                if len(out) == n:
                    return out
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        return out


def read_frame(s):
    return Reader(s).frames(1)[0]


def create_req(xid, path, data):
    p = path.encode()
    return frame(struct.pack(">ii", xid, 1) + struct.pack(">i", len(p)) + p + struct.pack(">i", len(data)) + data + OPEN_ACL + struct.pack(">i", 0))


def load(port, count, size):
    s = connect(port)
    r = Reader(s)
    data = b"v" * size
    s.sendall(create_req(1, "/b", b""))
    r.frames(1)
    batch, window = 500, 4
    sent = done = 0
    xid = 2
    start = time.time()
    errors = 0
    while done < count:
        while sent < count and sent - done < batch * window:
            n = min(batch, count - sent)
            s.sendall(b"".join(create_req(xid + i, "/b/n%07d" % (sent + i), data) for i in range(n)))
            xid += n
            sent += n
        got = r.frames(min(batch, sent - done))
        for f in got:
            if struct.unpack_from(">i", f, 12)[0] != 0:
                errors += 1
        done += len(got)
    el = time.time() - start
    print("%d creates in %.1f s = %.0f creates/s (errors %d)" % (count, el, count / el, errors))
    s.close()


def first(port, timeout):
    start = time.time()
    while time.time() - start < timeout:
        try:
            s = connect(port, 5)
            p = b"/b/n0000000"
            s.sendall(frame(struct.pack(">ii", 1, 4) + struct.pack(">i", len(p)) + p + b"\0"))
            read_frame(s)  # any reply (NoNode on an empty server) means the server is serving
            print("%.3f" % (time.time() - start))
            return
        except OSError:
            pass
        time.sleep(0.02)
    print("timeout")
    sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        first(int(sys.argv[2]), float(sys.argv[3]))
