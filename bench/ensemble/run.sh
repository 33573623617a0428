#!/usr/bin/env bash
# 3-member Zooflow ensemble vs 3-member Apache ZooKeeper 3.8 ensemble on loopback, one run, fsync on for both.
#
#   bench/ensemble/run.sh            (also run at the end of bench/compare-zookeeper.sh unless ENSEMBLE=0)
#
# Per round and per server (ZooKeeper first in odd rounds, Zooflow first in even ones; one ensemble at a time):
#   1. start three members (same zoo.cfg keys for both: tickTime, initLimit, syncLimit, server.1-3 on 127.0.0.1, fresh
#      data directories, fsync on: ZooKeeper's forceSync default, Zooflow's default), wait until `srvr` shows one leader
#      and two followers;
#   2. write throughput: `zooflow bench --spread` (session i on member i mod 3, so followers forward as real clients do)
#      for setData and create;
#   3. fail-over: `zooflow bench --op setData --log-successes` over the full connect string, SIGKILL the leader after
#      KILL_AFTER seconds, and report the time from the kill to the first successful write after the outage (the first
#      success preceded by a gap of at least 100 ms: a write the dead leader had committed may still be answered by a
#      follower for a few ms). The new leader is read with `srvr`.
# Prints the load average of every half and a table of medians with Zooflow/ZooKeeper ratios. Only processes this
# script started are stopped (by PID).
#
# Environment knobs: ROUNDS [2]  DURATION [10]  WARMUP [2]  SESSIONS [6]  IN_FLIGHT [100]  VALUE_SIZE [100]
#   TICK_MS [2000] INIT_LIMIT [10] SYNC_LIMIT [5]   FAILOVER_SECONDS [12]  KILL_AFTER [4]
#   CLI [build into artifacts/bench-cli]  ZK_HEAP [1000m]  KEEP_WORK [0]
# Exit status: 0 ok; 3 the tree does not build; 4 an ensemble did not start; 5 a bench run failed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SESSIONS=${SESSIONS:-6}
IN_FLIGHT=${IN_FLIGHT:-100}
VALUE_SIZE=${VALUE_SIZE:-100}
TICK_MS=${TICK_MS:-2000}
INIT_LIMIT=${INIT_LIMIT:-10}
SYNC_LIMIT=${SYNC_LIMIT:-5}
FAILOVER_SECONDS=${FAILOVER_SECONDS:-12}
KILL_AFTER=${KILL_AFTER:-4}
ZK_HEAP=${ZK_HEAP:-1000m}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/zooflow-bench-ensemble.XXXXXX)
PIDS=()
MEMBERS=()

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
now_ms() { date +%s%3N; }
mode() { printf 'srvr' | timeout 2 nc -q 1 127.0.0.1 "$1" 2>/dev/null | awk '/^Mode:/ {print $2}'; }

echo "== ensemble bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== uptime at start: $(uptime)"

if [ -z "${CLI:-}" ]; then
  CLI_OUT=${CLI_OUT:-$ROOT/artifacts/bench-cli}
  log "building src/Zooflow.Cli (Release) into $CLI_OUT ..."
  if ! timeout 900 dotnet build "$ROOT/src/Zooflow.Cli/Zooflow.Cli.csproj" -c Release -o "$CLI_OUT" -nologo -v quiet -clp:ErrorsOnly \
      >"$WORK/build.log" 2>&1; then
    echo "ERROR: the current tree does not build (src/Zooflow.Cli, Release); nothing was measured:" >&2
    tail -40 "$WORK/build.log" >&2
    exit 3
  fi
  CLI="$CLI_OUT/zooflow.dll"
fi
[ -f "$CLI" ] || { echo "ERROR: $CLI missing" >&2; exit 3; }
ZK_JARS="/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"

# start_ensemble NAME: three members under $RWORK/NAME/mN; sets MEMBERS (pids), CPORTS, CONNECT.
start_ensemble() {
  local name=$1 i
  local base="$RWORK/$name"
  CPORTS=() QPORTS=() EPORTS=() MEMBERS=()
  for i in 1 2 3; do CPORTS+=("$(freeport)"); QPORTS+=("$(freeport)"); EPORTS+=("$(freeport)"); done
  for i in 1 2 3; do
    local d="$base/m$i"
    mkdir -p "$d/data"
    echo "$i" >"$d/data/myid"
    {
      printf 'tickTime=%s\ninitLimit=%s\nsyncLimit=%s\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\n' \
        "$TICK_MS" "$INIT_LIMIT" "$SYNC_LIMIT" "$d/data" "${CPORTS[$((i - 1))]}"
      printf 'maxClientCnxns=0\n4lw.commands.whitelist=*\n'
      local j
      for j in 1 2 3; do printf 'server.%s=127.0.0.1:%s:%s\n' "$j" "${QPORTS[$((j - 1))]}" "${EPORTS[$((j - 1))]}"; done
    } >"$d/zoo.cfg"
  done
  for i in 1 2 3; do launch "$name" "$i"; done
  CONNECT=$(printf '127.0.0.1:%s,127.0.0.1:%s,127.0.0.1:%s' "${CPORTS[@]}")
}

