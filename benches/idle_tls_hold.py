#!/usr/bin/env python3
"""Opens N idle TLS connections to HOST:PORT (SNI "localhost", ALPN http/1.1, certificate not
checked), serves one keep-alive GET of PATH on each so the server really holds a finished
session that has served a request, then prints the server's RSS (VmRSS of PID) before and after,
and closes them. Used by benches/https_vs_nginx.sh; the holder is a process of its own, so its
descriptors do not count against the server's limit.

Usage: idle_tls_hold.py HOST PORT PID N [PATH]"""
import socket
import ssl
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def read_response(s):
    """Reads one response with a Content-Length; returns its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(16384)
        if not chunk:
            raise RuntimeError("closed before the response head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(16384)
        if not chunk:
            raise RuntimeError("closed inside the body")
        body += chunk
    return head.split(b"\r\n", 1)[0]


def main():
    host, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    path = sys.argv[5] if len(sys.argv) > 5 else "/"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    time.sleep(0.3)
    before = rss_kib(pid)
    started = time.monotonic()
    socks = []
    for i in range(n):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((f"127.0.0.{2 + i // 20000}", 0))
        raw.connect((host, port))
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(request)
        status = read_response(s)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"connection {i}: {status!r}")
        socks.append(s)
    opened = time.monotonic() - started
    time.sleep(1.0)
    after = rss_kib(pid)
    per = (after - before) * 1024 / n
    print(
        f"connections={n} rss_before_kib={before} rss_after_kib={after} "
        f"bytes_per_conn={per:.0f} open_seconds={opened:.1f}"
    )
    sys.stdout.flush()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
