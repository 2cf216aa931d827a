# Shared by the benchmark scripts: writes DIR/nginx.conf for the nginx peer — one worker,
# 20,000 descriptors, keep-alive without limits, no access log — listening on 127.0.0.1:PORT
# and answering every request with "Hello, World!" or, given ROOT, serving files from ROOT.
# Usage: source benches/nginx_conf.sh; nginx_conf DIR PORT [ROOT]; nginx -p DIR -c DIR/nginx.conf
nginx_conf() {
  local dir=$1 port=$2 root=${3:-}
  local site='location / { return 200 "Hello, World!"; }'
  [ -n "$root" ] && site="root $root;"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 20000; }
http { access_log off; keepalive_timeout 600; keepalive_requests 1000000;
  server { listen 127.0.0.1:$port backlog=4096; $site } }
CONF
}
