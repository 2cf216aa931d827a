#!/usr/bin/env bash
# HTTPS: `netreactor --https` against nginx with `ssl` (one worker, ssl_session_tickets and the
# rest of nginx's TLS defaults), both presenting the same ECDSA P-256 certificate
# (tests/data/tls/cert.pem, key.pem) and serving the same root. Each server is pinned to
# core 0 (`taskset -c 0`), every client to core 1; runs are interleaved (ours, nginx, ours,
# nginx...) for ROUNDS rounds; each section prints every run, the medians and the ratios.
#
#   wrk        wrk -t1 -cCONNS over keep-alive to a 13-byte file: req/s, p99, and the server's
#              CPU time per request (user+sys from /proc/PID/stat) and its core's busy share.
#   handshakes one request per connection (`loadgen http --close --insecure`), CONNS_HS at a
#              time: handshakes/s and server CPU per handshake, full (`--no-resume`) and
#              resumed (sessions shared across connections; loadgen counts which kind each
#              was); and `wrk -H 'Connection: close'` (an OpenSSL client, which resumes its
#              session on reconnect) as a second client; and the same loadgen run over plain
#              HTTP (`plain-close`): what a connection costs without TLS. One client core
#              cannot always keep one server core busy: the server's CPU per handshake is the
#              figure to compare, and 1e6 / it the handshakes one server core would do.
#   big        a BIG_MIB MiB file (default 1 GiB) with `curl -k --http1.1`: seconds, MB/s,
#              server CPU seconds. No kernel TLS: both servers encrypt in user space.
#   idle       IDLE (default 10,000) idle TLS connections, each after one keep-alive request
#              (benches/idle_tls_hold.py, a process of its own): server RSS growth per
#              connection. A fresh server for every run.
#
# Needs: wrk, nginx, curl, openssl, taskset, python3. Env: SECTIONS (default "wrk handshakes
# big idle"), ROUNDS (3), DURATION (s, 10), CONNS (100), CONNS_HS (50), BIG_MIB (1024),
# IDLE (10000).
set -euo pipefail
cd "$(dirname "$0")/.."
SECTIONS=${SECTIONS:-wrk handshakes big idle}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-100}
CONNS_HS=${CONNS_HS:-50}
BIG_MIB=${BIG_MIB:-1024}
IDLE=${IDLE:-10000}
for tool in wrk nginx curl openssl taskset python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install wrk nginx curl openssl util-linux)"; exit 1; }
done
cargo build --release -q -p netreactor-protocols --bin netreactor --bin loadgen >&2
T=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# NETREACTOR=PATH runs another build of ours (an older one, to compare before and after).
NETREACTOR=${NETREACTOR:-$T/release/netreactor}
LOADGEN=$T/release/loadgen
CERT=$PWD/tests/data/tls/cert.pem
KEY=$PWD/tests/data/tls/key.pem

work=$(mktemp -d /tmp/https_vs_nginx.XXXXXX)
chmod 755 "$work"
root=$work/root
mkdir -p "$root"
printf 'Hello, World!' > "$root/hello.txt"
if [[ " $SECTIONS " == *" big "* ]]; then
  head -c $((BIG_MIB * 1024 * 1024)) /dev/zero > "$root/big.bin"
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b else 'n/a')" "$1" "$2"; }
col() { cut -d' ' -f"$2" "$1" | median; }

# nginx_ssl_conf DIR PORT: one worker, 20,000 descriptors, keep-alive without limits, no
# access log, the test certificate with nginx's TLS defaults but for the protocols (TLS 1.2 and
# 1.3, as ours: nginx before 1.23.4 leaves 1.3 out), descriptors of open files cached (ours
# caches small files too).
nginx_ssl_conf() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 20000; }
http {
  access_log off; keepalive_timeout 600; keepalive_requests 100000000; sendfile on;
  open_file_cache max=1000;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port ssl backlog=4096;
    listen 127.0.0.1:$((port + 1000)) backlog=4096;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $root;
  }
}
CONF
}

wait_https() {
  for _ in $(seq 100); do
    curl -skf "https://127.0.0.1:$1/hello.txt" >/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers HTTPS on $1"; exit 1
}

# start_ours HTTPS_PORT HTTP_PORT: prints the pid. rustls's warnings are left out of the log:
# wrk sends the address as SNI, which rustls warns about on every handshake.
start_ours() {
  RUST_LOG=info,rustls=error taskset -c 0 "$NETREACTOR" --no-echo --no-ftp --no-telnet --no-ws \
    --http "127.0.0.1:$2" --https "127.0.0.1:$1" --root "$root" \
    --tls-cert "$CERT" --tls-key "$KEY" --http-keep-alive-timeout 600 >/dev/null 2>&1 &
  echo $!
}

# start_nginx PORT DIR: prints the master's pid (the worker: `pgrep -P`).
start_nginx() {
  nginx_ssl_conf "$2" "$1"
  taskset -c 0 nginx -p "$2" -c "$2/nginx.conf" >/dev/null 2>&1 &
  echo $!
}

