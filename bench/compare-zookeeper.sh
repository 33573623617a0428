#!/usr/bin/env bash
# Zooflow standalone vs Apache ZooKeeper 3.8 (Debian jars), same client, same settings, same machine, one run.
#
#   bench/compare-zookeeper.sh
#
# Steps: build the CLI (Release) from the current tree; then, ONE SERVER AT A TIME (fairer on a 2-core machine:
# an idle JVM next to the server under test still costs GC/timer threads), start the server on a free loopback
# port with fsync on, wait for `srvr` to print `Mode:`, sample its idle RSS, run the suite with `zooflow bench --json`
# as the client (setData, create, getData, mix 80/20; 4 sessions x 100 in flight, 100-byte values), sampling the
# server's VmRSS every 0.5 s under load, then stop it by PID. ZooKeeper goes first, Zooflow second.
# Prints one side-by-side table with Zooflow/ZooKeeper ratios. Only processes this script started are stopped (by PID).
#
# Environment knobs (defaults in brackets):
#   DURATION [15]  measured seconds per op     WARMUP [3]   warm-up seconds per op
#   SESSIONS [4]   IN_FLIGHT [100]             VALUE_SIZE [100]
#   OPS ["setData getData mix create"]         CLI_OUT [artifacts/bench-cli]  where the Release CLI is built
#   ZK_HEAP [1000m]                            KEEP_WORK [0]  1 = keep the temp dir (logs, JSON) for inspection
# Exit status: 0 ok; 3 the current tree does not build; 4 a server did not start; 5 a bench run failed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
SESSIONS=${SESSIONS:-4}
IN_FLIGHT=${IN_FLIGHT:-100}
VALUE_SIZE=${VALUE_SIZE:-100}
OPS=${OPS:-"setData getData mix create"}
CLI_OUT=${CLI_OUT:-$ROOT/artifacts/bench-cli}
ZK_HEAP=${ZK_HEAP:-1000m}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/zooflow-compare-zk.XXXXXX)
PIDS=()
SERVER=""
SAMPLER=""

cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "== compare-zookeeper: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== uptime at start: $(uptime)"

# ---- build -------------------------------------------------------------------------------------------------------
log "building src/Zooflow.Cli (Release) into $CLI_OUT ..."
if ! timeout 900 dotnet build "$ROOT/src/Zooflow.Cli/Zooflow.Cli.csproj" -c Release -o "$CLI_OUT" -nologo -v quiet -clp:ErrorsOnly \
    >"$WORK/build.log" 2>&1; then
  echo "ERROR: the current tree does not build (src/Zooflow.Cli, Release); nothing was measured. Build output:" >&2
  tail -40 "$WORK/build.log" >&2
  exit 3
fi
CLI="$CLI_OUT/zooflow.dll"
[ -f "$CLI" ] || { echo "ERROR: $CLI missing after build" >&2; exit 3; }

# ---- servers -----------------------------------------------------------------------------------------------------
ZK_CP="$WORK/zk:/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
for j in /usr/share/java/zookeeper.jar /usr/share/java/zookeeper-jute.jar; do
  [ -f "$j" ] || { echo "ERROR: $j missing (Debian packages zookeeper / libzookeeper-java)" >&2; exit 4; }
done

write_cfg() { # dir port
  mkdir -p "$1/data"
  printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n' \
    "$1/data" "$2" >"$1/zoo.cfg"
}

start_zk() { # port
  local d="$WORK/zk"
  mkdir -p "$d"
  write_cfg "$d" "$1"
  printf 'log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=%s\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\nlog4j.appender.F.layout.ConversionPattern=%%d %%p %%c{1} %%m%%n\n' \
    "$d/zk.log" >"$d/log4j.properties"
  java "-Xmx$ZK_HEAP" -Dzookeeper.admin.enableServer=false -cp "$ZK_CP" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
}

start_zooflow() { # port
  local d="$WORK/zooflow"
  mkdir -p "$d"
  write_cfg "$d" "$1"
  dotnet "$CLI" server "$d/zoo.cfg" >"$d/stdout.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
}

wait_ready() { # port pid name
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$2" 2>/dev/null || { echo "ERROR: $3 exited during start-up" >&2; return 1; }
    if printf 'srvr' | timeout 2 nc -q 1 127.0.0.1 "$1" 2>/dev/null | grep -q '^Mode:'; then return 0; fi
    sleep 0.1
  done
  echo "ERROR: $3 not ready within 60 s" >&2
  return 1
}

stop_server() {
  [ -n "$SERVER" ] || return 0
  kill -TERM "$SERVER" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
}

# Samples VmRSS of $1 every 0.5 s into file $2 (max kept) until killed.
start_sampler() {
  (
    max=0
    while kill -0 "$1" 2>/dev/null; do
      r=$(kib "$1" VmRSS); r=${r:-0}
      [ "$r" -gt "$max" ] && max=$r && echo "$max" >"$2"
      sleep 0.5
    done
  ) &
  SAMPLER=$!
  PIDS+=("$SAMPLER")
}
stop_sampler() { [ -n "$SAMPLER" ] && { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }; SAMPLER=""; }

