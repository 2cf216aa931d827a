#!/usr/bin/env bash
# testssl.sh (Debian's package) against the binary's HTTPS port: fails on any finding rated
# "NOT ok" or "VULNERABLE", and unless only TLS 1.2 and 1.3 are offered. The findings about
# the certificate itself are left out: the test certificate (tests/data/tls) is self-signed
# and names no CRL or OCSP responder, as a private test certificate does.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
port="${TESTSSL_PORT:-8643}"
command -v testssl >/dev/null || { echo "testssl missing: run .ci/run --install-only" >&2; exit 1; }
cargo build --release -p netreactor-protocols --bin netreactor
out="$(mktemp -d)"
"$target/release/netreactor" --no-ftp --no-ws --no-telnet --no-echo --http 127.0.0.1:0 \
  --https "127.0.0.1:$port" --tls-cert tests/data/tls/cert.pem --tls-key tests/data/tls/key.pem \
  2>"$out/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
testssl --quiet --color 0 --warnings off --fast --ip one "127.0.0.1:$port" >"$out/report.txt" 2>&1 || true
grep -q "TLS 1.3 .*offered (OK)" "$out/report.txt" || { cat "$out/report.txt"; echo "testssl: TLS 1.3 not offered" >&2; exit 1; }
for old in "SSLv2" "SSLv3" "TLS 1  " "TLS 1.1"; do
  if grep -E "^ ?$old" "$out/report.txt" | grep -qv "not offered"; then
    cat "$out/report.txt"; echo "testssl: $old offered" >&2; exit 1
  fi
done
bad="$(grep -E "NOT ok|VULNERABLE" "$out/report.txt" | grep -vE "Chain of trust|CRL nor OCSP|self signed" || true)"
if [ -n "$bad" ]; then
  echo "$bad"
  echo "testssl: findings above" >&2
  exit 1
fi
echo "testssl: no finding rated NOT ok or VULNERABLE; TLS 1.2 and 1.3 only ($(grep -c '' "$out/report.txt") lines of report)"
