"""Python `websockets` client scenarios against the netreactor WebSocket echo server.

Usage: client.py PORT SCENARIO. Prints "PASS <scenario>" and exits 0 when every check holds;
any failed check raises (non-zero exit, traceback on stderr).
"""
import os
import sys

from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

port = int(sys.argv[1])
scenario = sys.argv[2]
uri = f"ws://127.0.0.1:{port}/echo"


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def text():
    with connect(uri, compression=None) as ws:
        for msg in ["hello", "κόσμε", "", "x" * 126, "\U0001F600" * 1000]:
            ws.send(msg)
            got = ws.recv(timeout=5)
            expect(got == msg, f"echo of {msg[:20]!r}: {got[:20]!r}")


def binary():
    with connect(uri, compression=None) as ws:
        for msg in [bytes(range(256)), b"", os.urandom(70000)]:
            ws.send(msg)
            got = ws.recv(timeout=5)
            expect(isinstance(got, bytes) and got == msg, f"binary echo of {len(msg)} bytes")


def fragmented():
    with connect(uri, compression=None) as ws:
        ws.send(iter(["frag1-", "κό", "σμε"]))
        expect(ws.recv(timeout=5) == "frag1-κόσμε", "fragmented text joined")
        ws.send(iter([b"\x00\x01", b"", b"\x02"]))
        expect(ws.recv(timeout=5) == b"\x00\x01\x02", "fragmented binary joined")


def ping():
    with connect(uri, compression=None) as ws:
        waiter = ws.ping(b"are you there")
        expect(waiter.wait(timeout=5), "pong received")
        ws.send("after ping")
        expect(ws.recv(timeout=5) == "after ping", "echo after ping")


def close_codes():
    for code, reason in [(1000, "bye"), (4001, "application"), (1001, "")]:
        ws = connect(uri, compression=None)
        ws.close(code, reason)
        expect(ws.close_code == code, f"server echoed close code {code}, got {ws.close_code}")


def too_big():
    # The test server's message limit is 16 MiB: a bigger message fails with 1009.
    ws = connect(uri, compression=None, max_size=None)
    try:
        ws.send(b"\x00" * (17 << 20))
        ws.recv(timeout=10)
        raise AssertionError("no close after an oversized message")
    except ConnectionClosedError as e:
        expect(e.rcvd is not None and e.rcvd.code == 1009, f"close 1009, got {e.rcvd}")


def large():
    with connect(uri, compression=None, max_size=None) as ws:
        msg = os.urandom(8 << 20)
        ws.send(msg)
        expect(ws.recv(timeout=30) == msg, "8 MiB binary echo")
        t = "ab" * (2 << 20)
        ws.send(t)
        expect(ws.recv(timeout=30) == t, "4 MiB text echo")


def compression_on():
    with connect(uri, max_size=None) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        expect("permessage-deflate" in ext, f"deflate negotiated: {ext!r}")
        for msg in ["compress me " * 1000, "short", b"\x01" * 100000, "κόσμε" * 500]:
            ws.send(msg)
            expect(ws.recv(timeout=10) == msg, "compressed echo")


def compression_off():
    with connect(uri, compression=None) as ws:
        expect("Sec-WebSocket-Extensions" not in ws.response.headers, "no extension without an offer")
        ws.send("plain " * 100)
        expect(ws.recv(timeout=5) == "plain " * 100, "uncompressed echo")


def compression_params():
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=10,
    )
    with connect(uri, compression=None, extensions=[factory]) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        expect("server_no_context_takeover" in ext and "server_max_window_bits=10" in ext, f"params: {ext!r}")
        for i in range(20):
            msg = f"message {i} " * (50 * i + 1)
            ws.send(msg)
            expect(ws.recv(timeout=5) == msg, f"echo {i} with small windows")


def every_offer():
    """Every combination of the four permessage-deflate parameters is accepted: the
    handshake succeeds, an offered server_max_window_bits is answered with the same or a
    smaller value (RFC 7692 7.1.2.1), and messages echo compressed. (websockets accepts
    window sizes 9-15.)"""
    import itertools

    combos = itertools.product(
        [False, True],
        [False, True],
        [None] + list(range(9, 16)),
        [None, True] + list(range(9, 16)),
    )
    count = 0
    for snct, cnct, sbits, cbits in combos:
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=snct,
            client_no_context_takeover=cnct,
            server_max_window_bits=sbits,
            client_max_window_bits=cbits,
        )
        what = f"offer snct={snct} cnct={cnct} sbits={sbits} cbits={cbits}"
        with connect(uri, compression=None, extensions=[factory]) as ws:
            ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
            expect(ext.startswith("permessage-deflate"), f"{what}: answered {ext!r}")
            if sbits is not None:
                answered = [p.strip() for p in ext.split(";") if "server_max_window_bits=" in p]
                expect(len(answered) == 1 and int(answered[0].split("=")[1]) <= sbits,
                       f"{what}: answered {ext!r}")
            for msg in ["compress me " * 200, "again " * 300]:
                ws.send(msg)
                expect(ws.recv(timeout=5) == msg, f"{what}: echo")
        count += 1
    expect(count == 288, f"{count} offers tried")


globals()[scenario]()
print(f"PASS {scenario}")
