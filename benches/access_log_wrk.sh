#!/usr/bin/env bash
# The access log's cost: wrk against the `netreactor` binary serving a 14-byte file, with
# and without `--access-log FILE`, interleaved (off, on, off, on, ...). The server is pinned
# to core 0, wrk to core 1. Prints requests/s and the server's CPU time per request (user+sys
# ticks from /proc/PID/stat over the run divided by the requests wrk counted: steadier than
# req/s on a busy machine) per run, the medians and the ratios on/off. For a figure the
# machine's load cannot move, count instructions: benches/callgrind_per_request.sh file file-log.
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
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
n=0
run() { # $1: extra flags (a port of its own per run: the last one may still be draining)
  n=$((n + 1)); local port=$((PORT + n))
  # shellcheck disable=SC2086
  taskset -c 0 "$BIN" --root "$dir" --http "127.0.0.1:$port" --no-https --no-ws --no-ftp \
    --no-telnet --no-echo $1 2>/dev/null &
  local pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$port/a.txt")
  after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # "req/s cpu_us_per_request"
  echo "$out" | awk -v t=$((after - before)) -v hz="$ticks" '
    /Requests\/sec/ {rps = $2} / requests in / {n = $1}
    END {printf "%s %.2f\n", rps, t / hz * 1e6 / (n ? n : 1)}'
}
off=() on=() off_cpu=() on_cpu=()
for r in $(seq "$ROUNDS"); do
  read -r a ac <<<"$(run "")"; n=$((n + 1))
  read -r b bc <<<"$(run "--access-log $dir/access.log")"; n=$((n + 1))
  echo "round $r: off $a req/s ($ac us CPU/request), on $b req/s ($bc us CPU/request)"
  off+=("$a"); on+=("$b"); off_cpu+=("$ac"); on_cpu+=("$bc")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mo=$(median "${off[@]}"); mn=$(median "${on[@]}")
echo "median: off $mo req/s, on $mn req/s, ratio on/off $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.3f", a/b}')"
co=$(median "${off_cpu[@]}"); cn=$(median "${on_cpu[@]}")
echo "median CPU per request: off $co us, on $cn us, requests per CPU-second on/off $(awk -v a="$cn" -v b="$co" 'BEGIN {printf "%.3f", b/a}')"
echo "log lines written: $(wc -l < "$dir/access.log")"
