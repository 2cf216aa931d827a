#!/bin/sh
# CGI test script: starts a grandchild that would outlive it, records the grandchild's pid
# (in `spawner-<query>.pid` under the root), then hangs. The server must kill both.
sleep 300 &
echo $! > "$DOCUMENT_ROOT/spawner-$QUERY_STRING.pid.tmp"
mv "$DOCUMENT_ROOT/spawner-$QUERY_STRING.pid.tmp" "$DOCUMENT_ROOT/spawner-$QUERY_STRING.pid"
exec sleep 300
