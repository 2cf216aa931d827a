#!/bin/sh
# CGI test script: leaves a detached grandchild behind (its output away from the server's
# pipes) and answers at once. The grandchild must not outlive the run.
sleep 300 >/dev/null 2>&1 </dev/null &
echo $! > "$DOCUMENT_ROOT/leaver.pid.tmp"
mv "$DOCUMENT_ROOT/leaver.pid.tmp" "$DOCUMENT_ROOT/leaver.pid"
printf 'Content-Type: text/plain\n\nbye\n'
