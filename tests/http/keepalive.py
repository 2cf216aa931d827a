"""http.client keeps one connection for several requests: prints one JSON line per request
with the status, body length and the client's local port (the same port = the same TCP
connection)."""
import http.client
import json
import sys

host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=10)
for path in ["/hello.txt", "/style.css", "/missing", "/digits.txt", "/hello.txt"]:
    method = "HEAD" if path == "/digits.txt" else "GET"
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    print(json.dumps({
        "path": path,
        "status": resp.status,
        "length": len(body),
        "content_length": resp.getheader("Content-Length"),
        "port": conn.sock.getsockname()[1],
        "body": body.decode("utf-8", "replace")[:40],
    }))
conn.close()
