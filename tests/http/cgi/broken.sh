#!/bin/sh
# CGI test script: output without a header block (the server must answer 502).
echo "this is not a header"
