#!/usr/bin/env bash
# Hostile peers against `netreactor` with its defaults (benches/hostile.py says what each
# attack does): server RSS growth, the worst latency of a victim's concurrent GET, whether the
# victim was served, and for attack 5 how fast a new client is answered.
# Usage: benches/hostile.sh [SECS] [ATTACK...]   (default 20 s per attack, all five)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
cargo build --release -q -p netreactor-protocols --bin netreactor
T=${CARGO_TARGET_DIR:-target}
root=$(mktemp -d)
mkdir "$root/big"
for i in $(seq 1500); do : > "$root/big/file-with-a-longish-name-$i.txt"; done
echo '<h1>victim</h1>' > "$root/index.html"
"$T/release/netreactor" --root "$root" --http 127.0.0.1:18000 --ws 127.0.0.1:19000 \
  --ftp 127.0.0.1:12121 --telnet 127.0.0.1:12323 --echo 127.0.0.1:17000 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$root"' EXIT
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/18000) 2>/dev/null && break
  sleep 0.1
done
python3 benches/hostile.py "$pid" 18000 19000 12121 12323 "$root/big" "$secs" "$@"
