# tls: openssl for the s_client tests, testssl.sh for .ci/checks.d/testssl.sh, chromium for the
# HTTPS/WSS page test (tests/ws_chromium.rs).
APT_PACKAGES="$APT_PACKAGES openssl testssl.sh chromium"
