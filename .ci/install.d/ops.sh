# ops: Python's prometheus_client (its text-format parser) for protocols/tests/ops_metrics.rs,
# curl for its HTTP traffic and scrapes.
APT_PACKAGES="$APT_PACKAGES curl python3"
PIP_PACKAGES="${PIP_PACKAGES:-} prometheus_client"
