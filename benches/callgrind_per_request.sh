#!/usr/bin/env bash
# Instructions per HTTP request, counted by `valgrind --tool=callgrind` (deterministic: the same
# binary and the same requests give the same count within a fraction of a percent, however busy
# the machine is, where req/s and even CPU time per request move with the load).
#
# The server runs under callgrind twice, serving N1 and then N2 keep-alive `GET`s from
# `loadgen http -c CONNS -n N` (one request in flight per connection); the difference of the
# two totals divided by N2 - N1 is the cost of one request with start-up and shutdown taken
# out. Counts user-space instructions only (all threads of the server: a log writer thread
# too); the kernel's share (about the same system calls for every server here) is not in it.
#
#   benches/callgrind_per_request.sh hello          # examples/http_hello
#   benches/callgrind_per_request.sh nginx          # nginx, return 200 "Hello, World!"
#   benches/callgrind_per_request.sh file           # netreactor binary, a 14-byte file
#   benches/callgrind_per_request.sh file-log       # the same with --access-log FILE
#
# Several targets in one call run one after another. Env: N1 (default 2000), N2 (12000),
# CONNS (10), PORT (base port, default 19100), KEEP=1 keeps the callgrind files (printed) for
# `callgrind_annotate --inclusive=yes FILE`. NETREACTOR / HELLO override the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${N1:-2000} N2=${N2:-12000} CONNS=${CONNS:-10} PORT=${PORT:-19100}
for tool in valgrind curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install valgrind curl)"; exit 1; }
done
cargo build --release -q -p netreactor-protocols --bin netreactor --bin loadgen >&2
cargo build --release -q --example http_hello >&2
T=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
NETREACTOR=${NETREACTOR:-$T/release/netreactor}
HELLO=${HELLO:-$T/release/examples/http_hello}
LOADGEN=$T/release/loadgen
work=$(mktemp -d /tmp/callgrind_per_request.XXXXXX)
chmod 755 "$work"
printf 'hello, world!\n' > "$work/a.txt"
# shellcheck source=benches/nginx_conf.sh
source benches/nginx_conf.sh
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# total TARGET N PORT -> callgrind's instruction total for N requests
total() {
  local target=$1 n=$2 port=$3 out=$work/$1.$2.callgrind path=/
  local cmd=()
  case $target in
    hello) cmd=("$HELLO" "127.0.0.1:$port") ;;
    nginx)
      mkdir -p "$work/nginx.$n"
      nginx_conf "$work/nginx.$n" "$port"
      # One process: the worker's instructions are the ones counted.
      sed -i 's/^daemon off;/daemon off;\nmaster_process off;/' "$work/nginx.$n/nginx.conf"
      cmd=(nginx -p "$work/nginx.$n" -c "$work/nginx.$n/nginx.conf") ;;
    file | file-log)
      path=/a.txt
      cmd=("$NETREACTOR" --root "$work" --http "127.0.0.1:$port" --no-https --no-ws --no-ftp
        --no-telnet --no-echo)
      [ "$target" = file-log ] && cmd+=(--access-log "$work/access.$n.log") ;;
    *) echo "unknown target $target (hello, nginx, file, file-log)" >&2; exit 1 ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" 2>"$work/$target.$n.valgrind" >/dev/null &
  pid=$!
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port$path" >/dev/null && break; sleep 0.2; done
  "$LOADGEN" http "http://127.0.0.1:$port$path" -c "$CONNS" -d 0 -n "$n" > "$work/$target.$n.loadgen"
  grep -q '^errors 0' "$work/$target.$n.loadgen" || { cat "$work/$target.$n.loadgen" >&2; exit 1; }
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
  # A file per thread or process part: sum the totals.
  awk '/^(summary|totals):/ {s += $2; exit} END {print s}' "$out"
}

for target in "$@"; do
  PORT=$((PORT + 2))
  a=$(total "$target" "$N1" "$PORT")
  b=$(total "$target" "$N2" "$((PORT + 1))")
  per=$(( (b - a) / (N2 - N1) ))
  echo "$target: $per instructions per request (totals $a for $N1, $b for $N2 requests)"
  [ -n "${KEEP:-}" ] && echo "  $work/$target.$N2.callgrind"
done
