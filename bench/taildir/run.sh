#!/usr/bin/env bash
# Taildir benchmark, one run, stops by itself: file -> file, the same pre-generated file of 200-byte lines read by
#   (a) zooflow: TAILDIR -> memory -> file_roll (batch 1000), also tailing 100 empty files (the cost of watching them)
#   (b) syslog-ng (Debian syslog-ng-core), file() source -> file, tuned as in docs/benchmarks.md
#   (c) zooflow two tiers on loopback: agent A TAILDIR -> memory -> avro sink (batch 1000) => agent B avro source ->
#       memory -> file_roll (the multi-hop flow of issue 8; CPU and RSS are A + B)
# Each reader is started first and waits for its file; the run hard-links the input into place and times until the
# output holds every byte, then compares the output with the input byte for byte. Then, per reader: latency of single
# appended lines, and CPU while idle. Prints a table with the ratios and the load average.
# Usage: bench/taildir/run.sh [LINES] (default 2000000). Env: BENCH_KEEP=1 keeps the work directory,
# BENCH_NO_BUILD=1 uses the existing Release build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/taildir"
lines="${1:-2000000}"
line_bytes=200
idle_files=100
work="$(mktemp -d /tmp/zooflow-bench-taildir.XXXXXX)"
pids=()
source "$root/bench/lib.sh"

wait_for() { # pid file text
  for _ in $(seq 1 600); do
    if ! kill -0 "$1" 2>/dev/null; then echo "process $1 exited; see $2" >&2; cat "$2" >&2; return 1; fi
    if grep -q "$3" "$2" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "'$3' never appeared in $2" >&2; return 1
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
generate_lines "$work/input.txt" "$lines" "$line_bytes"
expected_bytes=$((lines * line_bytes))

# (a) Zooflow TAILDIR -> memory -> file_roll ---------------------------------------------------------------------------
mkdir -p "$work/zf-in" "$work/zf-out" "$work/zf-state" "$work/zf-idle"
for i in $(seq -w 1 "$idle_files"); do : > "$work/zf-idle/idle-$i.log"; done
cat > "$work/zf.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1 idle
a1.sources.r1.filegroups.f1 = $work/zf-in/app\\.log
a1.sources.r1.filegroups.idle = $work/zf-idle/idle-.*\\.log
a1.sources.r1.positionFile = $work/zf-state/taildir_position.json
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = $work/zf-out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
CONF
echo "(a) zooflow TAILDIR -> memory -> file_roll, $lines lines ..." >&2
dotnet "$cli" agent -n a1 -f "$work/zf.conf" --no-reload-conf > "$work/zf.log" 2>&1 &
zf_pid=$!; pids+=("$zf_pid")
wait_for "$zf_pid" "$work/zf.log" "Taildir source r1 started"
zf_file="$(python3 "$here/measure.py" file --input "$work/input.txt" --target "$work/zf-in/app.log" --output-dir "$work/zf-out" \
  --expected-bytes "$expected_bytes" --line-bytes "$line_bytes" --pid "$zf_pid")"
if cmp -s "$work/input.txt" "$(ls "$work"/zf-out/* | head -1)"; then zf_check="identical"; else zf_check="DIFFERS"; fi
rm -f "$work/zf-in/app.log" # the hard link; a fresh file for the latency probes
zf_latency="$(python3 "$here/measure.py" latency --target "$work/zf-in/app.log" --output-dir "$work/zf-out" --line-bytes "$line_bytes" --pid "$zf_pid")"
zf_idle="$(python3 "$here/measure.py" idle --seconds 10 --pid "$zf_pid")"
stop "$zf_pid"

# (b) syslog-ng file() -> file, tuned (reference/peers.md) --------------------------------------------------------------
mkdir -p "$work/sng-in" "$work/sng-out" "$work/sng"
cat > "$work/sng/syslog-ng.conf" <<CONF
@version: 3.38
options { flush-lines(1000); log-fifo-size(20000); stats-freq(0); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no); create-dirs(yes); };
source s_file { file("$work/sng-in/app.log" flags(no-parse) log-iw-size(20000) log-fetch-limit(1000) log-msg-size(65536)); };
destination d_file { file("$work/sng-out/out.log" template("\${MESSAGE}\n")); };
log { source(s_file); destination(d_file); flags(flow-control); };
CONF
echo "(b) syslog-ng file -> file, $lines lines ..." >&2
syslog-ng -F --no-caps -f "$work/sng/syslog-ng.conf" --persist-file="$work/sng/persist" \
  --pidfile="$work/sng/pid" --control="$work/sng/ctl" > "$work/sng.log" 2>&1 &
sng_pid=$!; pids+=("$sng_pid")
for _ in $(seq 1 100); do [ -S "$work/sng/ctl" ] && break; sleep 0.1; done
sng_file="$(python3 "$here/measure.py" file --input "$work/input.txt" --target "$work/sng-in/app.log" --output-dir "$work/sng-out" \
  --expected-bytes "$expected_bytes" --line-bytes "$line_bytes" --pid "$sng_pid")"
if cmp -s "$work/input.txt" "$work/sng-out/out.log"; then sng_check="identical"; else sng_check="DIFFERS"; fi
sng_latency="$(python3 "$here/measure.py" latency --target "$work/sng-in/app.log" --output-dir "$work/sng-out" --line-bytes "$line_bytes" --pid "$sng_pid")"
sng_idle="$(python3 "$here/measure.py" idle --seconds 10 --pid "$sng_pid")"
stop "$sng_pid"

