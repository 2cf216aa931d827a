#!/usr/bin/env python3
"""Two telnetlib3 clients chat through the server at 127.0.0.1:PORT: NAWS and TTYPE
negotiated, /nick, /who (shows the reported window size and terminal), /msg, /quit.
Exits non-zero with a message on the first thing that does not happen."""
import asyncio
import sys

import telnetlib3

PORT = int(sys.argv[1])


async def expect(reader, needle, timeout=5.0):
    seen = ""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while needle not in seen:
        left = end - loop.time()
        if left <= 0:
            raise AssertionError(f"did not see {needle!r}; got {seen!r}")
        chunk = await asyncio.wait_for(reader.read(1024), left)
        if not chunk:
            raise AssertionError(f"closed before {needle!r}; got {seen!r}")
        seen += chunk
    return seen


async def main():
    ra, wa = await telnetlib3.open_connection("127.0.0.1", PORT, term="vt220", cols=132, rows=43,
                                              connect_minwait=0.2)
    rb, wb = await telnetlib3.open_connection("127.0.0.1", PORT, term="xterm", cols=80, rows=24,
                                              connect_minwait=0.2)
    await expect(ra, "/help lists the commands")
    await expect(rb, "/help lists the commands")
    wa.write("/nick alice\r\n")
    await expect(ra, "you are now alice")
    wb.write("/nick bob\r\n")
    await expect(rb, "you are now bob")
    await expect(ra, "is now bob")
    wa.write("hello bob\r\n")
    await expect(rb, "<alice> hello bob")
    wb.write("/who\r\n")
    who = await expect(rb, "132x43")
    assert "alice 132x43" in who and "VT220" in who.upper(), who
    wb.write("/msg alice psst\r\n")
    await expect(ra, "*bob* psst")
    wa.write("/quit\r\n")
    await expect(ra, "bye")
    await expect(rb, "* alice left")
    wb.close()
    print("telnetlib3 chat ok")


asyncio.run(main())
