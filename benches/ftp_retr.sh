#!/usr/bin/env bash
# RETR and STOR of a 1 GiB file and login+NLST+QUIT sessions against netreactor, vsftpd and
# pyftpdlib in one run. Each server is pinned to CPU 0, the client (curl, Python ftplib) to
# CPU 1. Prints GB/s, sessions/s, server CPU ms per session, and netreactor's ratios.
#
# usage: benches/ftp_retr.sh            (needs curl, vsftpd, python3 -m pyftpdlib, taskset)
# env:   SIZE_MB=1024 SESSIONS=500 NETREACTOR=target/release/netreactor
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
SESSIONS=${SESSIONS:-500}
BIN=${NETREACTOR:-${CARGO_TARGET_DIR:-target}/release/netreactor}
[ -x "$BIN" ] || cargo build --release -q -p netreactor-protocols --bin netreactor
BIN=$(realpath "$BIN")
command -v vsftpd >/dev/null || VSFTPD=$(ls /usr/sbin/vsftpd 2>/dev/null || true)
VSFTPD=${VSFTPD:-$(command -v vsftpd || echo /usr/sbin/vsftpd)}
work=$(mktemp -d /tmp/ftp-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/root" "$work/empty"
truncate -s "${SIZE_MB}M" "$work/root/big.bin"          # sparse: measures the server, not the disk
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero > "$work/upload.bin"
for i in $(seq 1 20); do echo "file $i" > "$work/root/f$i.txt"; done
cat "$work/root/big.bin" > /dev/null   # warm the page cache for every server alike

start_netreactor() {
  (cd "$work/root" && exec taskset -c 0 "$BIN" --no-echo --no-http --no-ws --no-telnet \
     --ftp 127.0.0.1:21211 --ftp-user "foo:bar:elradfmwMT:$work/root" --ftp-max-per-ip 10000 \
     >/dev/null 2>&1) & PID=$!; pids+=($PID)
}
start_vsftpd() {
  # vsftpd wants a real user; run it as root with a local user "ftpbench" whose home is the root.
  id ftpbench >/dev/null 2>&1 || useradd -M -d "$work/root" ftpbench
  usermod -d "$work/root" ftpbench; echo 'ftpbench:bar' | chpasswd
  chmod 755 "$work" "$work/root"; chown -R ftpbench "$work/root"
  cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=21212
anonymous_enable=NO
local_enable=YES
write_enable=YES
pasv_enable=YES
pasv_min_port=52000
pasv_max_port=52999
secure_chroot_dir=$work/empty
seccomp_sandbox=NO
max_per_ip=0
max_clients=0
pam_service_name=vsftpd
use_localtime=NO
xferlog_enable=NO
isolate_network=NO
isolate=NO
CONF
  taskset -c 0 "$VSFTPD" "$work/vsftpd.conf" >/dev/null 2>&1 & PID=$!; pids+=($PID)
}
start_pyftpdlib() {
  taskset -c 0 python3 -c "
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
import logging; logging.disable(logging.CRITICAL)
a = DummyAuthorizer(); a.add_user('foo', 'bar', '$work/root', perm='elradfmwMT')
h = FTPHandler; h.authorizer = a; h.use_sendfile = True
s = FTPServer(('127.0.0.1', 21213), h); s.max_cons = 0; s.max_cons_per_ip = 0
s.serve_forever()" >/dev/null 2>&1 & PID=$!; pids+=($PID)
}

cpu_ms() { # user+system CPU of a process (and its children), in ms
  awk '{print ($14+$15+$16+$17) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"
}
tree_cpu_ms() { # a process and its live descendants (vsftpd forks per session)
  local total=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$(echo "$total + $(cpu_ms "$p" 2>/dev/null || echo 0)" | bc -l)
  done
  echo "$total"
}

measure() { # name port user pid
  local name=$1 port=$2 u=$3 pid=$4 t0 t1 r retr stor c0 c1 sess cpu
  sleep 0.5
  # RETR: best of three (the page cache is warm: big.bin was read once before any server).
  retr=0
  for _ in 1 2 3; do
    r=$(taskset -c 1 curl -s -w '%{speed_download}' --user "$u:bar" "ftp://127.0.0.1:$port/big.bin" -o /dev/null)
    retr=$(echo "r = $r / 1000000000; if (r > $retr) r else $retr" | bc -l)
  done
  t0=$(date +%s.%N)
  taskset -c 1 curl -s --user "$u:bar" -T "$work/upload.bin" "ftp://127.0.0.1:$port/up.bin"
  t1=$(date +%s.%N); stor=$(echo "$SIZE_MB * 1.048576 / 1000 / ($t1 - $t0)" | bc -l)
  rm -f "$work/root/up.bin"
  c0=$(tree_cpu_ms "$pid"); t0=$(date +%s.%N)
  taskset -c 1 python3 -c "
import ftplib
for _ in range($SESSIONS):
    f = ftplib.FTP(); f.connect('127.0.0.1', $port); f.login('$u', 'bar'); f.nlst(); f.quit()"
  t1=$(date +%s.%N); c1=$(tree_cpu_ms "$pid")
  sess=$(echo "$SESSIONS / ($t1 - $t0)" | bc -l)
  cpu=$(echo "($c1 - $c0) / $SESSIONS" | bc -l)
  printf '%-10s RETR %6.2f GB/s  STOR %6.2f GB/s  sessions %7.0f/s  server CPU %6.3f ms/session\n' \
    "$name" "$retr" "$stor" "$sess" "$cpu"
  echo "$name $retr $stor $sess $cpu" >> "$work/results"
}

start_netreactor; measure netreactor 21211 foo "$PID"
if [ -x "$VSFTPD" ]; then
  start_vsftpd; measure vsftpd 21212 ftpbench "$PID" || echo "vsftpd run failed"
fi
if python3 -c 'import pyftpdlib' 2>/dev/null; then
  start_pyftpdlib; measure pyftpdlib 21213 foo "$PID"
fi
echo "-- netreactor / rival (RETR, STOR, sessions/s: higher is better; CPU/session: lower is better)"
awk 'NR==1{n=$0; split(n,a," ")} NR>1{printf "vs %-10s RETR x%.2f  STOR x%.2f  sessions x%.2f  CPU/session x%.2f\n", $1, a[2]/$2, a[3]/$3, a[4]/$4, a[5]/$5}' "$work/results"
