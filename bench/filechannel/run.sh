#!/usr/bin/env bash
# File channel benchmark, one run, everything on 127.0.0.1, stops by itself (issue 7):
#   - netcat TCP, 200-byte lines -> file channel -> null and -> file_roll, batch sizes 1, 100 and 1000
#   - the same through the memory channel (batch 100), for reference
#   - syslog-ng 3.38 (Debian syslog-ng-core) with a reliable disk buffer, same input, same connection pattern
#   - the key comparison (file channel batch 100 -> file_roll vs syslog-ng reliable disk buffer) repeated REPEAT times
#   - restart time with 1,000,000 queued 200-byte events: after SIGKILL (replay since the last checkpoint) and after a
#     clean stop (checkpoint on close)
# Usage: bench/filechannel/run.sh [LINES] (default 1000000; batch 1 uses LINES_B1, default 20000).
# Env: REPEAT (3), QUEUED (1000000), BENCH_KEEP=1 keeps the work directory, BENCH_NO_BUILD=1 uses the existing Release
# build, ONLY=throughput|restart runs one half, BENCH_NICE=-15 starts the restarted agents at that priority (approximates an
# idle machine when the shared one is busy; say so with the figures).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
measure="$root/bench/pipeline/measure.py"
lines="${1:-1000000}"
lines_b1="${LINES_B1:-20000}"
repeat="${REPEAT:-3}"
queued="${QUEUED:-1000000}"
only="${ONLY:-all}"
line_bytes=200
work="$(mktemp -d /tmp/zooflow-bench-filechannel.XXXXXX)"
pids=()
results="$work/results.jsonl"
: > "$results"

source "$root/bench/lib.sh"
load() { cut -d' ' -f1-3 /proc/loadavg; }

if ! command -v syslog-ng >/dev/null; then
  echo "installing syslog-ng-core (Debian) for the comparison" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syslog-ng-core >/dev/null
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  echo "building Release ..." >&2
  dotnet build "$root/src/Zooflow.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
fi
cli="$root/src/Zooflow.Cli/bin/Release/net10.0/zooflow.dll"

generate() { generate_lines "$1" "$2" "$line_bytes"; }
echo "generating $lines (+$lines_b1) lines of $line_bytes bytes ..." >&2
generate "$work/input.txt" "$lines"
generate "$work/input-b1.txt" "$lines_b1"

channel_conf() { # type(file|file-nofsync|memory) dir
  if [ "$1" != memory ]; then
    cat <<CONF
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $2/checkpoint
a1.channels.c1.dataDirs = $2/data
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
CONF
    # fsyncPerTransaction=false: commits are written to the OS (they survive kill -9) and flushed every 5 s; the same
    # durability as syslog-ng's reliable disk buffer, which never calls fsync (strace: pwrite64 only).
    if [ "$1" = file-nofsync ]; then echo "a1.channels.c1.fsyncPerTransaction = false"; fi
  else
    cat <<CONF
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
CONF
  fi
}

