#!/usr/bin/env bash
# Kafka benchmark, one run, everything on 127.0.0.1, stops by itself. The cluster is librdkafka 2.16's mock cluster
# (the same librdkafka the agent loads) hosted by tests/Zooflow.Kafka.MockCluster: an in-memory Kafka protocol server
# in one process, not a real broker, so the figures are an upper bound of what a real cluster would take.
# (Debian's kcat 1.7.1 hosts the mock of librdkafka 2.0.2, whose produce path answers a 100-message batch in ~44 ms
# against ~2 ms for 2.16's, measured on this machine: it would measure kcat's mock, not the sink.)
#   (a) seq -> memory -> Kafka sink (acks=1, Flume's default), flumeBatchSize 100 and 1000
#   (b) Kafka source -> memory -> null, batchSize 100 and 1000 (the topic is filled with kcat beforehand)
# events/s and agent CPU per event from the agent's /metrics (bench/pipeline/measure.py), plus the load average.
# Usage: bench/kafka/run.sh [SINK_EVENTS] [SOURCE_EVENTS] (defaults 1000000 and 150000). Env: BENCH_KEEP=1 keeps the
# work directory, BENCH_NO_BUILD=1 uses the existing Release build, VALUE_BYTES (default 20) sizes the records of (b).
# The mock cluster keeps at most 5 MiB (and 100,000 record batches) per partition and drops older data beyond that
# (rdkafka_mock.c); kcat-filled topics held at most ~180,000 records here. So the topics get 16 partitions, and a run
# counts only when the agent's metrics reach the expected count (a sink event counts once the broker acknowledged it;
# a topic that lost records leaves the source run short, and measure.py reports a timeout). kcat 1.7.1 (librdkafka
# 2.0.2) reads this mock too slowly to recount a million records here; the tests check topic contents with it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
measure="$root/bench/pipeline/measure.py"
events="${1:-1000000}"
source_events="${2:-150000}"
value_bytes="${VALUE_BYTES:-20}"
work="$(mktemp -d /tmp/zooflow-bench-kafka.XXXXXX)"
pids=()

stop() { # pid
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

cleanup() {
  exec 3>&- 2>/dev/null || true # closes the mock cluster's stdin: it exits
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
  dotnet build "$root/tests/Zooflow.Kafka.MockCluster" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
fi
cli="$root/src/Zooflow.Cli/bin/Release/net10.0/zooflow.dll"
mockhost="$root/tests/Zooflow.Kafka.MockCluster/bin/Release/net10.0/Zooflow.Kafka.MockCluster.dll"

# The mock cluster: 3 brokers; it lives while its stdin (a fifo held open on fd 3) stays open.
mkfifo "$work/mock.in"
dotnet "$mockhost" --brokers 3 --topic sink100:16 --topic sink1000:16 --topic src:16 < "$work/mock.in" > "$work/mock.out" 2> "$work/mock.log" &
mock_pid=$!; pids+=("$mock_pid")
exec 3>"$work/mock.in"
bootstrap=""
for _ in $(seq 1 300); do
  bootstrap="$(sed -n 's/^bootstrap=//p' "$work/mock.out")"
  [ -n "$bootstrap" ] && break
  sleep 0.1
done
[ -n "$bootstrap" ] || { echo "mock cluster did not report its bootstrap list:" >&2; cat "$work/mock.log" >&2; exit 1; }
echo "mock cluster (pid $mock_pid): $bootstrap" >&2

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
done

echo "filling topic src with $source_events records of $value_bytes bytes (kcat) ..." >&2
python3 -c "
import sys
v = ('x' * $value_bytes)
sys.stdout.write(''.join(f'{i:010d}{v[10:]}\n' for i in range($source_events)))" > "$work/records.txt"
# message.timeout.ms=0: kcat never gives up on a record, however loaded the machine.
kcat -P -b "$bootstrap" -t src -X linger.ms=50 -X batch.num.messages=10000 -X message.timeout.ms=0 < "$work/records.txt"
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
  echo "(b) kafka source -> memory -> null, batchSize $batch, $source_events records ..." >&2
  results+=("source $batch $(run_agent "source$batch" "$source_events" "$value_bytes")")
  echo "  ${results[-1]}" >&2
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average before: $load_before, after: $load_after" >&2
python3 - "$events" "$source_events" "$value_bytes" "$load_before" "$load_after" "${results[@]}" <<'PY'
import json, sys
events, source_events, value_bytes, load_before, load_after = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print()
print(f"Kafka benchmark (2 cores, loopback, librdkafka 2.16 mock cluster, 3 brokers; sink {events:,} events, source {source_events:,} records; load average {load_before} before, {load_after} after)")
print(f"{'flow':46} {'batch':>6} {'events/s':>11} {'CPU us/event':>13} {'peak RSS MiB':>13}")
for line in sys.argv[6:]:
    kind, batch, payload = line.split(" ", 2)
    r = json.loads(payload)
    if "error" in r:
        print(f"{kind} {batch}: {r['error']}"); sys.exit(1)
    name = "(a) seq -> memory -> kafka sink (acks=1)" if kind == "sink" else f"(b) kafka source -> memory -> null ({value_bytes} B)"
    print(f"{name:46} {batch:>6} {r['events_per_s']:>11,} {r['cpu_us_per_event']:>13} {r['peak_rss_mib']:>13}")
PY
