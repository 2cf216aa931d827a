"""A Python `websockets` echo server for tests/ws_client.rs: prints its port, then echoes
every message until killed. Compression (permessage-deflate) is on unless argv[1] == "plain"."""
import sys

from websockets.sync.server import serve


def echo(ws):
    for message in ws:
        ws.send(message)


compression = None if len(sys.argv) > 1 and sys.argv[1] == "plain" else "deflate"
with serve(echo, "127.0.0.1", 0, compression=compression, max_size=None) as server:
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever()
