#!/usr/bin/env python3
"""Opens N idle TCP connections to HOST:PORT from several loopback source addresses, serves
one exchange on each (mode "echo": one byte echoed; "http": one keep-alive GET answered) so
the server really holds them, prints the server's RSS before and after (read from
/proc/PID/status), then closes them. Used by benches/idle_memory.sh."""
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    host, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    mode = sys.argv[5] if len(sys.argv) > 5 else ""
    time.sleep(0.3)
    before = rss_kib(pid)
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((f"127.0.0.{2 + i // 20000}", 0))
        s.connect((host, port))
        socks.append(s)
    if mode == "echo":
        # One byte each way on every connection: the server has really served them all.
        for s in socks:
            s.sendall(b"x")
        for s in socks:
            assert s.recv(1) == b"x"
    elif mode == "http":
        # One keep-alive request on every connection, answered, then idle.
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        for s in socks:
            got = s.recv(4096)
            assert got.startswith(b"HTTP/1.1 200"), got[:40]
    time.sleep(1.0)
    after = rss_kib(pid)
    per = (after - before) * 1024 / n
    print(f"connections={n} rss_before_kib={before} rss_after_kib={after} bytes_per_conn={per:.0f}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
