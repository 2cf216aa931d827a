"""Pipelining by hand: several requests in one write on a raw socket, then every response
read back with http.client's parser; prints one JSON line per response."""
import http.client
import io
import json
import socket
import sys


class KeepOpen(io.BufferedReader):
    """One read buffer for every response (a response must not close it)."""

    def close(self):
        pass


class SharedReader:
    """Hands http.client the same buffered reader for each response on the socket."""

    def __init__(self, sock):
        self.reader = KeepOpen(socket.SocketIO(sock, "rb"))

    def makefile(self, *args, **kwargs):
        return self.reader


host, port = sys.argv[1], int(sys.argv[2])
paths = ["/hello.txt", "/style.css", "/nope", "/app.js", "/hello.txt"]
batch = b"".join(
    b"GET " + p.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n" for p in paths
)
sock = socket.create_connection((host, port), timeout=10)
sock.sendall(batch)
shared = SharedReader(sock)
for p in paths:
    resp = http.client.HTTPResponse(shared, method="GET")
    resp.begin()
    body = resp.read()
    print(json.dumps({"path": p, "status": resp.status, "body": body.decode()[:40]}))
sock.close()
