#!/bin/sh
# CGI test script: a Status header and a Location-only redirect, chosen by the query.
if [ "$QUERY_STRING" = redirect ]; then
  printf 'Location: http://example.invalid/elsewhere\n\n'
else
  printf 'Status: 418 I am a teapot\nContent-Type: text/plain\n\nshort and stout\n'
fi
