#!/bin/sh
# CGI test script: prints the meta-variables it was given, one per line.
printf 'Content-Type: text/plain\r\n'
printf 'X-Script: env\r\n'
printf '\r\n'
for v in GATEWAY_INTERFACE SERVER_PROTOCOL SERVER_NAME SERVER_PORT REQUEST_METHOD \
         SCRIPT_NAME PATH_INFO QUERY_STRING REMOTE_ADDR REMOTE_PORT CONTENT_LENGTH \
         CONTENT_TYPE HTTP_X_CUSTOM HTTP_HOST HTTP_PROXY HTTPS; do
  eval "val=\${$v-unset}"
  printf '%s=%s\n' "$v" "$val"
done
