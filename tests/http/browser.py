"""A browser-style visit over one keep-alive connection: the page, its assets with the
headers a browser sends, a missing favicon, then a reload that revalidates with
If-None-Match and If-Modified-Since. Prints one JSON line per request."""
import http.client
import json
import sys

host, port = sys.argv[1], int(sys.argv[2])
common = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept-Language": "en-US,en;q=0.5",
    "Accept-Encoding": "gzip, deflate, br",
    "Connection": "keep-alive",
    "Cookie": "session=abc123; theme=dark",
    "Sec-Fetch-Site": "same-origin",
    "Cache-Control": "max-age=0",
}
visits = [
    ("/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("/style.css", "text/css,*/*;q=0.1"),
    ("/app.js", "*/*"),
    ("/favicon.ico", "image/avif,image/webp,*/*"),
]
conn = http.client.HTTPConnection(host, port, timeout=10)
validators = {}
for path, accept in visits:
    conn.request("GET", path, headers=dict(common, Accept=accept))
    resp = conn.getresponse()
    body = resp.read()
    validators[path] = (resp.getheader("ETag"), resp.getheader("Last-Modified"))
    print(json.dumps({"pass": 1, "path": path, "status": resp.status,
                      "type": resp.getheader("Content-Type"), "length": len(body),
                      "port": conn.sock.getsockname()[1]}))
for path, accept in visits[:3]:
    etag, modified = validators[path]
    headers = dict(common, Accept=accept)
    headers["If-None-Match"] = etag
    headers["If-Modified-Since"] = modified
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    print(json.dumps({"pass": 2, "path": path, "status": resp.status, "length": len(body),
                      "port": conn.sock.getsockname()[1]}))
conn.close()