# One measured flow: netcat (ack-every-event=false) -> channel -> sink, one TCP connection.
flow() { # label channel(file|file-nofsync|memory) batch sink(null|file_roll) input count
  local label="$1" channel="$2" batch="$3" sink="$4" input="$5" count="$6"
  local dir="$work/$label" port metrics pid result check="-"
  mkdir -p "$dir/out"
  port="$(free_port)"; metrics="$(free_port)"
  {
    echo "a1.sources = r1"; echo "a1.channels = c1"; echo "a1.sinks = k1"
    echo "a1.sources.r1.type = netcat"; echo "a1.sources.r1.bind = 127.0.0.1"; echo "a1.sources.r1.port = $port"
    echo "a1.sources.r1.ack-every-event = false"; echo "a1.sources.r1.batchSize = $batch"; echo "a1.sources.r1.channels = c1"
    channel_conf "$channel" "$dir"
    echo "a1.sinks.k1.channel = c1"
    if [ "$sink" = null ]; then
      echo "a1.sinks.k1.type = null"; echo "a1.sinks.k1.batchSize = $batch"
    else
      echo "a1.sinks.k1.type = file_roll"; echo "a1.sinks.k1.sink.directory = $dir/out"; echo "a1.sinks.k1.sink.rollInterval = 0"
      echo "a1.sinks.k1.sink.batchSize = $batch"
    fi
  } > "$dir/flume.conf"
  echo "  $label: $channel channel, batch $batch -> $sink, $count lines (load $(load))" >&2
  dotnet "$cli" agent -n a1 -f "$dir/flume.conf" --no-reload-conf -Dflume.monitoring.type=http -Dflume.monitoring.port="$metrics" \
    -Dflume.monitoring.bind=127.0.0.1 > "$dir/agent.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_port "$port" "$pid"
  if [ "$sink" = null ]; then
    result="$(python3 "$measure" tcp-metrics --port "$port" --input "$input" --metrics-url "http://127.0.0.1:$metrics/metrics" \
      --expected-events "$count" --pid "$pid" --timeout 900)"
  else
    result="$(python3 "$measure" tcp --port "$port" --input "$input" --output-dir "$dir/out" \
      --expected-bytes $((count * line_bytes)) --line-bytes "$line_bytes" --pid "$pid" --timeout 900)"
    if cmp -s "$input" "$(ls "$dir"/out/* | head -1)"; then check="identical"; else check="DIFFERS"; fi
  fi
  stop "$pid"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(label=sys.argv[2], channel=sys.argv[3], batch=int(sys.argv[4]), sink=sys.argv[5], check=sys.argv[6], load=sys.argv[7]); print(json.dumps(r))' \
    "$result" "$label" "$channel" "$batch" "$sink" "$check" "$(load)" >> "$results"
  rm -rf "$dir/data" "$dir/checkpoint" "$dir/out"
}

# syslog-ng with a reliable disk buffer (reference/peers.md), same input over one TCP connection into a file.
syslog_ng() { # label
  local label="$1" dir="$work/$1" port pid result check
  mkdir -p "$dir/out" "$dir/buffer"
  port="$(free_port)"
  cat > "$dir/syslog-ng.conf" <<CONF
@version: 3.38
options { flush-lines(1000); log-fifo-size(20000); stats-freq(0); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no); create-dirs(yes); };
source s_tcp { network(ip("127.0.0.1") port($port) transport("tcp") flags(no-parse) log-iw-size(20000) log-fetch-limit(1000) max-connections(10) log-msg-size(65536)); };
destination d_file { file("$dir/out/out.log" template("\${MESSAGE}\n") disk-buffer(reliable(yes) mem-buf-size(10MiB) disk-buf-size(4GiB) dir("$dir/buffer"))); };
log { source(s_tcp); destination(d_file); flags(flow-control); };
CONF
  echo "  $label: syslog-ng reliable disk buffer, $lines lines (load $(load))" >&2
  syslog-ng -F --no-caps -f "$dir/syslog-ng.conf" --persist-file="$dir/persist" --pidfile="$dir/pid" --control="$dir/ctl" > "$dir/syslog-ng.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_port "$port" "$pid"
  result="$(python3 "$measure" tcp --port "$port" --input "$work/input.txt" --output-dir "$dir/out" \
    --expected-bytes $((lines * line_bytes)) --line-bytes "$line_bytes" --pid "$pid" --timeout 900)"
  stop "$pid"
  if cmp -s "$work/input.txt" "$dir/out/out.log"; then check="identical"; else check="DIFFERS"; fi
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(label=sys.argv[2], channel="syslog-ng disk-buffer(reliable)", batch=0, sink="file", check=sys.argv[3], load=sys.argv[4]); print(json.dumps(r))' \
    "$result" "$label" "$check" "$(load)" >> "$results"
  rm -rf "$dir/out" "$dir/buffer"
}

