#!/bin/sh
# CGI test script: answers the status in its query (204, 304, 100...) and then writes a
# body anyway; the server must send none of it.
printf 'Status: %s\nX-From: nobody\n\nLEAKED-BODY-BYTES\n' "${QUERY_STRING:-204}"