launch() { # name id
  local d="$RWORK/$1/m$2"
  if [ "$1" = zookeeper ]; then
    printf 'log4j.rootLogger=INFO, F\nlog4j.appender.F=org.apache.log4j.FileAppender\nlog4j.appender.F.File=%s\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\nlog4j.appender.F.layout.ConversionPattern=%%d %%p %%c{1} %%m%%n\n' \
      "$d/server.log" >"$d/log4j.properties"
    (cd "$d" && exec java "-Xmx$ZK_HEAP" -Dzookeeper.admin.enableServer=false -cp "$d:$ZK_JARS" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >>"$d/stdout.log" 2>&1) &
  else
    (cd "$d" && exec dotnet "$CLI" server "$d/zoo.cfg" >>"$d/stdout.log" 2>&1) &
  fi
  MEMBERS[$(($2 - 1))]=$!
  PIDS+=("$!")
  disown "$!" # no "Killed" job report when the fail-over run SIGKILLs it
}

# wait_serving NAME: one leader and two followers within 90 s; prints the leader's id.
wait_serving() {
  local deadline=$((SECONDS + 90)) i m leaders followers leader
  while [ $SECONDS -lt $deadline ]; do
    leaders=0 followers=0 leader=0
    for i in 1 2 3; do
      m=$(mode "${CPORTS[$((i - 1))]}")
      [ "$m" = leader ] && leaders=$((leaders + 1)) && leader=$i
      [ "$m" = follower ] && followers=$((followers + 1))
    done
    if [ $leaders = 1 ] && [ $followers = 2 ]; then echo "$leader"; return 0; fi
    sleep 0.1
  done
  echo "ERROR: $1 ensemble not serving within 90 s" >&2
  tail -n 20 "$RWORK/$1"/m*/stdout.log "$RWORK/$1"/m*/server.log >&2 2>/dev/null || true
  return 1
}

stop_ensemble() {
  local p
  for p in "${MEMBERS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MEMBERS[@]}"; do
    local i
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  MEMBERS=()
}

bench() { # name op out-json [extra args]
  local name=$1 op=$2 out=$3; shift 3
  if ! timeout $((DURATION + WARMUP + 300)) dotnet "$CLI" bench --server "$CONNECT" --op "$op" --sessions "$SESSIONS" \
      --in-flight "$IN_FLIGHT" --value-size "$VALUE_SIZE" --quiet --json "$out" "$@" >"$out.out" 2>&1; then
    echo "ERROR: zooflow bench --op $op against the $name ensemble failed:" >&2
    cat "$out.out" >&2
    exit 5
  fi
}

