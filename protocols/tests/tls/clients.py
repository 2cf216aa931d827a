"""Python clients of the netreactor binary's TLS servers.

Usage: clients.py CA_PEM HTTPS_PORT WSS_PORT. Prints "PASS" once every check holds; a failed
check raises (non-zero exit, traceback on stderr).
"""
import http.client
import ssl
import sys

from websockets.sync.client import connect

ca, https_port, wss_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# http.client over TLS: keep-alive GET, then PUT and GET it back on the same connection.
conn = http.client.HTTPSConnection("localhost", https_port, context=ctx, timeout=10)
conn.request("GET", "/hello.txt")
resp = conn.getresponse()
expect(resp.status == 200, f"GET status {resp.status}")
expect(resp.read() == b"hello over https\n", "GET body")
expect(conn.sock.version() in ("TLSv1.3", "TLSv1.2"), f"version {conn.sock.version()}")
expect(conn.sock.selected_alpn_protocol() == "http/1.1", "ALPN http/1.1")
body = b"x" * 300000
conn.request("PUT", "/upload.bin", body=body)
resp = conn.getresponse()
resp.read()
expect(resp.status in (200, 201, 204), f"PUT status {resp.status}")
conn.request("GET", "/upload.bin")
resp = conn.getresponse()
expect(resp.read() == body, "PUT body read back")
conn.close()

# websockets over wss:// on the HTTPS port (an upgrade) and on the --wss echo port.
for port in (https_port, wss_port):
    with connect(f"wss://localhost:{port}/echo", ssl=ctx, compression=None) as ws:
        ws.send("κόσμε over tls")
        expect(ws.recv(timeout=5) == "κόσμε over tls", f"text echo on {port}")
        blob = bytes(range(256)) * 300
        ws.send(blob)
        expect(ws.recv(timeout=5) == blob, f"binary echo on {port}")

# An old protocol version is refused.
old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
old.load_verify_locations(ca)
old.maximum_version = ssl.TLSVersion.TLSv1_1
old.minimum_version = ssl.TLSVersion.TLSv1
try:
    c = http.client.HTTPSConnection("localhost", https_port, context=old, timeout=5)
    c.request("GET", "/hello.txt")
    raise AssertionError("TLS 1.1 was accepted")
except ssl.SSLError:
    pass

print("PASS")
