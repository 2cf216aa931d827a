"""http.client sends a whole request body before it reads the response. Sends bodies larger
than the server accepts (and than the socket buffers hold); prints one JSON line per request
with the status the client read, or the name of the exception it got instead."""
import http.client
import json
import sys

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = b"x" * size
for method, path in [("PUT", "/upload.bin"), ("POST", "/hello.txt"), ("GET", "/hello.txt")]:
    conn = http.client.HTTPConnection(host, port, timeout=20)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        resp.read()
        row = {"method": method, "status": resp.status}
    except Exception as e:  # the failure this test exists to catch
        row = {"method": method, "error": type(e).__name__}
    conn.close()
    print(json.dumps(row))