# Restart with QUEUED events in the channel: fill it (no sink), then time restarts.
restart() {
  local dir="$work/restart" port metrics pid
  mkdir -p "$dir"
  generate "$dir/queued.txt" "$queued"
  port="$(free_port)"; metrics="$(free_port)"
  cat > "$dir/flume.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.ack-every-event = false
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $dir/checkpoint
a1.channels.c1.dataDirs = $dir/data
a1.channels.c1.capacity = $((queued + 1000))
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
CONF
  start_agent() { # BENCH_NICE (e.g. -15) runs the agent at that priority: a busy shared machine then starts it as an idle one would
    ${BENCH_NICE:+nice -n "$BENCH_NICE"} dotnet "$cli" agent -n a1 -f "$dir/flume.conf" --no-reload-conf -Dflume.monitoring.type=http -Dflume.monitoring.port="$metrics" \
      -Dflume.monitoring.bind=127.0.0.1 >> "$dir/agent.log" 2>&1 &
    pid=$!; pids+=("$pid")
  }
  echo "restart: filling the channel with $queued events (load $(load)) ..." >&2
  start_agent
  wait_port "$port" "$pid"
  python3 - "$port" "$dir/queued.txt" "http://127.0.0.1:$metrics/metrics" "$queued" <<'PY'
import json, socket, sys, time, urllib.request
port, path, url, expected = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
with open(path, "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
deadline = time.monotonic() + 900
while time.monotonic() < deadline:
    size = int(json.load(urllib.request.urlopen(url, timeout=5))["CHANNEL.c1"]["ChannelSize"])
    if size >= expected:
        break
    time.sleep(0.1)
else:
    sys.exit(f"channel holds {size} of {expected} events")
PY
  timed_restart() { # how (kill|stop)
    if [ "$1" = kill ]; then kill -9 "$pid"; wait "$pid" 2>/dev/null || true; else stop "$pid"; fi
    local before; before="$(grep -c 'File channel c1 open in' "$dir/agent.log" || true)"
    local t0; t0="$(date +%s%N)"
    start_agent
    wait_port "$port" "$pid"
    local t1; t1="$(date +%s%N)"
    # CPU the process used until then (user + system): what the restart costs on an idle core, whatever the load.
    local cpu_ms; cpu_ms="$(python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); print(round((int(f[11])+int(f[12]))*1000/os.sysconf("SC_CLK_TCK")))' "$pid")"
    local line; line="$(grep 'File channel c1 open in' "$dir/agent.log" | sed -n "$((before + 1))p")"
    python3 -c 'import json,re,sys; line=sys.argv[3]; m=re.search(r"open in (\d+) ms: (\d+) events queued; restored from (.*); replayed (\d+) records .* in (\d+) ms", line); print(json.dumps({"how": sys.argv[1], "spawn_to_listening_ms": round(int(sys.argv[2])/1e6), "cpu_ms": int(sys.argv[5]), "channel_open_ms": int(m.group(1)), "events": int(m.group(2)), "source": m.group(3)[:60], "replayed_records": int(m.group(4)), "replay_ms": int(m.group(5)), "load": sys.argv[4]}))' \
      "$1" "$((t1 - t0))" "$line" "$(load)" "$cpu_ms" >> "$work/restart.jsonl"
  }
  : > "$work/restart.jsonl"
  echo "restart: SIGKILL with $queued queued (load $(load)) ..." >&2
  timed_restart kill
  echo "restart: SIGKILL again (load $(load)) ..." >&2
  timed_restart kill
  echo "restart: clean stop (load $(load)) ..." >&2
  timed_restart stop
  timed_restart stop
  stop "$pid"
}

load_before="$(load)"
if [ "$only" != restart ]; then
  echo "throughput ..." >&2
  flow fc-b1-null file 1 null "$work/input-b1.txt" "$lines_b1"
  flow fc-b1-roll file 1 file_roll "$work/input-b1.txt" "$lines_b1"
  for b in 100 1000; do
    flow "fc-b$b-null" file "$b" null "$work/input.txt" "$lines"
    flow "fc-b$b-roll" file "$b" file_roll "$work/input.txt" "$lines"
  done
  flow fcnf-b100-null file-nofsync 100 null "$work/input.txt" "$lines"
  flow fcnf-b100-roll file-nofsync 100 file_roll "$work/input.txt" "$lines"
  flow mem-b100-null memory 100 null "$work/input.txt" "$lines"
  flow mem-b100-roll memory 100 file_roll "$work/input.txt" "$lines"
  syslog_ng sng-1
  for r in $(seq 2 "$repeat"); do
    flow "fc-b100-roll-$r" file 100 file_roll "$work/input.txt" "$lines"
    flow "fcnf-b100-roll-$r" file-nofsync 100 file_roll "$work/input.txt" "$lines"
    syslog_ng "sng-$r"
  done
fi
if [ "$only" != throughput ]; then
  restart
fi
load_after="$(load)"

python3 - "$results" "$work/restart.jsonl" "$lines" "$lines_b1" "$queued" "$load_before" "$load_after" <<'PY'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])] if os.path.getsize(sys.argv[1]) else []
restarts = [json.loads(l) for l in open(sys.argv[2])] if os.path.exists(sys.argv[2]) and os.path.getsize(sys.argv[2]) else []
lines, lines_b1, queued, before, after = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
for r in rows:
    if "error" in r:
        print(f"{r['label']}: {r['error']}"); sys.exit(1)
