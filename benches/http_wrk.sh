#!/usr/bin/env bash
# wrk against examples/http_hello.rs and against nginx (one worker, access_log off,
# `return 200 "Hello, World!"`) in the same run, interleaved: ours, nginx, ours, nginx...
# Each server is pinned to core 0 (`taskset -c 0`), wrk to core 1. Modes: c=100 plain and
# c=100 pipelined x16 (benches/http_pipeline.lua). Prints requests/s, p99 and the server's
# CPU time per request (user+sys from /proc, so a busy machine skews it less than req/s) per
# run, the median of each, and the ratios ours/nginx; with each run, how busy wrk's core was and
# the machine's steal time (a run with wrk's core near 100% is bounded by wrk, not the server).
#
# Needs: wrk, nginx (Debian packages), taskset. Env: DURATION (s, default 10), ROUNDS
# (default 3), CONNS (default 100), DEPTH (default 16), OURS_PORT, NGINX_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-100}
DEPTH=${DEPTH:-16}
OURS_PORT=${OURS_PORT:-18181}
NGINX_PORT=${NGINX_PORT:-18182}
for tool in wrk nginx taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install wrk nginx util-linux)"; exit 1; }
done

cargo build --release --example http_hello >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
HELLO="$target_dir/release/examples/http_hello"

work=$(mktemp -d /tmp/http_wrk.XXXXXX)
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      default_type text/plain;
      return 200 "Hello, World!";
    }
  }
}
CONF

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c 0 "$HELLO" "127.0.0.1:$OURS_PORT" & pids+=($!)
ours_pid=$!
taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)
nginx_master=$!
for port in $OURS_PORT $NGINX_PORT; do
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null && break
    sleep 0.1
  done
  body=$(curl -sf "http://127.0.0.1:$port/")
  [ "$body" = "Hello, World!" ] || { echo "server on $port does not answer Hello, World!"; exit 1; }
done
nginx_pid=$(pgrep -P "$nginx_master" | head -1)
[ -n "$nginx_pid" ] || { echo "no nginx worker"; exit 1; }
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# "busy total steal" jiffies of core 1 (wrk's) and the machine's steal: a run where wrk's core
# is ~100% busy measured the load generator as much as the server.
core_ticks() {
  awk '$1 == "cpu1" {b = $2 + $3 + $4 + $7 + $8; t = b + $5 + $6 + $9}
       $1 == "cpu" {s = $9; a = $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}
       END {print b, t, s, a}' /proc/stat
}

# run_wrk PORT PID MODE -> prints "rps p99_ms avg_ms max_ms non2xx sockerr cpu_us_per_req"
run_wrk() {
  local port=$1 pid=$2 mode=$3 out before after
  local args=(-t1 -c"$CONNS" -d"${DURATION}s" --latency)
  if [ "$mode" = pipelined ]; then
    args+=(-s benches/http_pipeline.lua "http://127.0.0.1:$port/" -- "$DEPTH")
  else
    args+=("http://127.0.0.1:$port/")
  fi
  local core_before core_after
  before=$(cpu_ticks "$pid")
  core_before=$(core_ticks)
  out=$(taskset -c 1 wrk "${args[@]}")
  after=$(cpu_ticks "$pid")
  core_after=$(core_ticks)
  echo "$out" | CPU_TICKS=$((after - before)) TICKS=$ticks CORE="$core_before $core_after" python3 -c '
import os
import re, sys
text = sys.stdin.read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = ms(*re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", text).groups())
p90 = ms(*re.search(r"\s90%\s+([\d.]+)(us|ms|s)\b", text).groups())
lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+\S+\s+([\d.]+)(us|ms|s)", text).groups()
avg, mx = ms(lat[0], lat[1]), ms(lat[2], lat[3])
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: (.*)", text)
sock = sock.group(1).replace(" ", "_") if sock else "none"
# wrk 4.1 can report 0 for high percentiles under pipelining (a histogram bookkeeping bug);
# mark it so nobody reads 0 ms as a result.
p99s = "%.3f" % p99 if p99 > 0 else "n/a"
total = int(re.search(r"(\d+) requests in", text).group(1))
cpu_us = int(os.environ["CPU_TICKS"]) / int(os.environ["TICKS"]) * 1e6 / max(total, 1)
b0, t0, s0, a0, b1, t1, s1, a1 = map(int, os.environ["CORE"].split())
client_busy = 100.0 * (b1 - b0) / max(t1 - t0, 1)
steal = 100.0 * (s1 - s0) / max(a1 - a0, 1)
print("%.0f %s %.3f %.3f %s %s %.2f %.0f %.1f" % (rps, p99s, avg, mx, errors.group(1) if errors else 0, sock, cpu_us, client_busy, steal))
'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS interleaved rounds; servers on core 0, wrk on core 1"
for mode in plain pipelined; do
  : > "$work/ours.$mode"; : > "$work/nginx.$mode"
  for round in $(seq "$ROUNDS"); do
    for who in ours nginx; do
      port=$OURS_PORT; pid=$ours_pid
      if [ "$who" = nginx ]; then port=$NGINX_PORT; pid=$nginx_pid; fi
      read -r rps p99 avg mx bad sock cpu client steal <<<"$(run_wrk "$port" "$pid" "$mode")"
      echo "$rps $p99 $avg $mx $cpu $client $steal" >> "$work/$who.$mode"
      printf '%-9s round %d  %-5s: %8s req/s  p99 %7s ms  avg %7s ms  max %7s ms  cpu %6s us/req  wrk core %3s%% busy  steal %4s%%  non2xx %s sockerr %s\n' \
        "$mode" "$round" "$who" "$rps" "$p99" "$avg" "$mx" "$cpu" "$client" "$steal" "$bad" "$sock"
    done
  done
  col() { cut -d' ' -f"$2" "$work/$1.$mode" | { grep -v n/a || true; } | median; }
  o_rps=$(col ours 1); n_rps=$(col nginx 1)
  o_p99=$(col ours 2); n_p99=$(col nginx 2)
  o_avg=$(col ours 3); n_avg=$(col nginx 3)
  o_max=$(col ours 4); n_max=$(col nginx 4)
  o_cpu=$(col ours 5); n_cpu=$(col nginx 5)
  o_client=$(col ours 6); n_client=$(col nginx 6)
  cpu_ratio=$(python3 -c "print('%.2f' % ($n_cpu / $o_cpu))")
  label="c=$CONNS"; [ "$mode" = pipelined ] && label="$label, pipelined x$DEPTH"
  ratio=$(python3 -c "print('%.2f' % ($o_rps / $n_rps))")
  if [ -n "$o_p99" ] && [ -n "$n_p99" ]; then
    lat="p99 ours $o_p99 ms / nginx $n_p99 ms"
  else
    lat="p99 n/a (wrk); avg ours $o_avg ms / nginx $n_avg ms, max ours $o_max ms / nginx $n_max ms"
  fi
  echo "== $mode ($label): ours $o_rps req/s | nginx $n_rps req/s | ratio ours/nginx ${ratio}x | $lat"
  echo "   CPU per request: ours $o_cpu us | nginx $n_cpu us | nginx/ours ${cpu_ratio}x (requests per CPU-second, ours vs nginx)"
  echo "   wrk's core busy (median): ours runs ${o_client}% | nginx runs ${n_client}% (near 100%: the load generator bounds req/s)"
done
