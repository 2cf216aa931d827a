#!/usr/bin/env bash
# Two netreactor processes (127.0.0.2 and 127.0.0.3, every server with --proxy-protocol)
# behind Debian's haproxy on 127.0.0.1 (send-proxy-v2, health checks): HTTP, WebSocket,
# Telnet and FTP (control and passive data) through one address. See docs/deploy.md.
#
# usage: deploy/haproxy/run.sh [DIR]
#   DIR          where the config, logs, pid files and (unless ROOT is set) the served
#                directory go (default: a new temporary directory)
#   NETREACTOR   the binary (default: target/release/netreactor; build it first)
#   BASE         first port (default 20000): HTTP BASE, WebSocket BASE+1, Telnet BASE+2,
#                FTP BASE+3, HAProxy's stats page BASE+9 (/stats), passive FTP ports
#                BASE+100..BASE+119 (127.0.0.2) and BASE+120..BASE+139 (127.0.0.3)
#   ROOT         directory served over HTTP and FTP (default: DIR/root, made with a CGI
#                script cgi/env.sh that prints REMOTE_ADDR and a file hello.txt)
# Prints "ready" and the addresses once HAProxy sees both processes up, then runs until
# interrupted (Ctrl-C, SIGTERM), stopping everything it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/netreactor-haproxy.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=${NETREACTOR:-$here/../../target/release/netreactor}
base=${BASE:-20000}
front=127.0.0.1
a=127.0.0.2
b=127.0.0.3
source_addr=127.0.0.4
http=$base ws=$((base + 1)) telnet=$((base + 2)) ftp=$((base + 3)) stats=$((base + 9))
pasv_a="$((base + 100))-$((base + 119))"
pasv_b="$((base + 120))-$((base + 139))"

command -v haproxy >/dev/null || { echo "run.sh: haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }
[ -x "$bin" ] || { echo "run.sh: no netreactor binary at $bin (cargo build --release, or set NETREACTOR)" >&2; exit 2; }

root=${ROOT:-$dir/root}
if [ -z "${ROOT:-}" ]; then
  mkdir -p "$root/cgi"
  cat >"$root/cgi/env.sh" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf 'REMOTE_ADDR=%s\nREMOTE_PORT=%s\nSERVER_ADDR=%s\n' "$REMOTE_ADDR" "$REMOTE_PORT" "$SERVER_NAME"
CGI
  chmod 755 "$root/cgi/env.sh"
  echo "hello through haproxy" >"$root/hello.txt"
  echo "served by netreactor" >"$root/index.html"
fi

sed -e "s|@DIR@|$dir|g" -e "s|@FRONT@|$front|g" -e "s|@A@|$a|g" -e "s|@B@|$b|g" \
    -e "s|@SOURCE@|$source_addr|g" -e "s|@HTTP_PORT@|$http|g" -e "s|@WS_PORT@|$ws|g" \
    -e "s|@TELNET_PORT@|$telnet|g" -e "s|@FTP_PORT@|$ftp|g" -e "s|@STATS_PORT@|$stats|g" \
    -e "s|@PASV_A@|$pasv_a|g" -e "s|@PASV_B@|$pasv_b|g" \
    "$here/haproxy.cfg.in" >"$dir/haproxy.cfg"
haproxy -c -q -f "$dir/haproxy.cfg"

pids=()
stop() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

backend() { # NAME ADDR PASSIVE_RANGE
  "$bin" --root "$root" --cgi-dir cgi --no-echo --no-https \
    --http "$2:$http" --ws "$2:$ws" --telnet "$2:$telnet" --ftp "$2:$ftp" \
    --ftp-passive-ports "$3" --ftp-masquerade "$front" \
    --proxy-protocol >"$dir/$1.log" 2>&1 &
  pids+=($!)
  echo $! >"$dir/$1.pid"
}
backend a "$a" "$pasv_a"
backend b "$b" "$pasv_b"
haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
pids+=($!)
echo $! >"$dir/haproxy.pid"

# Ready when HAProxy's health checks see both processes up in every backend.
for _ in $(seq 1 100); do
  csv=$(curl -fsS "http://$front:$stats/stats;csv" 2>/dev/null || true)
  up=$(printf '%s\n' "$csv" | awk -F, '($1=="http"||$1=="ws"||$1=="telnet"||$1=="ftp") && ($2=="a"||$2=="b") && $18=="UP"' | wc -l)
  [ "$up" -eq 8 ] && break
  sleep 0.1
done
if [ "${up:-0}" -ne 8 ]; then
  echo "run.sh: the backends did not come up; logs in $dir" >&2
  exit 1
fi
cat <<READY
ready
http     http://$front:$http/   (CGI: /cgi/env.sh)
ws       ws://$front:$ws/
telnet   $front $telnet
ftp      ftp://foo:bar@$front:$ftp/   (passive: $pasv_a -> $a, $pasv_b -> $b)
stats    http://$front:$stats/stats
dir      $dir
READY
wait
