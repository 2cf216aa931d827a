# http: curl and python3 for the end-to-end tests (tests/http_*.rs), wrk and nginx for
# benches/http_wrk.sh, util-linux for taskset.
APT_PACKAGES="$APT_PACKAGES curl python3 wrk nginx util-linux"
