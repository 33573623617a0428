# Helpers shared by the end-to-end benchmark scripts. Source it after setting $work (the run's directory) and
# pids=() (processes the script started); it installs the EXIT trap that stops them, by PID, and removes $work
# (BENCH_KEEP=1 keeps it).

bench_cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "work directory kept: $work" >&2; fi
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() { # port pid: until something listens (30 s), failing early if the process exits
  for _ in $(seq 1 600); do
    if ! kill -0 "$2" 2>/dev/null; then echo "process $2 exited before listening on $1" >&2; return 1; fi
    if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on $1" >&2; return 1
}

stop() { # pid: SIGTERM, SIGKILL after 30 s (a file channel checkpoints on close)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

generate_lines() { # path count bytes: numbered syslog-like lines of exactly `bytes` bytes (newline included)
  python3 - "$1" "$2" "$3" <<'PY'
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
}
