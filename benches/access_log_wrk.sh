#!/usr/bin/env bash
# The access log's cost: wrk against the `netreactor` binary serving a 14-byte file, with
# and without `--access-log FILE`, interleaved (off, on, off, on, ...). The server is pinned
# to core 0, wrk to core 1. Prints requests/s per run, the medians and the ratio on/off.
#
# Needs: wrk, taskset, a release build (cargo build --release -p netreactor-protocols).
# Env: DURATION (s, default 5), ROUNDS (default 3), CONNS (default 100), PORT (default 18080).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/netreactor}
DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-100} PORT=${PORT:-18080}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'hello, world!\n' > "$dir/a.txt"
n=0
run() { # $1: extra flags (a port of its own per run: the last one may still be draining)
  n=$((n + 1)); local port=$((PORT + n))
  # shellcheck disable=SC2086
  taskset -c 0 "$BIN" --root "$dir" --http "127.0.0.1:$port" --no-https --no-ws --no-ftp \
    --no-telnet --no-echo $1 2>/dev/null &
  local pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$port/a.txt" \
    | awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
off=() on=()
for r in $(seq "$ROUNDS"); do
  a=$(run ""); n=$((n + 1)); b=$(run "--access-log $dir/access.log"); n=$((n + 1))
  echo "round $r: off $a req/s, on $b req/s"
  off+=("$a"); on+=("$b")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mo=$(median "${off[@]}"); mn=$(median "${on[@]}")
echo "median: off $mo req/s, on $mn req/s, ratio on/off $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.3f", a/b}')"
echo "log lines written: $(wc -l < "$dir/access.log")"
