#!/usr/bin/env bash
# Restart-to-first-reply with N znodes of 100 bytes, and pipelined create throughput with fsync on:
# Zooflow vs the Debian Apache ZooKeeper 3.8, same client (zkload.py), same data, same machine, one script.
#   bench/zk/restart.sh [N=1000000]
# Each server: fresh data dir → load N creates (one connection, 2000 in flight; throughput printed) → kill -9 →
# restart and time from process spawn until a new session's getData answers. Needs a built CLI
# (dotnet build src/Zooflow.Cli; ZOOFLOW_CLI=path/to/zooflow.dll picks another build, e.g. Release) and java + /usr/share/java/zookeeper.jar.
set -euo pipefail
N=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CLI=${ZOOFLOW_CLI:-$ROOT/src/Zooflow.Cli/bin/Debug/net10.0/zooflow.dll}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/zooflow-bench-restart.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_zooflow() { dotnet "$CLI" server "$WORK/zooflow.cfg" >>"$WORK/zooflow.out" 2>&1 & SERVER=$!; PIDS+=("$SERVER"); }
start_zk() {
  java -Xmx3g -Dzookeeper.admin.enableServer=false -Dzookeeper.jute.maxbuffer=4194304 \
    -cp "$WORK:/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$WORK/zk.cfg" >>"$WORK/zk.out" 2>&1 & SERVER=$!; PIDS+=("$SERVER")
}

run_one() { # name start-fn port
  local name=$1 start=$2 port=$3
  trap '[ -n "${SERVER:-}" ] && kill -9 "$SERVER" 2>/dev/null' EXIT
  $start
  $PY "$HERE/zkload.py" first "$port" 120 >/dev/null
  local load; load=$($PY "$HERE/zkload.py" load "$port" "$N" 100)
  echo "$name load: $load" >&2
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
  $start
  local t; t=$($PY "$HERE/zkload.py" first "$port" 600)
  echo "$name restart-to-first-reply: $t s" >&2
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
  echo "$t $(echo "$load" | sed -E 's/.*= ([0-9]+) creates.*/\1/')"
}

ZFPORT=$(freeport); ZKPORT=$(freeport)
mkdir -p "$WORK/zf-data" "$WORK/zk-data"
printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n' "$WORK/zf-data" "$ZFPORT" > "$WORK/zooflow.cfg"
printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n' "$WORK/zk-data" "$ZKPORT" > "$WORK/zk.cfg"
printf 'log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=%s\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n' "$WORK/zk.log" > "$WORK/log4j.properties"

read -r ZF_T ZF_W < <(run_one Zooflow start_zooflow "$ZFPORT")
read -r ZK_T ZK_W < <(run_one ZooKeeper start_zk "$ZKPORT")

echo
echo "N = $N znodes x 100 bytes, fsync on (forceSync default), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-44s %12s %12s %14s\n' "metric" "Zooflow" "ZooKeeper" "Zooflow/ZK"
printf '%-44s %12s %12s %14s\n' "restart to first reply (s, lower is better)" "$ZF_T" "$ZK_T" "$(awk -v a="$ZF_T" -v b="$ZK_T" 'BEGIN{printf "%.2f", a/b}')"
printf '%-44s %12s %12s %14s\n' "pipelined creates/s with fsync (higher better)" "$ZF_W" "$ZK_W" "$(awk -v a="$ZF_W" -v b="$ZK_W" 'BEGIN{printf "%.2f", a/b}')"
