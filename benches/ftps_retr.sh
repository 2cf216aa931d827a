#!/usr/bin/env bash
# FTPS (AUTH TLS, PROT P) RETR and STOR of one file and login+NLST+QUIT sessions against
# netreactor and vsftpd (ssl_enable, force_local_*_ssl) in one run, with the same ECDSA P-256
# certificate (tests/data/tls), plus netreactor over plain FTP for the cost of TLS. Each server
# is pinned to CPU 0, the client (curl, Python ftplib.FTP_TLS) to CPU 1. Prints GB/s,
# sessions/s, server CPU ms per session, and netreactor's ratios.
#
# usage: benches/ftps_retr.sh           (needs curl, vsftpd, python3, taskset, bc)
# env:   SIZE_MB=512 SESSIONS=200 NETREACTOR=target/release/netreactor
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-512}
SESSIONS=${SESSIONS:-200}
BIN=${NETREACTOR:-${CARGO_TARGET_DIR:-target}/release/netreactor}
[ -x "$BIN" ] || cargo build --release -q -p netreactor-protocols --bin netreactor
BIN=$(realpath "$BIN")
CERT=$(realpath tests/data/tls/cert.pem)
KEY=$(realpath tests/data/tls/key.pem)
VSFTPD=${VSFTPD:-$(command -v vsftpd || echo /usr/sbin/vsftpd)}
PY=${NETREACTOR_PYTHON:-python3}
work=$(mktemp -d /tmp/ftps-bench.XXXXXX)
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
     --ftp 127.0.0.1:21221 --ftp-user "foo:bar:elradfmwMT:$work/root" --ftp-max-per-ip 10000 \
     --tls-cert "$CERT" --tls-key "$KEY" >/dev/null 2>&1) & PID=$!; pids+=($PID)
}
start_vsftpd() {
  id ftpbench >/dev/null 2>&1 || useradd -M -d "$work/root" ftpbench
  usermod -d "$work/root" ftpbench; echo 'ftpbench:bar' | chpasswd
  chmod 755 "$work" "$work/root"; chown -R ftpbench "$work/root"
  cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=21222
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
ssl_enable=YES
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
ssl_ciphers=HIGH
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=NO
CONF
  taskset -c 0 "$VSFTPD" "$work/vsftpd.conf" >/dev/null 2>&1 & PID=$!; pids+=($PID)
}

cpu_ms() { # user+system CPU of a process (and its waited-for children), in ms
  awk '{print ($14+$15+$16+$17) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"
}
tree_cpu_ms() { # a process and its live descendants (vsftpd forks per session)
  local total=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$(echo "$total + $(cpu_ms "$p" 2>/dev/null || echo 0)" | bc -l)
  done
  echo "$total"
}

measure() { # name port user pid tls(0/1)
  local name=$1 port=$2 u=$3 pid=$4 tls=$5 t0 t1 r retr stor c0 c1 sess cpu ssl=()
  [ "$tls" = 1 ] && ssl=(--ssl-reqd -k)
  sleep 0.5
  retr=0
  for _ in 1 2 3; do
    r=$(taskset -c 1 curl -s "${ssl[@]}" -w '%{speed_download}' --user "$u:bar" \
          "ftp://127.0.0.1:$port/big.bin" -o /dev/null)
    retr=$(echo "r = $r / 1000000000; if (r > $retr) r else $retr" | bc -l)
  done
  t0=$(date +%s.%N)
  taskset -c 1 curl -s "${ssl[@]}" --user "$u:bar" -T "$work/upload.bin" "ftp://127.0.0.1:$port/up.bin"
  t1=$(date +%s.%N); stor=$(echo "$SIZE_MB * 1.048576 / 1000 / ($t1 - $t0)" | bc -l)
  [ "$(stat -c %s "$work/root/up.bin")" = $((SIZE_MB * 1024 * 1024)) ] || echo "$name: STOR incomplete"
  rm -f "$work/root/up.bin"
  c0=$(tree_cpu_ms "$pid"); t0=$(date +%s.%N)
  taskset -c 1 "$PY" -c "
import ftplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for _ in range($SESSIONS):
    if $tls:
        f = ftplib.FTP_TLS(context=ctx); f.connect('127.0.0.1', $port); f.login('$u', 'bar'); f.prot_p()
    else:
        f = ftplib.FTP(); f.connect('127.0.0.1', $port); f.login('$u', 'bar')
    f.nlst(); f.quit()"
  t1=$(date +%s.%N); c1=$(tree_cpu_ms "$pid")
  sess=$(echo "$SESSIONS / ($t1 - $t0)" | bc -l)
  cpu=$(echo "($c1 - $c0) / $SESSIONS" | bc -l)
  printf '%-16s RETR %6.2f GB/s  STOR %6.2f GB/s  sessions %7.0f/s  server CPU %6.3f ms/session\n' \
    "$name" "$retr" "$stor" "$sess" "$cpu"
  echo "$name $retr $stor $sess $cpu" >> "$work/results"
}

start_netreactor
measure netreactor-ftps 21221 foo "$PID" 1
measure netreactor-ftp 21221 foo "$PID" 0
if [ -x "$VSFTPD" ]; then
  start_vsftpd; measure vsftpd-ftps 21222 ftpbench "$PID" 1 || echo "vsftpd run failed"
fi
echo "-- netreactor FTPS / other (RETR, STOR, sessions/s: higher is better; CPU/session: lower is better)"
awk 'NR==1{split($0,a," ")} NR>1{printf "vs %-16s RETR x%.2f  STOR x%.2f  sessions x%.2f  CPU/session x%.2f\n", $1, a[2]/$2, a[3]/$3, a[4]/$4, a[5]/$5}' "$work/results"
