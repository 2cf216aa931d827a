#!/usr/bin/env python3
"""CGI test script: streams 1 MiB in 64 KiB pieces, without a Content-Length."""
import sys

out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\n\n")
for i in range(16):
    out.write(bytes([65 + i]) * 65536)
    out.flush()
sys.stderr.write("big.py: done\n")
