#!/usr/bin/env python3
"""One measured phase of the taildir benchmark; prints one JSON line.

Modes:
  file:    hard-links --input (pre-generated lines) to --target, the file the reader (--pid) tails, and times until the
           files under --output-dir hold --expected-bytes. Reports the total time from the link and the steady rate from
           the first output byte (so that a reader's polling interval before it notices the file does not count), CPU
           per event over the whole phase, and peak RSS. With several --pid (a flow of several processes, such as two
           agents chained by avro), CPU and peak RSS are the sums over them.
  latency: appends --samples single lines to --target, one at a time at --spacing seconds, and times each until the
           output grew by that line; reports median and max.
  idle:    CPU used by --pid over --seconds while nothing is written (the cost of watching the files).
Helpers (RSS, CPU, output size) come from bench/pipeline/measure.py.
"""
import argparse, json, os, statistics, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
from measure import cpu_seconds, output_bytes, rss_kib  # noqa: E402


def total_cpu(pids):
    return sum(cpu_seconds(pid) for pid in pids)


def run_file(a):
    lines = a.expected_bytes // a.line_bytes
    cpu_start = total_cpu(a.pid)
    start = time.monotonic()
    os.link(a.input, a.target)
    deadline = start + a.timeout
    first = None
    while True:
        done = output_bytes(a.output_dir)
        now = time.monotonic()
        if done > 0 and first is None:
            first = (now, done)
        if done >= a.expected_bytes:
            break
        if now > deadline:
            print(json.dumps({"error": f"timeout: {done} of {a.expected_bytes} bytes written"}))
            return 1
        time.sleep(0.005)
    elapsed = now - start
    steady = now - first[0]
    cpu = total_cpu(a.pid) - cpu_start
    steady_lines = (a.expected_bytes - first[1]) // a.line_bytes
    print(json.dumps({
        "seconds": round(elapsed, 3),
        "first_output_s": round(first[0] - start, 3),
        "events_per_s": round(lines / elapsed),
        "steady_events_per_s": round(steady_lines / steady) if steady > 0 else 0,
        "mb_per_s": round(a.expected_bytes / elapsed / 1e6, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_us_per_event": round(cpu / lines * 1e6, 2),
        "peak_rss_mib": round(sum(rss_kib(pid, "VmHWM") for pid in a.pid) / 1024, 1),
    }))
    return 0


def run_latency(a):
    samples = []
    for i in range(a.samples):
        line = f"latency probe {i:06d} ".ljust(a.line_bytes - 1, "x") + "\n"
        before = output_bytes(a.output_dir)
        start = time.monotonic()
        with open(a.target, "a") as f:
            f.write(line)
        deadline = start + a.timeout
        while output_bytes(a.output_dir) < before + len(line):
            if time.monotonic() > deadline:
                print(json.dumps({"error": f"timeout: probe {i} not written"}))
                return 1
            time.sleep(0.001)
        samples.append(time.monotonic() - start)
        time.sleep(a.spacing)
    print(json.dumps({
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }))
    return 0


def run_idle(a):
    start = total_cpu(a.pid)
    time.sleep(a.seconds)
    used = total_cpu(a.pid) - start
    print(json.dumps({"idle_cpu_percent": round(used / a.seconds * 100, 2)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["file", "latency", "idle"])
    p.add_argument("--input")
    p.add_argument("--target")
    p.add_argument("--output-dir")
    p.add_argument("--expected-bytes", type=int)
    p.add_argument("--line-bytes", type=int, default=200)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--spacing", type=float, default=0.37)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--pid", type=int, action="append", required=True, help="repeat for a flow of several processes")
    p.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()
    sys.exit({"file": run_file, "latency": run_latency, "idle": run_idle}[a.mode](a))


if __name__ == "__main__":
    main()
