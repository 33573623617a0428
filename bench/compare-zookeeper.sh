#!/usr/bin/env bash
# Zooflow standalone vs Apache ZooKeeper 3.8 (Debian jars), same client, same settings, same machine, one run.
#
#   bench/compare-zookeeper.sh
#
# Steps: build the CLI (Release) from the current tree; then, ONE SERVER AT A TIME (fairer on a 2-core machine:
# an idle JVM next to the server under test still costs GC/timer threads), start the server on a free loopback
# port with fsync on and a fresh data directory, wait for `srvr` to print `Mode:`, sample its idle RSS, run the suite
# with `zooflow bench --json` as the client (setData, getData, mix 80/20, create; 4 sessions x 100 in flight, 100-byte
# values), sampling the server's VmRSS every 0.5 s and its znode count (`mntr`) every second under load, then stop it
# by PID. That is one half; a round is both halves. ROUNDS rounds alternate which server goes first (ZooKeeper first in
# odd rounds), because on a shared machine the load moves between the halves. Prints the load average of every half,
# one side-by-side table of the MEDIANS over the rounds with Zooflow/ZooKeeper ratios (and the per-round ratios), and
# for create the memory per znode: (max RSS - RSS when create began) / znodes held, and each server's RSS when it held as many
# znodes as the server that created fewer held at its peak (equal-count comparison).
# Only processes this script started are stopped (by PID).
#
# Environment knobs (defaults in brackets):
#   ROUNDS [3]     alternating rounds; the table shows medians
#   DURATION [15]  measured seconds per op     WARMUP [3]   warm-up seconds per op
#   SESSIONS [4]   IN_FLIGHT [100]             VALUE_SIZE [100]
#   OPS ["setData getData mix create"]         CLI_OUT [artifacts/bench-cli]  where the Release CLI is built
#   ZK_HEAP [1000m]                            KEEP_WORK [0]  1 = keep the temp dir (logs, JSON) for inspection
#   ENSEMBLE [1]   1 = then run bench/ensemble/run.sh (3-member ensembles: writes and fail-over time), 0 = skip
# Exit status: 0 ok; 3 the current tree does not build; 4 a server did not start; 5 a bench run failed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
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
ZK_JARS="/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
for j in /usr/share/java/zookeeper.jar /usr/share/java/zookeeper-jute.jar; do
  [ -f "$j" ] || { echo "ERROR: $j missing (Debian packages zookeeper / libzookeeper-java)" >&2; exit 4; }
done

write_cfg() { # dir port
  mkdir -p "$1/data"
  printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n' \
    "$1/data" "$2" >"$1/zoo.cfg"
}

start_zk() { # port
  local d="$RWORK/zk"
  mkdir -p "$d"
  write_cfg "$d" "$1"
  printf 'log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=%s\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\nlog4j.appender.F.layout.ConversionPattern=%%d %%p %%c{1} %%m%%n\n' \
    "$d/zk.log" >"$d/log4j.properties"
  java "-Xmx$ZK_HEAP" -Dzookeeper.admin.enableServer=false -cp "$d:$ZK_JARS" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
}

