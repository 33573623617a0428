#!/usr/bin/env bash
# Pipeline benchmark, one run, everything on 127.0.0.1, stops by itself:
#   (a) seq -> memory -> null                       events/s (from the agent's /metrics)
#   (b) netcat TCP, 200-byte lines -> memory -> file_roll   events/s, MB/s, peak RSS
#   (c) syslog-ng (Debian syslog-ng-core, tuned as in docs/benchmarks.md) receiving the same TCP stream into a file
# and a table with the ratio Zooflow / syslog-ng. Usage: bench/pipeline/run.sh [LINES] (default 2000000).
# Env: SEQ_EVENTS (default 10000000), BENCH_KEEP=1 keeps the work directory, BENCH_NO_BUILD=1 uses the existing Release build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/pipeline"
lines="${1:-2000000}"
seq_events="${SEQ_EVENTS:-10000000}"
line_bytes=200
work="$(mktemp -d /tmp/zooflow-bench-pipeline.XXXXXX)"
pids=()

source "$root/bench/lib.sh"

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
# Runner backoff: Flume's defaults (1000/5000 ms); the memory channel wakes an idle sink runner on commit, so they do
# not throttle. BENCH_RUNNER_FLAGS="--backoff-increment-ms 1 --max-backoff-ms 10" overrides them.
runner_flags="${BENCH_RUNNER_FLAGS-}"

echo "generating $lines lines of $line_bytes bytes ..." >&2
generate_lines "$work/input.txt" "$lines" "$line_bytes"
expected_bytes=$((lines * line_bytes))

# (a) seq -> memory -> null ----------------------------------------------------------------------------------------
metrics_port="$(free_port)"
cat > "$work/seq.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.batchSize = 1000
a1.sources.r1.totalEvents = $seq_events
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 1000
a1.sinks.k1.channel = c1
CONF
echo "(a) seq -> memory -> null, $seq_events events ..." >&2
dotnet "$cli" agent -n a1 -f "$work/seq.conf" --no-reload-conf $runner_flags -Dflume.monitoring.type=http -Dflume.monitoring.port="$metrics_port" \
  -Dflume.monitoring.bind=127.0.0.1 > "$work/seq.log" 2>&1 &
seq_pid=$!; pids+=("$seq_pid")
wait_port "$metrics_port" "$seq_pid"
seq_result="$(python3 "$here/measure.py" metrics --metrics-url "http://127.0.0.1:$metrics_port/metrics" --expected-events "$seq_events" \
  --event-bytes 7 --pid "$seq_pid")"
stop "$seq_pid"

# (b) Zooflow netcat -> memory -> file_roll --------------------------------------------------------------------------
port="$(free_port)"
mkdir -p "$work/zooflow-out"
cat > "$work/tcp.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.ack-every-event = false
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = $work/zooflow-out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
CONF
echo "(b) zooflow netcat -> memory -> file_roll, $lines lines ..." >&2
dotnet "$cli" agent -n a1 -f "$work/tcp.conf" --no-reload-conf $runner_flags > "$work/tcp.log" 2>&1 &
tcp_pid=$!; pids+=("$tcp_pid")
wait_port "$port" "$tcp_pid"
zf_result="$(python3 "$here/measure.py" tcp --port "$port" --input "$work/input.txt" --output-dir "$work/zooflow-out" \
  --expected-bytes "$expected_bytes" --line-bytes "$line_bytes" --pid "$tcp_pid")"
stop "$tcp_pid"
if ! cmp -s "$work/input.txt" "$(ls "$work"/zooflow-out/* | head -1)"; then zf_check="DIFFERS"; else zf_check="identical"; fi

# (c) syslog-ng, tuned (reference/peers.md) --------------------------------------------------------------------------
sport="$(free_port)"
mkdir -p "$work/syslog-ng"
cat > "$work/syslog-ng/syslog-ng.conf" <<CONF
@version: 3.38
options { flush-lines(1000); log-fifo-size(20000); stats-freq(0); use-dns(no); use-fqdn(no); keep-hostname(yes); chain-hostnames(no); create-dirs(yes); };
source s_tcp { network(ip("127.0.0.1") port($sport) transport("tcp") flags(no-parse) log-iw-size(20000) log-fetch-limit(1000) max-connections(10) log-msg-size(65536)); };
destination d_file { file("$work/syslog-ng-out/out.log" template("\${MESSAGE}\n")); };
log { source(s_tcp); destination(d_file); flags(flow-control); };
CONF
mkdir -p "$work/syslog-ng-out"
echo "(c) syslog-ng tcp -> file, $lines lines ..." >&2
syslog-ng -F --no-caps -f "$work/syslog-ng/syslog-ng.conf" --persist-file="$work/syslog-ng/persist" \
  --pidfile="$work/syslog-ng/pid" --control="$work/syslog-ng/ctl" > "$work/syslog-ng.log" 2>&1 &
sng_pid=$!; pids+=("$sng_pid")
wait_port "$sport" "$sng_pid"
sng_result="$(python3 "$here/measure.py" tcp --port "$sport" --input "$work/input.txt" --output-dir "$work/syslog-ng-out" \
  --expected-bytes "$expected_bytes" --line-bytes "$line_bytes" --pid "$sng_pid")"
stop "$sng_pid"
if ! cmp -s "$work/input.txt" "$work/syslog-ng-out/out.log"; then sng_check="DIFFERS"; else sng_check="identical"; fi

echo "load average before the run: $load_before" >&2
python3 - "$seq_result" "$zf_result" "$sng_result" "$zf_check" "$sng_check" "$lines" "$seq_events" <<'PY'
import json, sys
seq, zf, sng = (json.loads(x) for x in sys.argv[1:4])
zf_check, sng_check, lines, seq_events = sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
for name, r in (("seq", seq), ("zooflow", zf), ("syslog-ng", sng)):
    if "error" in r:
        print(f"{name}: {r['error']}"); sys.exit(1)
print()
print(f"Pipeline benchmark (2 cores, loopback; {lines:,} x 200-byte lines over one TCP connection; seq {seq_events:,} events)")
print(f"{'flow':44} {'events/s':>11} {'MB/s':>7} {'CPU us/event':>13} {'peak RSS MiB':>13} {'output':>10}")
print(f"{'(a) zooflow seq -> memory -> null':44} {seq['events_per_s']:>11,} {'-':>7} {seq['cpu_us_per_event']:>13} {seq['peak_rss_mib']:>13} {'-':>10}")
print(f"{'(b) zooflow netcat -> memory -> file_roll':44} {zf['events_per_s']:>11,} {zf['mb_per_s']:>7} {zf['cpu_us_per_event']:>13} {zf['peak_rss_mib']:>13} {zf_check:>10}")
print(f"{'(c) syslog-ng tcp -> file (tuned)':44} {sng['events_per_s']:>11,} {sng['mb_per_s']:>7} {sng['cpu_us_per_event']:>13} {sng['peak_rss_mib']:>13} {sng_check:>10}")
print(f"ratio zooflow / syslog-ng (TCP -> file): {zf['events_per_s'] / sng['events_per_s']:.2f}x events/s, "
      f"{zf['cpu_us_per_event'] / max(sng['cpu_us_per_event'], 0.01):.2f}x CPU per event, "
      f"{zf['peak_rss_mib'] / max(sng['peak_rss_mib'], 0.1):.1f}x peak RSS")
PY
