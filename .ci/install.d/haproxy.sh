# haproxy: the balancer of deploy/haproxy/run.sh, which protocols/tests/haproxy.rs runs (two
# netreactor processes behind it with the PROXY protocol). Debian starts its service on
# install: .ci/run lists it in SERVICES so it is stopped.
APT_PACKAGES="$APT_PACKAGES haproxy"
