#!/usr/bin/env bash
# Kafka benchmark, one run, everything on 127.0.0.1, stops by itself. The cluster is librdkafka's mock cluster hosted by
# Debian's kcat (reference/peers.md "Kafka without a broker"): an in-memory Kafka protocol server inside one process,
# not a real broker, so the figures are an upper bound of what a real cluster would take.
#   (a) seq -> memory -> Kafka sink (acks=1, Flume's default), flumeBatchSize 100 and 1000
#   (b) Kafka source -> memory -> null, batchSize 100 and 1000 (the topic is filled with kcat beforehand)
# events/s and agent CPU per event from the agent's /metrics (bench/pipeline/measure.py), plus the load average.
# Usage: bench/kafka/run.sh [EVENTS] (default 300000). Env: BENCH_KEEP=1 keeps the work directory,
# BENCH_NO_BUILD=1 uses the existing Release build, VALUE_BYTES (default 20) sizes the records of (b).
# The mock cluster keeps at most 5 MiB (and 100,000 record batches) per partition and drops older data beyond that
# (rdkafka_mock.c), so EVENTS x record size must stay under ~4 x 5 MiB for its 4 default partitions; the script checks
# that the topics hold every record.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
measure="$root/bench/pipeline/measure.py"
events="${1:-300000}"
value_bytes="${VALUE_BYTES:-20}"
work="$(mktemp -d /tmp/zooflow-bench-kafka.XXXXXX)"
pids=()

stop() { # pid
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

cleanup() {
  exec 3>&- 2>/dev/null || true # closes the mock cluster's stdin: kcat exits
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && stop "$pid"
  done
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

command -v kcat >/dev/null || "$root/scripts/install-test-deps.sh"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  echo "building Release ..." >&2
  dotnet build "$root/src/Zooflow.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
fi
cli="$root/src/Zooflow.Cli/bin/Release/net10.0/zooflow.dll"

# The mock cluster: a kcat producer whose stdin (a fifo held open on fd 3) never closes, 3 mock brokers.
mkfifo "$work/mock.in"
kcat -P -t _keepalive -X test.mock.num.brokers=3 -b mock:1 < "$work/mock.in" > "$work/mock.log" 2>&1 &
mock_pid=$!; pids+=("$mock_pid")
exec 3>"$work/mock.in"
bootstrap=""
for _ in $(seq 1 100); do
  bootstrap="$(grep -o 'replaced with [0-9.:,]*' "$work/mock.log" | head -1 | sed 's/replaced with //')" || true
  [ -n "$bootstrap" ] && break
  sleep 0.1
done
[ -n "$bootstrap" ] || { echo "mock cluster did not report its bootstrap list:" >&2; cat "$work/mock.log" >&2; exit 1; }
echo "mock cluster (kcat pid $mock_pid): $bootstrap" >&2

run_agent() { # name config expected -> JSON
  local port pid
  port="$(free_port)"
  dotnet "$cli" agent -n a1 -f "$work/$1.conf" --no-reload-conf -Dflume.monitoring.type=http -Dflume.monitoring.port="$port" \
    -Dflume.monitoring.bind=127.0.0.1 > "$work/$1.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_port "$port" "$pid"
  python3 "$measure" metrics --metrics-url "http://127.0.0.1:$port/metrics" --expected-events "$2" --event-bytes "$3" --pid "$pid" --timeout 600
  stop "$pid"
}

results=()
for batch in 100 1000; do
  topic="sink$batch"
  cat > "$work/sink$batch.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.batchSize = 1000
a1.sources.r1.totalEvents = $events
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = $bootstrap
a1.sinks.k1.kafka.topic = $topic
a1.sinks.k1.flumeBatchSize = $batch
CONF
  echo "(a) seq -> memory -> kafka sink, flumeBatchSize $batch, $events events ..." >&2
  results+=("sink $batch $(run_agent "sink$batch" "$events" 7)")
  echo "  ${results[-1]}" >&2
  got="$(kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -f '\n' | wc -l)"
  [ "$got" = "$events" ] || { echo "topic $topic holds $got records, expected $events" >&2; exit 1; }
done

echo "filling topic src with $events records of $value_bytes bytes (kcat) ..." >&2
python3 -c "
import sys
v = ('x' * $value_bytes)
sys.stdout.write(''.join(f'{i:010d}{v[10:]}\n' for i in range($events)))" > "$work/records.txt"
# message.timeout.ms=0: kcat never gives up on a record (under load its default timeout dropped some).
kcat -P -b "$bootstrap" -t src -X linger.ms=50 -X batch.num.messages=10000 -X message.timeout.ms=0 < "$work/records.txt"
got="$(kcat -C -b "$bootstrap" -t src -o beginning -e -q -f '\n' | wc -l)"
[ "$got" = "$events" ] || { echo "topic src holds $got records, expected $events" >&2; exit 1; }
for batch in 100 1000; do
  cat > "$work/source$batch.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = $bootstrap
a1.sources.r1.kafka.topics = src
a1.sources.r1.kafka.consumer.group.id = bench$batch
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.batchSize = $batch
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 1000
a1.sinks.k1.channel = c1
CONF
  echo "(b) kafka source -> memory -> null, batchSize $batch, $events records ..." >&2
  results+=("source $batch $(run_agent "source$batch" "$events" "$value_bytes")")
  echo "  ${results[-1]}" >&2
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average before: $load_before, after: $load_after" >&2
python3 - "$events" "$value_bytes" "$load_before" "$load_after" "${results[@]}" <<'PY'
import json, sys
events, value_bytes, load_before, load_after = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
print()
print(f"Kafka benchmark (2 cores, loopback, librdkafka mock cluster in kcat; {events:,} events; load average {load_before} before, {load_after} after)")
print(f"{'flow':46} {'batch':>6} {'events/s':>11} {'CPU us/event':>13} {'peak RSS MiB':>13}")
for line in sys.argv[5:]:
    kind, batch, payload = line.split(" ", 2)
    r = json.loads(payload)
    if "error" in r:
        print(f"{kind} {batch}: {r['error']}"); sys.exit(1)
    name = "(a) seq -> memory -> kafka sink (acks=1)" if kind == "sink" else f"(b) kafka source -> memory -> null ({value_bytes} B)"
    print(f"{name:46} {batch:>6} {r['events_per_s']:>11,} {r['cpu_us_per_event']:>13} {r['peak_rss_mib']:>13}")
PY
