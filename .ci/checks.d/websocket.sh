#!/usr/bin/env bash
# WebSocket conformance with kosoku (the Autobahn cases): the fuzzingclient cases against the
# echo server (examples/ws_echo.rs), then the fuzzingserver cases against our client
# (examples/ws_autobahn_client.rs). Fails on any case that is not OK (Autobahn's own
# INFORMATIONAL cases 7.1.6 and 7.13.x excepted). Server: groups 1-7, 9 and 10 in full, a
# quick subset of 12 and 13 unless WS_AUTOBAHN_FULL=1 (the full run takes several minutes;
# see docs/websocket.md). Client: groups 1-7 and 10 (all groups with WS_AUTOBAHN_FULL=1).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
port="${WS_AUTOBAHN_PORT:-9301}"
# kosoku and the tally run from the virtual environment .ci/run creates.
py="${NETREACTOR_PYTHON:-$target/ci-venv/bin/python}"
[ -x "$py" ] || { echo "no Python venv at $py: run .ci/run --install-only" >&2; exit 1; }
venv_bin="$(dirname "$py")"
cargo build --release --example ws_echo --example ws_autobahn_client
out="$(mktemp -d)"
"$target/release/examples/ws_echo" "127.0.0.1:$port" 2>"$out/server.log" &
pid=$!
pids="$pid"
trap 'kill $pids 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
cases=(-i '1.*' -i '2.*' -i '3.*' -i '4.*' -i '5.*' -i '6.*' -i '7.*' -i '10.*')
if [ "${WS_AUTOBAHN_FULL:-0}" = 1 ]; then
  cases+=(-i '9.*' -i '12.*' -i '13.*')
else
  # All of 9 (large messages and frames up to 16 MiB, many small messages); for compression,
  # every data set of 12 and every offer/answer combination of 13 with the smaller message
  # sizes (16 B - 4 KiB) and one auto-fragmented size -- the slow cases are the 1000 x
  # 32-128 KiB ones.
  cases+=(-i '9.*')
  for j in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
    for i in 1 2 3 4 5 11; do cases+=(-i "$j.$i"); done
  done
fi
"$venv_bin/kosoku" -m fuzzingclient -o "$out/report" "${cases[@]}" "127.0.0.1:$port" >"$out/kosoku.log" 2>&1 || {
  tail -20 "$out/kosoku.log"
  exit 1
}
"$py" tests/ws/autobahn_tally.py "$out/report"

# Our client against kosoku's fuzzing server.
cport=$((port + 1))
client_cases=(-i '1.*' -i '2.*' -i '3.*' -i '4.*' -i '5.*' -i '6.*' -i '7.*' -i '10.*')
if [ "${WS_AUTOBAHN_FULL:-0}" = 1 ]; then
  client_cases+=(-i '9.*' -i '12.*' -i '13.*')
fi
"$venv_bin/kosoku" -m fuzzingserver -o "$out/client-report" "${client_cases[@]}" "127.0.0.1:$cport" >"$out/kosoku-server.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$cport") 2>/dev/null; then break; fi
  sleep 0.1
done
"$target/release/examples/ws_autobahn_client" "127.0.0.1:$cport"
for _ in $(seq 50); do
  [ -f "$out/client-report/index.json" ] && break
  sleep 0.1
done
"$py" tests/ws/autobahn_tally.py "$out/client-report"
