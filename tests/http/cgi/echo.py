#!/usr/bin/env python3
"""CGI test script: answers 201 with the request body it read from stdin, reversed lines."""
import os
import sys

length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length) if length else b""
out = sys.stdout.buffer
out.write(b"Status: 201 Created\r\n")
out.write(b"Content-Type: application/octet-stream\r\n")
out.write(b"X-Method: " + os.environ["REQUEST_METHOD"].encode() + b"\r\n")
out.write(b"\r\n")
out.write(b"got " + str(len(body)).encode() + b" bytes: ")
out.write(body)
out.flush()