OURS=18443; NGINX=18444
ours_pid=$(start_ours $OURS 18480); pids+=("$ours_pid")
nginx_master=$(start_nginx $NGINX "$work/nginx"); pids+=("$nginx_master")
wait_https $OURS; wait_https $NGINX
nginx_pid=$(pgrep -P "$nginx_master" | head -1)
[ -n "$nginx_pid" ] || { echo "no nginx worker"; exit 1; }
port_of() { if [ "$1" = ours ]; then echo $OURS; else echo $NGINX; fi; }
plain_port_of() { if [ "$1" = ours ]; then echo 18480; else echo $((NGINX + 1000)); fi; }
pid_of() { if [ "$1" = ours ]; then echo "$ours_pid"; else echo "$nginx_pid"; fi; }

for who in ours nginx; do
  printf '%-5s negotiates: %s\n' "$who" "$(openssl s_client -connect "127.0.0.1:$(port_of $who)" -alpn http/1.1 </dev/null 2>/dev/null |
    awk '/^New,/ {v=$2 " " $5} /^ALPN protocol/ {a=$3} /Server Temp Key/ {k=$4 $5} END {print v ", ALPN " a ", key exchange " k}')"
done
echo "$ROUNDS interleaved rounds; servers on core 0, clients on core 1"

# measure WHO CMD...: runs CMD (on core 1) against WHO's server; prints "CPU_SECONDS" on fd 3
# and CMD's output on stdout.
measure() {
  local who=$1; shift
  local pid before after
  pid=$(pid_of "$who")
  before=$(cpu_ticks "$pid")
  taskset -c 1 "$@"
  after=$(cpu_ticks "$pid")
  python3 -c "print('%.3f' % (($after - $before) / $ticks))" >&3
}

section_wrk() {
  echo "== wrk: HTTPS keep-alive, -t1 -c$CONNS -d${DURATION}s, GET /hello.txt (13 bytes)"
  for round in $(seq "$ROUNDS"); do
    for who in ours nginx; do
      out=$(measure "$who" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "https://127.0.0.1:$(port_of $who)/hello.txt" 3>"$work/cpu")
      line=$(echo "$out" | CPU="$(cat "$work/cpu")" DUR="$DURATION" python3 -c '
import os, re, sys
t = sys.stdin.read()
ms = lambda v, u: float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p99 = ms(*re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", t).groups())
total = int(re.search(r"(\d+) requests in", t).group(1))
cpu = float(os.environ["CPU"])
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: (.*)", t)
print("%.0f %.3f %.2f %.0f %s %s" % (rps, p99, cpu * 1e6 / max(total, 1), 100 * cpu / float(os.environ["DUR"]),
      bad.group(1) if bad else 0, err.group(1).replace(" ", "") if err else "none"))')
      read -r rps p99 cpu busy bad err <<<"$line"
      echo "$rps $p99 $cpu $busy" >> "$work/wrk.$who"
      printf '  round %d %-5s: %8s req/s  p99 %7s ms  server %6s us/req, core %3s%% busy  non2xx %s sockerr %s\n' \
        "$round" "$who" "$rps" "$p99" "$cpu" "$busy" "$bad" "$err"
    done
  done
  o=$(col "$work/wrk.ours" 1); n=$(col "$work/wrk.nginx" 1)
  oc=$(col "$work/wrk.ours" 3); nc=$(col "$work/wrk.nginx" 3)
  echo "  median: ours $o req/s | nginx $n req/s | ours/nginx $(ratio "$o" "$n")x; server CPU per request ours $oc us | nginx $nc us | nginx/ours $(ratio "$nc" "$oc")x"
}

# One run of loadgen --close against WHO at URL: "handshakes/s full resumed
# cpu_us_per_handshake busy% responses errors" (without TLS: connections for handshakes).
loadgen_hs() {
  local who=$1 url=$2; shift 2
  out=$(measure "$who" "$LOADGEN" http "$url" -c "$CONNS_HS" -d "$DURATION" --close --progress 0 \
    --json "$@" 3>"$work/cpu")
  echo "$out" | CPU="$(cat "$work/cpu")" python3 -c '
import json, os, sys
r = json.load(sys.stdin)
t = r.get("tls") or {"full": "-", "resumed": "-", "per_second": r["throughput"]}
n = r["responses"] if t["full"] == "-" else t["full"] + t["resumed"]
cpu = float(os.environ["CPU"])
e = sum(r["errors"].values())
print("%.0f %s %s %.1f %.0f %d %d" % (t["per_second"], t["full"], t["resumed"], cpu * 1e6 / max(n, 1),
      100 * cpu / r["seconds"], r["responses"], e))'
}

section_handshakes() {
  echo "== handshakes: one request per connection, $CONNS_HS at a time, ${DURATION}s, ECDSA P-256"
  for kind in full resumed wrk-close plain-close; do
    : > "$work/hs.$kind.ours"; : > "$work/hs.$kind.nginx"
    for round in $(seq "$ROUNDS"); do
      for who in ours nginx; do
        case $kind in
          full) line=$(loadgen_hs "$who" "https://127.0.0.1:$(port_of "$who")/hello.txt" --insecure --no-resume) ;;
          resumed) line=$(loadgen_hs "$who" "https://127.0.0.1:$(port_of "$who")/hello.txt" --insecure) ;;
          plain-close) line=$(loadgen_hs "$who" "http://127.0.0.1:$(plain_port_of "$who")/hello.txt") ;;
          wrk-close)
            out=$(measure "$who" wrk -t1 -c"$CONNS_HS" -d"${DURATION}s" -H 'Connection: close' \
              "https://127.0.0.1:$(port_of $who)/hello.txt" 3>"$work/cpu")
            line=$(echo "$out" | CPU="$(cat "$work/cpu")" DUR="$DURATION" python3 -c '
import os, re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
total = int(re.search(r"(\d+) requests in", t).group(1)); cpu = float(os.environ["CPU"])
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
print("%.0f ? ? %.1f %.0f %d %d" % (rps, cpu * 1e6 / max(total, 1), 100 * cpu / float(os.environ["DUR"]),
      total, sum(map(int, err.groups())) if err else 0))') ;;
        esac
        read -r rate full resumed cpu busy responses errors <<<"$line"
        echo "$rate $cpu $busy" >> "$work/hs.$kind.$who"
        printf '  %-8s round %d %-5s: %7s handshakes/s (full %s, resumed %s)  server %6s us/handshake, core %3s%% busy  responses %s errors %s\n' \
          "$kind" "$round" "$who" "$rate" "$full" "$resumed" "$cpu" "$busy" "$responses" "$errors"
      done
    done
    o=$(col "$work/hs.$kind.ours" 1); n=$(col "$work/hs.$kind.nginx" 1)
    oc=$(col "$work/hs.$kind.ours" 2); nc=$(col "$work/hs.$kind.nginx" 2)
    echo "  median $kind: ours $o/s | nginx $n/s | ours/nginx $(ratio "$o" "$n")x; server CPU per handshake ours $oc us | nginx $nc us | nginx/ours $(ratio "$nc" "$oc")x (one core: ours $(python3 -c "print('%.0f' % (1e6 / $oc))")/s, nginx $(python3 -c "print('%.0f' % (1e6 / $nc))")/s)"
  done
}

