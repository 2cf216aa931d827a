# websocket: chromium for tests/ws_chromium.rs, Python `websockets` for tests/ws_python.rs,
# kosoku (the Autobahn fuzzingclient cases) for .ci/checks.d/websocket.sh.
APT_PACKAGES="$APT_PACKAGES chromium python3 python3-venv"
PIP_PACKAGES="${PIP_PACKAGES:-} websockets kosoku"
