#!/bin/sh
# CGI test script: records its pid, then never answers (the server must kill it).
echo $$ > "$DOCUMENT_ROOT/hang.pid"
exec sleep 300
