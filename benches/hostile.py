#!/usr/bin/env python3
"""Hostile peers against a `netreactor` started with its defaults (see benches/hostile.sh).

For each attack it reports the server's RSS growth (peak over the baseline taken just before),
the worst latency of a victim's HTTP GET (a new connection every 100 ms, all through the
attack) and whether every victim request was served. Loopback only.

  1  Telnet: 300 connections that never read + 10 that send "a\\r" x 1,024 every 50 ms
  2  FTP, anonymous: STAT <dir of 1,500 entries> x 1,489 in one write, replies never read
  3  WebSocket with permessage-deflate: 12 connections each send one unfinished message (a
     RSV1 frame with FIN=0 of deflate that inflates to 60 MiB), then stay silent
  4  WebSocket: one client streaming complete messages that inflate to 60 MiB each
  5  19,990 WebSocket handshakes from 127.0.0.2-51, then silence; then a new client must be
     answered (any HTTP answer, 503 included) within 5 s

Usage: hostile.py PID HTTP_PORT WS_PORT FTP_PORT TELNET_PORT DIR [SECS] [ATTACK...]
"""

import base64
import os
import socket
import struct
import sys
import threading
import time
import zlib

PID, HTTP, WS, FTP, TELNET = (int(a) for a in sys.argv[1:6])
BIG_DIR = sys.argv[6]
SECS = float(sys.argv[7]) if len(sys.argv) > 7 else 20.0
ONLY = set(sys.argv[8:])


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Watch:
    """Samples RSS and runs the victim GETs until stopped."""

    def __init__(self):
        self.base = rss_kib()
        self.peak = self.base
        self.worst = 0.0
        self.failed = 0
        self.served = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.sample), threading.Thread(target=self.victim)]
        for t in self.threads:
            t.start()

    def sample(self):
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, rss_kib())

    def victim(self):
        while not self.stop.wait(0.1):
            start = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", HTTP), timeout=10) as s:
                    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                ok = data.startswith(b"HTTP/1.1 200")
            except OSError:
                ok = False
            self.worst = max(self.worst, time.monotonic() - start)
            if ok:
                self.served += 1
            else:
                self.failed += 1

    def done(self, name, extra=""):
        self.stop.set()
        for t in self.threads:
            t.join()
        growth = (self.peak - self.base) / 1024
        print(
            f"{name:<34} RSS +{growth:7.1f} MiB  victim worst {self.worst * 1000:7.0f} ms  "
            f"served {self.served}/{self.served + self.failed}  {extra}",
            flush=True,
        )


def ws_handshake(sock, deflate=True):
    key = base64.b64encode(os.urandom(16)).decode()
    ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed during the handshake")
        head += chunk
    return head


def frame(payload, fin=True, rsv1=True, opcode=2):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    mask = os.urandom(4)
    keys = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")
    return hdr + mask + masked


def bomb(size=60 << 20):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(b"\0" * size) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # permessage-deflate drops the 00 00 ff ff tail


def attack_1():
    w = Watch()
    idle = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", TELNET))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        idle.append(s)
    senders = [socket.create_connection(("127.0.0.1", TELNET)) for _ in range(10)]
    end = time.monotonic() + SECS
    sent = 0
    while time.monotonic() < end:
        for s in senders:
            try:
                s.sendall(b"a\r" * 1024)
                sent += 2048
            except OSError:
                pass
        time.sleep(0.05)
    w.done("1 telnet flood to 300 non-readers", f"sent {sent / 1e6:.1f} MB")
    for s in idle + senders:
        s.close()


def attack_2():
    w = Watch()
    s = socket.create_connection(("127.0.0.1", FTP))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.recv(4096)
    s.sendall(b"USER anonymous\r\nPASS x\r\n")
    time.sleep(0.3)
    s.sendall(b"".join(b"STAT big\r\n" for _ in range(1489)))
    time.sleep(SECS)
    w.done("2 FTP STAT flood, replies unread")
    s.close()


def attack_3():
    w = Watch()
    payload = bomb()
    socks = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", WS))
        ws_handshake(s)
        s.sendall(frame(payload, fin=False))
        socks.append(s)
    deadline = time.monotonic() + max(SECS, 35)
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while s.recv(65536):
                pass
            closed += 1
        except OSError:
            pass
    w.done("3 WS deflate bombs, then silence", f"{closed}/12 closed within 35 s")


def attack_4():
    w = Watch()
    s = socket.create_connection(("127.0.0.1", WS))
    ws_handshake(s)
    msg = frame(bomb())
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(1 << 20), b"")])
    drain.daemon = True
    drain.start()
    end = time.monotonic() + SECS
    sent = 0
    try:
        while time.monotonic() < end:
            s.sendall(msg)
            sent += 1
            time.sleep(max(0.0, len(msg) / 1.3e6))
    except OSError:
        pass
    w.done("4 WS stream of 60 MiB messages", f"{sent} messages sent")
    s.close()


def hold_handshakes(first, count, out):
    socks = []
    for i in range(count):
        src = f"127.0.0.{2 + (first + i) % 50}"
        try:
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", WS))
            s.sendall(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            socks.append(s)
        except OSError:
            out["errors"] = out.get("errors", 0) + 1
    out["socks"] = socks


def attack_5():
    w = Watch()
    # One process holds ~19,900 descriptors at most: two threads of this one would pass the
    # limit, so the handshakes come from a child process of its own as well.
    half = 9995
    pid = os.fork()
    if pid == 0:
        out = {}
        hold_handshakes(half, half, out)
        time.sleep(SECS + 10)
        os._exit(0)
    out = {}
    hold_handshakes(0, half, out)
    time.sleep(2)
    start = time.monotonic()
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", HTTP), timeout=5) as s:
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: new\r\nConnection: close\r\n\r\n")
            answer = s.recv(64)
    except OSError as e:
        answer = str(e).encode()
    took = time.monotonic() - start
    w.done(
        "5 19,990 WS handshakes held",
        f"new client: {answer[:12].decode(errors='replace')!r} in {took * 1000:.0f} ms",
    )
    for s in out["socks"]:
        s.close()
    os.kill(pid, 9)
    os.waitpid(pid, 0)


for n, attack in [("1", attack_1), ("2", attack_2), ("3", attack_3), ("4", attack_4), ("5", attack_5)]:
    if not ONLY or n in ONLY:
        attack()
        time.sleep(3)
