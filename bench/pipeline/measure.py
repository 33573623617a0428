#!/usr/bin/env python3
"""Drives one measured run of the pipeline benchmark and prints one JSON line.

Modes:
  tcp:     send --input (pre-generated lines) over one TCP connection to 127.0.0.1:--port with sendfile(2), and time
           until the files under --output-dir hold --expected-bytes (the receiver wrote everything).
  metrics: poll Flume-style JSON metrics at --metrics-url until SINK.<sink>.EventDrainSuccessCount reaches
           --expected-events; the rate is measured from the first drained event (start-up excluded).
  tcp-metrics: send --input as in tcp mode and time until SINK.<sink>.EventDrainSuccessCount at --metrics-url reaches
           --expected-events (for sinks without output files, e.g. null).
Both sample the receiver's resident memory (--pid) every poll and report the peak (VmHWM at the end, which also
catches peaks between polls).
"""
import argparse, glob, json, os, socket, sys, threading, time, urllib.request

def rss_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def cpu_seconds(pid):
    """utime + stime of the process (all threads), from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")

def output_bytes(directory):
    total = 0
    for path in glob.glob(os.path.join(directory, "**", "*"), recursive=True):
        try:
            if os.path.isfile(path):
                total += os.path.getsize(path)
        except OSError:
            pass
    return total

def start_sending(a):
    """Connects to 127.0.0.1:--port and sends --input with sendfile(2) from a thread; returns the socket, the input
    size and a dict that receives the time the last byte was handed over ("t")."""
    size = os.path.getsize(a.input)
    sock = socket.create_connection(("127.0.0.1", a.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    sent_at = {}
    def send():
        with open(a.input, "rb") as f:
            sock.sendfile(f)
        sent_at["t"] = time.monotonic()
        sock.shutdown(socket.SHUT_WR)
    threading.Thread(target=send, daemon=True).start()
    return sock, size, sent_at

def run_tcp(a):
    cpu_start = cpu_seconds(a.pid)
    start = time.monotonic()
    sock, size, sent_at = start_sending(a)
    deadline = start + a.timeout
    while True:
        done = output_bytes(a.output_dir)
        if done >= a.expected_bytes:
            break
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"timeout: {done} of {a.expected_bytes} bytes written"}))
            return 1
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(a.pid) - cpu_start
    sock.close()
    report(a, elapsed, cpu, a.expected_bytes // a.line_bytes, size, send_seconds=round(sent_at.get("t", float("nan")) - start, 3))
    return 0

def report(a, elapsed, cpu, events, size, **extra):
    """Prints the JSON line of one measured run."""
    print(json.dumps({
        "seconds": round(elapsed, 3),
        "events_per_s": round(events / elapsed) if elapsed > 0 else 0,
        "mb_per_s": round(size / elapsed / 1e6, 1) if elapsed > 0 else 0,
        **extra,
        "cpu_seconds": round(cpu, 2),
        "cpu_us_per_event": round(cpu / events * 1e6, 2) if events > 0 else 0,
        "peak_rss_mib": round(rss_kib(a.pid, "VmHWM") / 1024, 1),
    }))

def run_tcp_metrics(a):
    cpu_start = cpu_seconds(a.pid)
    start = time.monotonic()
    sock, size, _ = start_sending(a)
    deadline = start + a.timeout
    while True:
        try:
            count = drained(a.metrics_url, a.sink)
        except OSError:
            count = 0
        if count >= a.expected_events:
            break
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"timeout: {count} of {a.expected_events} events drained"}))
            return 1
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(a.pid) - cpu_start
    sock.close()
    report(a, elapsed, cpu, a.expected_events, size)
    return 0

def drained(url, sink):
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    return int(data.get("SINK." + sink, {}).get("EventDrainSuccessCount", "0"))

def run_metrics(a):
    deadline = time.monotonic() + a.timeout
    first = None
    while True:
        try:
            count = drained(a.metrics_url, a.sink)
        except OSError:
            count = 0
        now = time.monotonic()
        if count > 0 and first is None:
            first = (now, count, cpu_seconds(a.pid))
        if count >= a.expected_events:
            break
        if now > deadline:
            print(json.dumps({"error": f"timeout: {count} of {a.expected_events} events drained"}))
            return 1
        time.sleep(0.02)
    elapsed = now - first[0]
    events = count - first[1]
    report(a, elapsed, cpu_seconds(a.pid) - first[2], events, events * a.event_bytes)
    return 0

def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["tcp", "metrics", "tcp-metrics"])
    p.add_argument("--port", type=int)
    p.add_argument("--input")
    p.add_argument("--output-dir")
    p.add_argument("--expected-bytes", type=int)
    p.add_argument("--line-bytes", type=int, default=200)
    p.add_argument("--metrics-url")
    p.add_argument("--sink", default="k1")
    p.add_argument("--expected-events", type=int)
    p.add_argument("--event-bytes", type=int, default=0)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()
    sys.exit({"tcp": run_tcp, "metrics": run_metrics, "tcp-metrics": run_tcp_metrics}[a.mode](a))

if __name__ == "__main__":
    main()