section_big() {
  echo "== big: ${BIG_MIB} MiB file, curl -k --http1.1 -o /dev/null"
  for round in $(seq "$ROUNDS"); do
    for who in ours nginx; do
      out=$(measure "$who" curl -sk --http1.1 -o /dev/null -w '%{time_total} %{speed_download} %{size_download}' \
        "https://127.0.0.1:$(port_of $who)/big.bin" 3>"$work/cpu")
      read -r secs speed size <<<"$out"
      [ "$size" = $((BIG_MIB * 1024 * 1024)) ] || { echo "  $who sent $size bytes"; exit 1; }
      mbs=$(python3 -c "print('%.0f' % ($speed / 1e6))")
      echo "$secs $mbs $(cat "$work/cpu")" >> "$work/big.$who"
      printf '  round %d %-5s: %6.2f s  %5s MB/s  server CPU %s s\n' "$round" "$who" "$secs" "$mbs" "$(cat "$work/cpu")"
    done
  done
  o=$(col "$work/big.ours" 2); n=$(col "$work/big.nginx" 2)
  oc=$(col "$work/big.ours" 3); nc=$(col "$work/big.nginx" 3)
  echo "  median: ours $o MB/s | nginx $n MB/s | ours/nginx $(ratio "$o" "$n")x; server CPU ours $oc s | nginx $nc s"
}

section_idle() {
  echo "== idle: $IDLE TLS connections after one keep-alive request each, server RSS growth"
  local port=18460
  for round in $(seq "$ROUNDS"); do
    for who in ours nginx; do
      port=$((port + 1))
      if [ "$who" = ours ]; then
        pid=$(start_ours $port $((port + 100))); pids+=("$pid"); wait_https $port; spid=$pid
      else
        pid=$(start_nginx $port "$work/nginx-idle-$port"); pids+=("$pid"); wait_https $port
        spid=$(pgrep -P "$pid" | head -1)
      fi
      out=$(taskset -c 1 python3 benches/idle_tls_hold.py 127.0.0.1 $port "$spid" "$IDLE" /hello.txt)
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
      per=$(echo "$out" | sed 's/.*bytes_per_conn=\([0-9-]*\).*/\1/')
      echo "$per" >> "$work/idle.$who"
      printf '  round %d %-5s: %s\n' "$round" "$who" "$out"
    done
  done
  o=$(col "$work/idle.ours" 1); n=$(col "$work/idle.nginx" 1)
  echo "  median: ours $o B/conn ($(python3 -c "print('%.1f' % ($o / 1024))") KiB) | nginx $n B/conn ($(python3 -c "print('%.1f' % ($n / 1024))") KiB) | ours/nginx $(ratio "$o" "$n")x"
}

for s in $SECTIONS; do
  "section_$s"
done