start_zooflow() { # port
  local d="$RWORK/zooflow"
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

znodes() { printf 'mntr' | timeout 2 nc -q 1 127.0.0.1 "$1" 2>/dev/null | awk '$1 == "zk_znode_count" {print $2}'; }

# Samples VmRSS of pid $1 every 0.5 s into file $2 (max kept) and appends "seconds rss-KiB znodes" lines to $2.series,
# the znode count asked from port $3 every second, until killed.
start_sampler() {
  (
    max=0 tick=0 z=0 t0=$SECONDS
    while kill -0 "$1" 2>/dev/null; do
      r=$(kib "$1" VmRSS); r=${r:-0}
      [ "$r" -gt "$max" ] && max=$r && echo "$max" >"$2"
      if [ $((tick % 2)) = 0 ]; then z=$(znodes "$3"); z=${z:-0}; echo "$((SECONDS - t0)) $r $z" >>"$2.series"; fi
      tick=$((tick + 1))
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
  wait_ready "$port" "$SERVER" "$name" || { tail -20 "$RWORK"/*/stdout.log >&2 || true; exit 4; }
  log "$name: ready (pid $SERVER) after $((SECONDS - t0)) s"
  sleep 2
  echo "$(kib "$SERVER" VmRSS)" >"$RWORK/$name.rss-idle"
  echo 0 >"$RWORK/$name.rss-load"
  echo "$name: $(cat /proc/loadavg)" >>"$RWORK/load"
  log "$name: load average $(cat /proc/loadavg)"
  for op in $OPS; do
    log "$name: $op (${WARMUP}s warm-up + ${DURATION}s)"
    local extra=()
    [ "$op" = mix ] && extra=(--read-ratio 0.8)
    start_sampler "$SERVER" "$RWORK/$name.$op.rss" "$port"
    # create: zooflow bench deletes every node it created before it reports (sequential deletes, can take minutes).
    local limit=$((${DURATION%.*} + ${WARMUP%.*} + 90))
    [ "$op" = create ] && limit=$((limit + 240))
    if ! timeout "$limit" dotnet "$CLI" bench --server "127.0.0.1:$port" --op "$op" "${extra[@]}" \
        --sessions "$SESSIONS" --in-flight "$IN_FLIGHT" --value-size "$VALUE_SIZE" --duration "$DURATION" --warmup "$WARMUP" \
        --quiet --json "$RWORK/$name.$op.json" >"$RWORK/$name.$op.out" 2>&1; then
      stop_sampler
      echo "ERROR: zooflow bench --op $op against $name failed or timed out after ${limit}s:" >&2
      cat "$RWORK/$name.$op.out" >&2
      exit 5
    fi
    stop_sampler
    local r; r=$(cat "$RWORK/$name.$op.rss" 2>/dev/null || echo 0)
    [ "$r" -gt "$(cat "$RWORK/$name.rss-load")" ] && echo "$r" >"$RWORK/$name.rss-load"
    log "$name: $op $(jq -r '"\(.OpsPerSecond|floor) ops/s p50 \(.P50Us) p99 \(.P99Us) p99.9 \(.P999Us) us, errors \(.Errors)"' "$RWORK/$name.$op.json"), RSS max $((r / 1024)) MiB"
  done
  echo "$(kib "$SERVER" VmHWM)" >"$RWORK/$name.rss-hwm"
  stop_server
}

for round in $(seq "$ROUNDS"); do
  RWORK="$WORK/r$round"
  mkdir -p "$RWORK"
  log "round $round of $ROUNDS"
  if [ $((round % 2)) = 1 ]; then
    run_suite zookeeper start_zk
    run_suite zooflow start_zooflow
  else
    run_suite zooflow start_zooflow
    run_suite zookeeper start_zk
  fi
done

# ---- table -------------------------------------------------------------------------------------------------------
echo
echo "== Zooflow vs Apache ZooKeeper 3.8.0 (standalone, fsync on, one server at a time, $ROUNDS alternating round(s), medians)"
echo "== client: zooflow bench (Release), $SESSIONS sessions x $IN_FLIGHT in flight, $VALUE_SIZE-byte values, ${WARMUP}s warm-up + ${DURATION}s per op; mix = 80% getData / 20% setData"
echo "== ZooKeeper: java -Xmx$ZK_HEAP (OpenJDK $(java -version 2>&1 | awk -F'"' '/version/ {print $2}')); Zooflow: dotnet $(dotnet --version)"
echo "== load average (1/5/15 min) at the start of each half:"
for f in "$WORK"/r*/load; do sed "s|^|   $(basename "$(dirname "$f")") |" "$f"; done
WORK="$WORK" OPS="$OPS" ROUNDS="$ROUNDS" $PY - <<'EOF'
import json, os, statistics
w = os.environ["WORK"]; ops = os.environ["OPS"].split(); rounds = range(1, int(os.environ["ROUNDS"]) + 1)
def load(r, n, op):
    with open(f"{w}/r{r}/{n}.{op}.json") as f: return json.load(f)
def kib(r, n, what):
    with open(f"{w}/r{r}/{n}.{what}") as f: return int(f.read().strip() or 0)
def series(r, n, op):
    try:
        with open(f"{w}/r{r}/{n}.{op}.rss.series") as f:
            return [tuple(int(x) for x in line.split()) for line in f if len(line.split()) == 3]
    except FileNotFoundError:
        return []
def med(xs): return statistics.median(xs) if xs else 0
def ratio(a, b): return f"{a / b:.2f}x" if b else "n/a"
def per_round(a, b): return " ".join(f"{x / y:.2f}" if y else "n/a" for x, y in zip(a, b))
hdr = f"{'metric (median)':<24}{'ZooKeeper':>12}{'Zooflow':>12}{'Zooflow/ZK':>12}  {'target':<8} per-round ratios"
print(hdr); print("-" * len(hdr))
def row(label, zk, zf, target=""):
    print(f"{label:<24}{med(zk):>12.0f}{med(zf):>12.0f}{ratio(med(zf), med(zk)):>12}  {target:<8} {per_round(zf, zk)}")
for op in ops:
    zk = [load(r, "zookeeper", op) for r in rounds]; zf = [load(r, "zooflow", op) for r in rounds]
    tgt = {"setData": ">= 2x", "create": ">= 2x", "getData": ">= 2x"}.get(op, "")
    row(op + " ops/s", [x["OpsPerSecond"] for x in zk], [x["OpsPerSecond"] for x in zf], tgt)
    for key, label in (("P50Us", "p50 us"), ("P99Us", "p99 us"), ("P999Us", "p99.9 us")):
        row("  " + label, [x[key] for x in zk], [x[key] for x in zf], "<= 1x" if key == "P99Us" else "")
    if any(x["Errors"] for x in zk + zf):
        print(f"{'  errors':<24}{sum(x['Errors'] for x in zk):>12}{sum(x['Errors'] for x in zf):>12}")
for what, label, t in (("rss-idle", "RSS idle MiB", ""), ("rss-load", "RSS max load MiB", "<= 0.5x"), ("rss-hwm", "VmHWM MiB", "")):
    row(label, [kib(r, "zookeeper", what) / 1024 for r in rounds], [kib(r, "zooflow", what) / 1024 for r in rounds], t)
if "create" in ops:
    print()
    print("create, memory per znode (RSS every 0.5 s, znode count from mntr every 1 s; B/znode = (RSS max - RSS when create started) / znodes max):")
    hdr = f"{'round':<7}{'server':<11}{'znodes max':>12}{'RSS max MiB':>13}{'B/znode':>9}   RSS MiB at equal znode count"
    print(hdr); print("-" * len(hdr))
    per = {"zookeeper": [], "zooflow": []}; equal = {"zookeeper": [], "zooflow": []}
    for r in rounds:
        s = {n: series(r, n, "create") for n in per}
        top = {n: max((z for _, _, z in s[n]), default=0) for n in per}
        common = min(top.values())
        for n in per:
            base = s[n][0][1] if s[n] else kib(r, n, "rss-idle"); rss = kib(r, n, "create.rss")
            bpz = (rss - base) * 1024 / top[n] if top[n] else 0
            at = next((kb for _, kb, z in s[n] if z >= common), 0) / 1024 if common else 0
            per[n].append(bpz); equal[n].append(at)
            print(f"{r:<7}{n:<11}{top[n]:>12}{rss / 1024:>13.0f}{bpz:>9.0f}   {at:.0f} at {common} znodes")
    print(f"{'median Zooflow/ZK':<30}{ratio(med(per['zooflow']), med(per['zookeeper'])):>13}{'':>9}   "
          f"{ratio(med(equal['zooflow']), med(equal['zookeeper']))}")
EOF
echo
echo "== uptime at end: $(uptime)"

if [ "${ENSEMBLE:-1}" != 0 ]; then
  echo
  CLI="$CLI" "$HERE/ensemble/run.sh"
fi
