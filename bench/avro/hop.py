#!/usr/bin/env python3
"""One measured run of a two-tier flow: sends --input over one TCP connection to 127.0.0.1:--port (the first tier) and
times until the files under --output-dir (written by the last tier) hold --expected-bytes. Reports events/s, MB/s, and
for every --pid (one per tier, in order) its CPU per event and peak RSS. Prints one JSON line."""
import argparse, json, os, socket, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from measure import cpu_seconds, output_bytes, rss_kib  # noqa: E402

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--expected-bytes", type=int, required=True)
    p.add_argument("--line-bytes", type=int, default=200)
    p.add_argument("--pid", type=int, action="append", required=True)
    p.add_argument("--timeout", type=float, default=600)
    a = p.parse_args()
    size = os.path.getsize(a.input)
    sock = socket.create_connection(("127.0.0.1", a.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    def send():
        with open(a.input, "rb") as f:
            sock.sendfile(f)
        sock.shutdown(socket.SHUT_WR)
    cpu_start = [cpu_seconds(pid) for pid in a.pid]
    start = time.monotonic()
    threading.Thread(target=send, daemon=True).start()
    while True:
        done = output_bytes(a.output_dir)
        if done >= a.expected_bytes:
            break
        if time.monotonic() - start > a.timeout:
            print(json.dumps({"error": f"timeout: {done} of {a.expected_bytes} bytes written"}))
            return 1
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    lines = a.expected_bytes // a.line_bytes
    tiers = []
    for pid, cpu0 in zip(a.pid, cpu_start):
        cpu = cpu_seconds(pid) - cpu0
        tiers.append({"cpu_us_per_event": round(cpu / lines * 1e6, 2), "peak_rss_mib": round(rss_kib(pid, "VmHWM") / 1024, 1)})
    sock.close()
    print(json.dumps({
        "seconds": round(elapsed, 3),
        "events_per_s": round(lines / elapsed),
        "mb_per_s": round(size / elapsed / 1e6, 1),
        "tiers": tiers,
        "cpu_us_per_event": round(sum(t["cpu_us_per_event"] for t in tiers), 2),
    }))
    return 0

if __name__ == "__main__":
    sys.exit(main())