# (c) Zooflow two tiers: TAILDIR -> memory -> avro sink => avro source -> memory -> file_roll ------------------------------
mkdir -p "$work/hop-in" "$work/hop-out" "$work/hop-state"
hop_port="$(free_port)"
cat > "$work/hop-b.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $hop_port
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = $work/hop-out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
CONF
cat > "$work/hop-a.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1
a1.sources.r1.filegroups.f1 = $work/hop-in/app\\.log
a1.sources.r1.positionFile = $work/hop-state/taildir_position.json
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = avro
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = $hop_port
a1.sinks.k1.batch-size = 1000
CONF
echo "(c) zooflow TAILDIR -> memory -> avro => avro -> memory -> file_roll, $lines lines ..." >&2
dotnet "$cli" agent -n a1 -f "$work/hop-b.conf" --no-reload-conf > "$work/hop-b.log" 2>&1 &
hop_b=$!; pids+=("$hop_b")
wait_port "$hop_port" "$hop_b"
dotnet "$cli" agent -n a1 -f "$work/hop-a.conf" --no-reload-conf > "$work/hop-a.log" 2>&1 &
hop_a=$!; pids+=("$hop_a")
wait_for "$hop_a" "$work/hop-a.log" "Taildir source r1 started"
hop_file="$(python3 "$here/measure.py" file --input "$work/input.txt" --target "$work/hop-in/app.log" --output-dir "$work/hop-out" \
  --expected-bytes "$expected_bytes" --line-bytes "$line_bytes" --pid "$hop_a" --pid "$hop_b")"
if cmp -s "$work/input.txt" "$(ls "$work"/hop-out/* | head -1)"; then hop_check="identical"; else hop_check="DIFFERS"; fi
rm -f "$work/hop-in/app.log"
hop_latency="$(python3 "$here/measure.py" latency --target "$work/hop-in/app.log" --output-dir "$work/hop-out" --line-bytes "$line_bytes" --pid "$hop_a")"
hop_idle="$(python3 "$here/measure.py" idle --seconds 10 --pid "$hop_a" --pid "$hop_b")"
stop "$hop_a"
stop "$hop_b"

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average before the run: $load_before, after: $load_after" >&2
python3 - "$zf_file" "$sng_file" "$zf_latency" "$sng_latency" "$zf_idle" "$sng_idle" "$zf_check" "$sng_check" "$lines" "$idle_files" \
  "$hop_file" "$hop_latency" "$hop_idle" "$hop_check" <<'PY'
import json, sys
zf, sng, zl, sl, zi, si = (json.loads(x) for x in sys.argv[1:7])
zf_check, sng_check, lines, idle_files = sys.argv[7], sys.argv[8], int(sys.argv[9]), int(sys.argv[10])
hop, hl, hi = (json.loads(x) for x in sys.argv[11:14])
hop_check = sys.argv[14]
for name, r in (("zooflow", zf), ("syslog-ng", sng), ("zooflow latency", zl), ("syslog-ng latency", sl), ("two tiers", hop), ("two tiers latency", hl)):
    if "error" in r:
        print(f"{name}: {r['error']}"); sys.exit(1)
print()
print(f"Taildir benchmark (2 cores; {lines:,} x 200-byte lines, one file -> one file)")
print(f"{'reader':36} {'events/s':>10} {'steady/s':>10} {'1st out s':>9} {'CPU us/ev':>9} {'RSS MiB':>8} {'latency ms':>13} {'idle CPU %':>10} {'output':>10}")
for name, r, l, i, check in (("(a) zooflow TAILDIR->memory->file_roll", zf, zl, zi, zf_check), ("(b) syslog-ng file()->file (tuned)", sng, sl, si, sng_check),
                              ("(c) zooflow TAILDIR->avro=>avro->file_roll", hop, hl, hi, hop_check)):
    print(f"{name:36} {r['events_per_s']:>10,} {r['steady_events_per_s']:>10,} {r['first_output_s']:>9} {r['cpu_us_per_event']:>9} {r['peak_rss_mib']:>8} "
          f"{str(l['median_ms']) + ' / ' + str(l['max_ms']):>13} {i['idle_cpu_percent']:>10} {check:>10}")
print(f"(zooflow (a) also watches {idle_files} empty files; latency = median / max of 20 single appended lines; (c) CPU, RSS and idle CPU are agent A + agent B)")
print(f"ratio zooflow / syslog-ng: {zf['events_per_s'] / sng['events_per_s']:.2f}x events/s, "
      f"{zf['steady_events_per_s'] / max(sng['steady_events_per_s'], 1):.2f}x steady events/s, "
      f"{zf['cpu_us_per_event'] / max(sng['cpu_us_per_event'], 0.01):.2f}x CPU per event, "
      f"{zf['peak_rss_mib'] / max(sng['peak_rss_mib'], 0.1):.1f}x peak RSS")
print(f"two tiers (c) / one agent (a): {hop['events_per_s'] / zf['events_per_s']:.2f}x events/s, "
      f"{hop['cpu_us_per_event'] / max(zf['cpu_us_per_event'], 0.01):.2f}x CPU per event")
PY