run_suite() { # name start-fn
  local name=$1 start=$2 port op
  port=$(freeport)
  log "$name: starting on 127.0.0.1:$port"
  local t0=$SECONDS
  $start "$port"
  wait_ready "$port" "$SERVER" "$name" || { tail -20 "$WORK"/*/stdout.log >&2 || true; exit 4; }
  log "$name: ready (pid $SERVER) after $((SECONDS - t0)) s"
  sleep 2
  echo "$(kib "$SERVER" VmRSS)" >"$WORK/$name.rss-idle"
  echo 0 >"$WORK/$name.rss-load"
  for op in $OPS; do
    log "$name: $op (${WARMUP}s warm-up + ${DURATION}s)"
    local extra=()
    [ "$op" = mix ] && extra=(--read-ratio 0.8)
    start_sampler "$SERVER" "$WORK/$name.$op.rss"
    # create: zooflow bench deletes every node it created before it reports (sequential deletes, can take minutes).
    local limit=$((${DURATION%.*} + ${WARMUP%.*} + 90))
    [ "$op" = create ] && limit=$((limit + 240))
    if ! timeout "$limit" dotnet "$CLI" bench --server "127.0.0.1:$port" --op "$op" "${extra[@]}" \
        --sessions "$SESSIONS" --in-flight "$IN_FLIGHT" --value-size "$VALUE_SIZE" --duration "$DURATION" --warmup "$WARMUP" \
        --quiet --json "$WORK/$name.$op.json" >"$WORK/$name.$op.out" 2>&1; then
      stop_sampler
      echo "ERROR: zooflow bench --op $op against $name failed or timed out after ${limit}s:" >&2
      cat "$WORK/$name.$op.out" >&2
      exit 5
    fi
    stop_sampler
    local r; r=$(cat "$WORK/$name.$op.rss" 2>/dev/null || echo 0)
    [ "$r" -gt "$(cat "$WORK/$name.rss-load")" ] && echo "$r" >"$WORK/$name.rss-load"
    log "$name: $op $(jq -r '"\(.OpsPerSecond|floor) ops/s p50 \(.P50Us) p99 \(.P99Us) p99.9 \(.P999Us) us, errors \(.Errors)"' "$WORK/$name.$op.json"), RSS max $((r / 1024)) MiB"
  done
  echo "$(kib "$SERVER" VmHWM)" >"$WORK/$name.rss-hwm"
  stop_server
}

run_suite zookeeper start_zk
run_suite zooflow start_zooflow

# ---- table -------------------------------------------------------------------------------------------------------
echo
echo "== Zooflow vs Apache ZooKeeper 3.8.0 (standalone, fsync on, one server at a time, ZooKeeper first)"
echo "== client: zooflow bench (Release), $SESSIONS sessions x $IN_FLIGHT in flight, $VALUE_SIZE-byte values, ${WARMUP}s warm-up + ${DURATION}s per op; mix = 80% getData / 20% setData"
echo "== ZooKeeper: java -Xmx$ZK_HEAP (OpenJDK $(java -version 2>&1 | awk -F'"' '/version/ {print $2}')); Zooflow: dotnet $(dotnet --version)"
WORK="$WORK" OPS="$OPS" $PY - <<'EOF'
import json, os
w = os.environ["WORK"]; ops = os.environ["OPS"].split()
def load(n, op):
    with open(f"{w}/{n}.{op}.json") as f: return json.load(f)
def kib(n, what):
    with open(f"{w}/{n}.{what}") as f: return int(f.read().strip() or 0)
def ratio(a, b): return f"{a / b:.2f}x" if b else "n/a"
hdr = f"{'metric':<22}{'ZooKeeper':>12}{'Zooflow':>12}{'Zooflow/ZK':>12}  target"
print(hdr); print("-" * len(hdr))
for op in ops:
    zk, zf = load("zookeeper", op), load("zooflow", op)
    tgt = {"setData": ">= 2x", "create": ">= 2x", "getData": ">= 2x"}.get(op, "")
    print(f"{op + ' ops/s':<22}{zk['OpsPerSecond']:>12.0f}{zf['OpsPerSecond']:>12.0f}{ratio(zf['OpsPerSecond'], zk['OpsPerSecond']):>12}  {tgt}")
    for key, label in (("P50Us", "p50 us"), ("P99Us", "p99 us"), ("P999Us", "p99.9 us")):
        t = "<= 1x" if key == "P99Us" else ""
        print(f"{'  ' + label:<22}{zk[key]:>12.0f}{zf[key]:>12.0f}{ratio(zf[key], zk[key]):>12}  {t}")
    if zk["Errors"] or zf["Errors"]:
        print(f"{'  errors':<22}{zk['Errors']:>12}{zf['Errors']:>12}")
for what, label, t in (("rss-idle", "RSS idle MiB", ""), ("rss-load", "RSS max load MiB", "<= 0.5x"), ("rss-hwm", "VmHWM MiB", "")):
    a, b = kib("zookeeper", what), kib("zooflow", what)
    print(f"{label:<22}{a / 1024:>12.0f}{b / 1024:>12.0f}{ratio(b, a):>12}  {t}")
EOF
echo
echo "== uptime at end: $(uptime)"