run_half() { # name
  local name=$1 leader op
  log "$name: starting 3 members"
  local t0=$SECONDS
  start_ensemble "$name"
  leader=$(wait_serving "$name") || exit 4
  log "$name: serving after $((SECONDS - t0)) s, leader $leader; load $(cat /proc/loadavg)"
  echo "$name: $(cat /proc/loadavg)" >>"$RWORK/load"
  for op in setData create; do
    bench "$name" "$op" "$RWORK/$name.$op.json" --spread --duration "$DURATION" --warmup "$WARMUP"
    log "$name: $op $(jq -r '"\(.OpsPerSecond|floor) ops/s p50 \(.P50Us) p99 \(.P99Us) us, errors \(.Errors)"' "$RWORK/$name.$op.json")"
  done

  # Fail-over: writes through every member; SIGKILL the leader while they run.
  rm -f "$RWORK/$name.successes"
  bench "$name" setData "$RWORK/$name.failover.json" --duration "$FAILOVER_SECONDS" --warmup 0 \
    --log-successes "$RWORK/$name.successes" &
  local bench_pid=$!
  PIDS+=("$bench_pid")
  sleep "$KILL_AFTER"
  local killed_at; killed_at=$(now_ms)
  kill -9 "${MEMBERS[$((leader - 1))]}"
  log "$name: SIGKILL leader $leader (pid ${MEMBERS[$((leader - 1))]})"
  wait "$bench_pid" || { echo "ERROR: fail-over bench against $name failed" >&2; cat "$RWORK/$name.failover.json.out" >&2; exit 5; }
  local next=0 i
  for i in 1 2 3; do [ "$(mode "${CPORTS[$((i - 1))]}")" = leader ] && next=$i; done
  local ms
  ms=$(KILLED="$killed_at" $PY -c '
import os, sys
kill = int(os.environ["KILLED"]); prev = None; out = "none"
for t in sorted(int(l) for l in open(sys.argv[1]) if l.strip()):
    if t > kill and (prev is None or t - prev >= 100):
        out = str(t - kill); break
    prev = t
print(out)' "$RWORK/$name.successes")
  echo "$ms" >"$RWORK/$name.failover-ms"
  log "$name: first write after the outage ${ms} ms after SIGKILL; new leader $next"
  stop_ensemble
}

for round in $(seq "$ROUNDS"); do
  RWORK="$WORK/r$round"
  mkdir -p "$RWORK"
  log "round $round of $ROUNDS"
  if [ $((round % 2)) = 1 ]; then run_half zookeeper; run_half zooflow; else run_half zooflow; run_half zookeeper; fi
done

echo
echo "== 3-member Zooflow ensemble vs 3-member Apache ZooKeeper 3.8.0 ensemble, loopback, fsync on, one ensemble at a time, $ROUNDS alternating round(s), medians"
echo "== zoo.cfg: tickTime=$TICK_MS initLimit=$INIT_LIMIT syncLimit=$SYNC_LIMIT; client: zooflow bench (Release), $SESSIONS sessions x $IN_FLIGHT in flight (--spread over the members), $VALUE_SIZE-byte values, ${WARMUP}s warm-up + ${DURATION}s"
echo "== fail-over: setData over the full connect string, SIGKILL of the leader after ${KILL_AFTER}s; ms from the kill to the first successful write after the outage"
echo "== ZooKeeper: java -Xmx$ZK_HEAP (OpenJDK $(java -version 2>&1 | awk -F'"' '/version/ {print $2}')); Zooflow: dotnet $(dotnet --version)"
echo "== load average (1/5/15 min) at the start of each half:"
for f in "$WORK"/r*/load; do sed "s|^|   $(basename "$(dirname "$f")") |" "$f"; done
WORK="$WORK" ROUNDS="$ROUNDS" $PY - <<'PYEOF'
import json, os, statistics
w = os.environ["WORK"]; rounds = range(1, int(os.environ["ROUNDS"]) + 1)
def js(r, n, op):
    with open(f"{w}/r{r}/{n}.{op}.json") as f: return json.load(f)
def failover(r, n):
    with open(f"{w}/r{r}/{n}.failover-ms") as f:
        t = f.read().strip()
        return float(t) if t != "none" else float("nan")
def med(xs): return statistics.median(xs) if xs else 0
def ratio(a, b): return f"{a / b:.2f}x" if b else "n/a"
hdr = f"{'metric (median)':<28}{'ZooKeeper':>12}{'Zooflow':>12}{'Zooflow/ZK':>12}  {'target':<8} per-round ratios"
print(hdr); print("-" * len(hdr))
def row(label, zk, zf, target):
    pr = " ".join(f"{a / b:.2f}" if b else "n/a" for a, b in zip(zf, zk))
    print(f"{label:<28}{med(zk):>12.0f}{med(zf):>12.0f}{ratio(med(zf), med(zk)):>12}  {target:<8} {pr}")
for op in ("setData", "create"):
    zk = [js(r, "zookeeper", op) for r in rounds]; zf = [js(r, "zooflow", op) for r in rounds]
    row(op + " ops/s", [x["OpsPerSecond"] for x in zk], [x["OpsPerSecond"] for x in zf], ">= 1.5x")
    row("  p50 us", [x["P50Us"] for x in zk], [x["P50Us"] for x in zf], "")
    row("  p99 us", [x["P99Us"] for x in zk], [x["P99Us"] for x in zf], "")
row("fail-over ms (SIGKILL leader)", [failover(r, "zookeeper") for r in rounds], [failover(r, "zooflow") for r in rounds], "<= 1x")
PYEOF
echo
echo "== uptime at end: $(uptime)"
