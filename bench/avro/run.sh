#!/usr/bin/env bash
# Avro hop benchmark, one run, everything on 127.0.0.1, stops by itself. The same 200-byte lines over one TCP connection:
#   (a) one agent:  netcat -> memory -> file_roll                                     (the flow without a hop)
#   (b) two agents: netcat -> memory -> avro sink (batch-size 100)  => avro source -> memory -> file_roll
#   (c) two agents: the same with batch-size 1000
#   (d) two agents, deflate: (c) with compression-type = deflate on both ends
#   (e) syslog-ng relay: syslog-ng tcp -> network() => syslog-ng tcp -> file, tuned as in reference/peers.md
# Prints events/s, MB/s, CPU per event and peak RSS per tier, and the ratios (c)/(a) and (c)/(e).
# Usage: bench/avro/run.sh [LINES] (default 1000000). Env: BENCH_KEEP=1 keeps the work directory,
# BENCH_NO_BUILD=1 uses the existing Release build, BENCH_SOURCE_A overrides tier A's source block (e.g. taildir),
# BENCH_CAPACITY_A sets tier A's memory channel capacity (default 100000; at least LINES keeps the feed from ever being
# refused, so tier A's CPU is the hop's alone and not netcat's retries against a full channel).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/avro"
lines="${1:-1000000}"
line_bytes=200
work="$(mktemp -d /tmp/zooflow-bench-avro.XXXXXX)"
pids=()

cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() { # port pid
  for _ in $(seq 1 300); do
    if ! kill -0 "$2" 2>/dev/null; then echo "process $2 exited before listening on $1" >&2; return 1; fi
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

stop() { # pid
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

if ! command -v syslog-ng >/dev/null; then
  echo "installing syslog-ng-core (Debian) for the comparison" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syslog-ng-core >/dev/null
fi

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  echo "building Release ..." >&2
  dotnet build "$root/src/Zooflow.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
fi
cli="$root/src/Zooflow.Cli/bin/Release/net10.0/zooflow.dll"

echo "generating $lines lines of $line_bytes bytes ..." >&2
python3 - "$work/input.txt" "$lines" "$line_bytes" <<'PY'
import sys
path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
filler = ("abcdefghijklmnopqrstuvwxyz0123456789" * 8)
with open(path, "w") as f:
    chunk = []
    for i in range(n):
        head = f"{i:010d} <13>bench zooflow line "
        chunk.append(head + filler[: size - 1 - len(head)] + "\n")
        if len(chunk) == 10000:
            f.write("".join(chunk)); chunk = []
    f.write("".join(chunk))
PY
expected_bytes=$((lines * line_bytes))

# Tier A's source: one block (netcat today; set BENCH_SOURCE_A to switch, the feed stays a TCP stream of lines).
source_a() { # port
  if [ -n "${BENCH_SOURCE_A:-}" ]; then printf '%s\n' "$BENCH_SOURCE_A"; return; fi
  cat <<CONF
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $1
a1.sources.r1.ack-every-event = false
a1.sources.r1.batchSize = 1000
CONF
}

memory_channel() { # [capacity]
  cat <<CONF
a1.channels.c1.type = memory
a1.channels.c1.capacity = ${1:-100000}
a1.channels.c1.transactionCapacity = 1000
CONF
}

file_roll() { # directory
  cat <<CONF
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = $1
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
CONF
}

check_output() { # directory
  if cmp -s "$work/input.txt" <(cat "$1"/*); then echo identical; else echo DIFFERS; fi
}

# (a) one agent -------------------------------------------------------------------------------------------------------
port="$(free_port)"; out="$work/a-out"; mkdir -p "$out"
{ echo "a1.sources = r1"; echo "a1.channels = c1"; echo "a1.sinks = k1"; source_a "$port"; echo "a1.sources.r1.channels = c1"; memory_channel; file_roll "$out"; } > "$work/single.conf"
echo "(a) one agent netcat -> memory -> file_roll, $lines lines ..." >&2
dotnet "$cli" agent -n a1 -f "$work/single.conf" --no-reload-conf > "$work/single.log" 2>&1 &
pid_single=$!; pids+=("$pid_single")
wait_port "$port" "$pid_single"
single="$(python3 "$here/hop.py" --port "$port" --input "$work/input.txt" --output-dir "$out" --expected-bytes "$expected_bytes" --pid "$pid_single")"
stop "$pid_single"
single_check="$(check_output "$out")"

# (b), (c), (d) two agents --------------------------------------------------------------------------------------------
two_tier() { # name batch-size compression
  local name="$1" batch="$2" compression="$3"
  local port_a port_b out pid_a pid_b
  port_a="$(free_port)"; port_b="$(free_port)"; out="$work/$name-out"; mkdir -p "$out"
  { echo "a1.sources = r1"; echo "a1.channels = c1"; echo "a1.sinks = k1"
    echo "a1.sources.r1.type = avro"; echo "a1.sources.r1.bind = 127.0.0.1"; echo "a1.sources.r1.port = $port_b"
    echo "a1.sources.r1.compression-type = $compression"; echo "a1.sources.r1.channels = c1"
    memory_channel; file_roll "$out"; } > "$work/$name-b.conf"
  { echo "a1.sources = r1"; echo "a1.channels = c1"; echo "a1.sinks = k1"; source_a "$port_a"; echo "a1.sources.r1.channels = c1"
    memory_channel "${BENCH_CAPACITY_A:-100000}"
    echo "a1.sinks.k1.type = avro"; echo "a1.sinks.k1.channel = c1"; echo "a1.sinks.k1.hostname = 127.0.0.1"
    echo "a1.sinks.k1.port = $port_b"; echo "a1.sinks.k1.batch-size = $batch"; echo "a1.sinks.k1.compression-type = $compression"; } > "$work/$name-a.conf"
  dotnet "$cli" agent -n a1 -f "$work/$name-b.conf" --no-reload-conf > "$work/$name-b.log" 2>&1 &
  pid_b=$!; pids+=("$pid_b")
  wait_port "$port_b" "$pid_b"
  dotnet "$cli" agent -n a1 -f "$work/$name-a.conf" --no-reload-conf > "$work/$name-a.log" 2>&1 &
  pid_a=$!; pids+=("$pid_a")
  wait_port "$port_a" "$pid_a"
  python3 "$here/hop.py" --port "$port_a" --input "$work/input.txt" --output-dir "$out" --expected-bytes "$expected_bytes" --pid "$pid_a" --pid "$pid_b"
  stop "$pid_a"; stop "$pid_b"
}
echo "(b) two agents over avro, batch-size 100 ..." >&2
hop100="$(two_tier hop100 100 none)"; hop100_check="$(check_output "$work/hop100-out")"
echo "(c) two agents over avro, batch-size 1000 ..." >&2
hop1000="$(two_tier hop1000 1000 none)"; hop1000_check="$(check_output "$work/hop1000-out")"
echo "(d) two agents over avro, batch-size 1000, deflate ..." >&2
deflate="$(two_tier deflate 1000 deflate)"; deflate_check="$(check_output "$work/deflate-out")"

# (e) syslog-ng relay, tuned ------------------------------------------------------------------------------------------
port_a="$(free_port)"; port_b="$(free_port)"; mkdir -p "$work/sng-a" "$work/sng-b" "$work/sng-out"
cat > "$work/sng-b/syslog-ng.conf" <<CONF
@version: 3.38
options { flush-lines(1000); log-fifo-size(20000); stats-freq(0); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no); create-dirs(yes); };
source s_tcp { network(ip("127.0.0.1") port($port_b) transport("tcp") flags(no-parse) log-iw-size(20000) log-fetch-limit(1000) max-connections(10) log-msg-size(65536)); };
destination d_file { file("$work/sng-out/out.log" template("\${MESSAGE}\n")); };
log { source(s_tcp); destination(d_file); flags(flow-control); };
CONF
cat > "$work/sng-a/syslog-ng.conf" <<CONF
@version: 3.38
options { flush-lines(1000); log-fifo-size(20000); stats-freq(0); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no); };
source s_tcp { network(ip("127.0.0.1") port($port_a) transport("tcp") flags(no-parse) log-iw-size(20000) log-fetch-limit(1000) max-connections(10) log-msg-size(65536)); };
destination d_fwd { network("127.0.0.1" port($port_b) transport("tcp") template("\${MESSAGE}\n")); };
log { source(s_tcp); destination(d_fwd); flags(flow-control); };
CONF
echo "(e) syslog-ng relay tcp -> network() => tcp -> file ..." >&2
for tier in b a; do
  syslog-ng -F --no-caps -f "$work/sng-$tier/syslog-ng.conf" --persist-file="$work/sng-$tier/persist" \
    --pidfile="$work/sng-$tier/pid" --control="$work/sng-$tier/ctl" > "$work/sng-$tier.log" 2>&1 &
  pid=$!; pids+=("$pid"); eval "sng_pid_$tier=$pid"
  if [ "$tier" = b ]; then wait_port "$port_b" "$pid"; else wait_port "$port_a" "$pid"; fi
done
relay="$(python3 "$here/hop.py" --port "$port_a" --input "$work/input.txt" --output-dir "$work/sng-out" --expected-bytes "$expected_bytes" --pid "$sng_pid_a" --pid "$sng_pid_b")"
stop "$sng_pid_a"; stop "$sng_pid_b"
relay_check="$(check_output "$work/sng-out")"

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average before: $load_before, after: $load_after" >&2
python3 - "$single" "$hop100" "$hop1000" "$deflate" "$relay" "$single_check" "$hop100_check" "$hop1000_check" "$deflate_check" "$relay_check" "$lines" <<'PY'
import json, sys
runs = [json.loads(x) for x in sys.argv[1:6]]
checks = sys.argv[6:11]
lines = int(sys.argv[11])
names = ["(a) zooflow one agent, no hop", "(b) zooflow A => B avro, batch 100", "(c) zooflow A => B avro, batch 1000",
         "(d) zooflow A => B avro, batch 1000, deflate", "(e) syslog-ng A => B relay (tuned)"]
for name, r in zip(names, runs):
    if "error" in r:
        print(f"{name}: {r['error']}"); sys.exit(1)
print()
print(f"Avro hop benchmark (2 cores, loopback; {lines:,} x 200-byte lines over one TCP connection into tier A, tier B writes a file)")
print(f"{'flow':46} {'events/s':>10} {'MB/s':>6} {'CPU us/event A+B':>17} {'RSS MiB A / B':>14} {'output':>10}")
for name, r, check in zip(names, runs, checks):
    tiers = r["tiers"]
    rss = " / ".join(str(t["peak_rss_mib"]) for t in tiers)
    cpu = " + ".join(str(t["cpu_us_per_event"]) for t in tiers)
    print(f"{name:46} {r['events_per_s']:>10,} {r['mb_per_s']:>6} {cpu:>17} {rss:>14} {check:>10}")
single, hop100, hop1000, deflate, relay = runs
print(f"ratio (c) / (a), cost of the hop: {hop1000['events_per_s'] / single['events_per_s']:.2f}x events/s, "
      f"{hop1000['cpu_us_per_event'] / max(single['cpu_us_per_event'], 0.01):.2f}x CPU per event")
print(f"ratio (c) / (e), zooflow hop vs syslog-ng relay: {hop1000['events_per_s'] / relay['events_per_s']:.2f}x events/s, "
      f"{hop1000['cpu_us_per_event'] / max(relay['cpu_us_per_event'], 0.01):.2f}x CPU per event")
PY