print()
print(f"File channel benchmark (2 cores, loopback; {lines:,} x 200-byte lines over one TCP connection, batch 1: {lines_b1:,}); load average before {before}, after {after}")
if rows:
    print(f"| {'flow':62} | {'events/s':>10} | {'MB/s':>6} | {'CPU us/event':>12} | {'peak RSS MiB':>12} | {'output':>9} | {'load (1/5/15 min)':>17} |")
    print(f"|{'-'*64}|{'-'*12}:|{'-'*8}:|{'-'*14}:|{'-'*14}:|{'-'*11}:|{'-'*19}:|")
    for r in rows:
        name = r["label"] + ": " + (f"netcat -> {r['channel']} -> {r['sink']}, batch {r['batch']}" if r["batch"] else "tcp -> syslog-ng disk-buffer(reliable) -> file")
        print(f"| {name:62} | {r['events_per_s']:>10,} | {r['mb_per_s']:>6} | {r['cpu_us_per_event']:>12} | {r['peak_rss_mib']:>12} | {r['check']:>9} | {r['load']:>17} |")
    fc = [r["events_per_s"] for r in rows if r["label"].startswith("fc-b100-roll")]
    fcnf = [r["events_per_s"] for r in rows if r["label"].startswith("fcnf-b100-roll")]
    sng = [r["events_per_s"] for r in rows if r["label"].startswith("sng")]
    for name, mine in (("fsyncPerTransaction=true (fdatasync before every commit returns)", fc),
                       ("fsyncPerTransaction=false (written to the OS at commit, like syslog-ng's reliable buffer)", fcnf)):
        if mine and sng:
            pairs = [f"{a / b:.2f}x" for a, b in zip(mine, sng)]
            print(f"\nfile channel batch 100 -> file_roll, {name} / syslog-ng reliable disk buffer, pairwise: {', '.join(pairs)}; "
                  f"median {statistics.median(mine) / statistics.median(sng):.2f}x (target >= 1.5x)")
    mem = [r["events_per_s"] for r in rows if r["label"] == "mem-b100-roll"]
    if fc and mem:
        print(f"file channel / memory channel (batch 100 -> file_roll): {statistics.median(fc) / mem[0]:.2f}x")
if restarts:
    print(f"\nRestart with {queued:,} queued events:")
    print(f"| {'after':10} | {'spawn -> source listening ms':>28} | {'CPU ms until then':>17} | {'channel open ms':>15} | {'replayed records':>16} | {'replay ms':>9} | {'events':>9} | {'restored from':60} | {'load':>17} |")
    print(f"|{'-'*12}|{'-'*29}:|{'-'*18}:|{'-'*16}:|{'-'*17}:|{'-'*10}:|{'-'*10}:|{'-'*62}|{'-'*18}:|")
    for r in restarts:
        print(f"| {r['how']:10} | {r['spawn_to_listening_ms']:>28} | {r['cpu_ms']:>17} | {r['channel_open_ms']:>15} | {r['replayed_records']:>16} | {r['replay_ms']:>9} | {r['events']:>9} | {r['source']:60} | {r['load']:>17} |")
PY
