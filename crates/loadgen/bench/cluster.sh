#!/usr/bin/env bash
# Fanout across a cluster: ferrio nodes on one real redis-server, every broadcast carried to
# the other nodes on the Redis Stream, against the same load on a single node.
#
#   crates/loadgen/bench/cluster.sh               # every case, REPS=3, full sizes (about 2 min)
#   QUICK=1 crates/loadgen/bench/cluster.sh       # tiny sizes: a smoke test
#   REPS=5 CASES="bus-burst" crates/loadgen/bench/cluster.sh
#
# Builds ferrio and ferrio-loadgen in release (--locked), starts redis-server on a free port
# (no RDB, no AOF, its files in a temporary directory) and then, for every repetition and
# case, fresh ferrio nodes (chat app, logging off) for each configuration, runs
# ferrio-loadgen against them and stops them. Configurations, in this order on odd
# repetitions and the reverse on even ones:
#
#   single    one node with no cluster flags: the baseline
#   1-node    one node joined to the cluster on Redis (--cluster-redis, --cluster-name
#             bench<rep>): every broadcast is also appended to the stream, read by nobody else
#   3-nodes   three nodes in the cluster; the loadgen opens receiver i on node i mod 3 and the
#             sender on the first, so two thirds of the deliveries cross Redis; in the
#             forwarding cases, session i is handshaken on node i mod 3 and every request of
#             it goes there (the loadgen's default --route owner)
#   3-rotate  the forwarding cases only: three nodes, the loadgen given --route rotate:
#             session i is handshaken on node i mod 3, its first transport request (the first
#             GET, or the websocket upgrade) goes to the next node, which takes the session
#             over on the node-to-node link, and every later GET and POST to the two other
#             nodes in turn, each forwarded over the link to the node serving it
#
# Server CPU is summed over every ferrio process of the configuration and, when clustered,
# redis-server (utime + stime from /proc, the loadgen's --server-pid list). In fanout-nginx,
# nginx's CPU is measured over the same deliveries and reported apart (--proxy-pid).
#
# Cases:
#   fanout-cluster      fanout to 1 000 websocket receivers, 1 000 messages, 16 in flight
#   fanout-nginx        fanout-cluster's sizes with every client connecting through a real
#                       nginx (NGINX, default the one on PATH or /usr/sbin/nginx) balancing
#                       round-robin per request over the nodes, no ip_hash, no buffering,
#                       websocket upgrades passed (docker/nginx.conf's proxy; one foreground
#                       process, daemon off and master_process off, its pid, lock and
#                       temporary files in a directory of its own, its logs with the run's), on
#                       single (nginx over one node without cluster flags) and 3-nodes (nginx
#                       over three clustered nodes). The receivers open one at a time
#                       (--concurrency 1), so that on 3-nodes each session's handshake and its
#                       upgrade are consecutive requests and land on different nodes: every
#                       session is taken over by the node its upgrade reached, and nothing is
#                       forwarded afterwards. Server CPU as in the other cases, nginx's apart;
#                       target: CPU per delivery on 3-nodes at most 1.05x the single node's
#   fanout-xhr-cluster  fanout to 100 xhr-polling receivers, 500 messages, 16 in flight
#   bus-burst           3-nodes only: the sender flat out (a wide window) to websocket
#                       receivers while the third node is stopped (SIGSTOP) for PAUSE_MS once
#                       PAUSE_AFTER messages are sent, then resumed (SIGCONT); its receivers must
#                       still get every message once and in order (the loadgen fails the run
#                       otherwise), and the catch-up time runs from SIGCONT until the last of
#                       them has the last message. PAUSE_MS stays under the node TTL (10 s), so
#                       the node does not fence itself.
#   echo-xhr-cross      xhr-polling echo, 50 clients x 400 round trips (run.sh's echo-xhr), on
#                       3-nodes and 3-rotate: what forwarding every GET and POST costs a round
#                       trip (target: at most 100 us more at p50)
#   echo-ws-take        websocket echo, 50 clients x 1 000 round trips (run.sh's echo-ws), on
#                       3-nodes and 3-rotate: the upgrade takes the session over and nothing is
#                       forwarded after it (expected: at most 1.05x the CPU per round trip)
#   handshake-take      16 workers, 20 000 sessions, each a handshake, its first xhr-polling GET
#                       (answered 1::) and a 0:: POST to the node serving it, on 3-nodes and
#                       3-rotate: what a take costs a session, in CPU and latency
#   echo-xhr-cross-1    echo-xhr-cross with one client (2 000 round trips) and
#   handshake-take-1    handshake-take with one worker (2 000 sessions): with the cores not
#                       saturated, the latency is the requests' own, not the queue of the
#                       other clients' work
#
# Prints a Markdown table of medians and writes it, with every run's JSON line (and the load
# average just before it, and the cluster's counters after it: sessions taken over and handed
# over, requests forwarded, link failures, summed over the nodes' /metrics) and the logs, to $RESULTS_DIR/cluster-<UTC time>/ (default
# crates/loadgen/bench/results/, ignored by git).
#
# Environment: REPS (default 3), QUICK (0/1), CASES (space-separated case names, default
# all), RESULTS_DIR, PAUSE_MS (default 3000), HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT,
# CLOSE_TIMEOUT, POLLING_DURATION (seconds), NODE (node binary, for the table), REDIS_SERVER,
# NGINX (fanout-nginx only).
# Exits non-zero if any run failed (the table says which).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
QUICK="${QUICK:-0}"
REPS="${REPS:-3}"
NODE="${NODE:-node}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
RESULTS_DIR="${RESULTS_DIR:-$here/results}"
PAUSE_MS="${PAUSE_MS:-3000}"

bench_check_reps
if [[ ! "$PAUSE_MS" =~ ^[0-9]+$ ]] || (( PAUSE_MS >= 10000 )); then
  echo "cluster.sh: PAUSE_MS must be a number of milliseconds under the node TTL (10 000)" >&2
  exit 2
fi

if [[ "$QUICK" == 1 ]]; then
  HEARTBEAT_INTERVAL="${HEARTBEAT_INTERVAL:-2}"
  HEARTBEAT_TIMEOUT="${HEARTBEAT_TIMEOUT:-6}"
  CLOSE_TIMEOUT="${CLOSE_TIMEOUT:-3}"
  POLLING_DURATION="${POLLING_DURATION:-2}"
else
  HEARTBEAT_INTERVAL="${HEARTBEAT_INTERVAL:-10}"
  HEARTBEAT_TIMEOUT="${HEARTBEAT_TIMEOUT:-30}"
  CLOSE_TIMEOUT="${CLOSE_TIMEOUT:-10}"
  POLLING_DURATION="${POLLING_DURATION:-10}"
fi

# case name | configurations | full-size arguments | QUICK=1 arguments
burst_full="fanout --transport websocket --receivers 300 --messages 6000 --window 256 --pause-after 500"
burst_quick="fanout --transport websocket --receivers 12 --messages 400 --window 64 --pause-after 50"
CASES_ALL=(
  "fanout-cluster|single 1-node 3-nodes|fanout --transport websocket --receivers 1000 --messages 1000 --window 16|fanout --transport websocket --receivers 12 --messages 50 --window 16"
  "fanout-nginx|single 3-nodes|fanout --transport websocket --receivers 1000 --messages 1000 --window 16 --concurrency 1|fanout --transport websocket --receivers 12 --messages 50 --window 16 --concurrency 1"
  "fanout-xhr-cluster|single 1-node 3-nodes|fanout --transport xhr-polling --receivers 100 --messages 500 --window 16|fanout --transport xhr-polling --receivers 6 --messages 20 --window 16"
  "bus-burst|3-nodes|$burst_full --pause-ms $PAUSE_MS|$burst_quick --pause-ms $PAUSE_MS"
  "echo-xhr-cross|3-nodes 3-rotate|echo --transport xhr-polling --clients 50 --round-trips 400|echo --transport xhr-polling --clients 5 --round-trips 20"
  "echo-ws-take|3-nodes 3-rotate|echo --transport websocket --clients 50 --round-trips 1000|echo --transport websocket --clients 5 --round-trips 20"
  "handshake-take|3-nodes 3-rotate|handshake --first-get --workers 16 --count 20000|handshake --first-get --workers 2 --count 100"
  "echo-xhr-cross-1|3-nodes 3-rotate|echo --transport xhr-polling --clients 1 --round-trips 2000|echo --transport xhr-polling --clients 1 --round-trips 20"
  "handshake-take-1|3-nodes 3-rotate|handshake --first-get --workers 1 --count 2000|handshake --first-get --workers 1 --count 20"
)

bench_select "${CASES:-}" CASES "${CASES_ALL[@]}"
nginx_selected=0
for entry in "${selected[@]}"; do
  [[ "${entry%%|*}" == fanout-nginx ]] && nginx_selected=1
done
if [[ "$nginx_selected" == 1 && ! -x "$NGINX" ]]; then
  echo "cluster.sh: fanout-nginx needs nginx (NGINX=$NGINX is not an executable)" >&2
  exit 2
fi

# --- build ----------------------------------------------------------------------------------
bench_build

bench_results_dir cluster- 1
redis_version="$("$REDIS_SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
nginx_meta=""
if [[ "$nginx_selected" == 1 ]]; then
  # `nginx -v` writes "nginx version: nginx/1.22.1" to stderr.
  nginx_meta=",\"nginx\":\"$("$NGINX" -v 2>&1 | sed -n 's#.*nginx/\([^ ]*\).*#\1#p')\""
fi
bench_meta ",\"redis\":\"$redis_version\",\"pause_ms\":$PAUSE_MS$nginx_meta"

# --- processes ------------------------------------------------------------------------------
redis_pid=""
redis_url=""
redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/ferrio-cluster-bench.XXXXXX")"
node_pids=()
node_addrs=()
node_admins=()
nginx_pid=""
nginx_addr=""
nginx_dir=""

stop_nodes() {
  local pid
  for pid in "${node_pids[@]}"; do bench_stop "$pid"; done
  node_pids=()
  node_addrs=()
  node_admins=()
}

cleanup() {
  stop_nodes
  stop_nginx
  bench_stop "$redis_pid"
  rm -rf "$redis_dir"
}
trap cleanup EXIT

start_redis() {
  local port log="$out/logs/redis.log" _
  port="$(bench_free_port)"
  "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$redis_dir" --logfile "$log" --daemonize no &
  redis_pid=$!
  redis_url="redis://127.0.0.1:$port/"
  for _ in $(seq 1 100); do
    if grep -q "Ready to accept connections" "$log" 2>/dev/null; then return 0; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "cluster.sh: redis-server did not start; see $log" >&2
  return 1
}

# start_node LOGNAME CLUSTER_NAME ("" for no cluster): appends to node_pids and node_addrs.
start_node() {
  local log="$out/logs/$1" cluster_name="$2" admin_port rc=0
  local cluster=()
  [[ -n "$cluster_name" ]] && cluster=(--cluster-redis "$redis_url" --cluster-name "$cluster_name" --cluster-secret "bench cluster secret, loopback only")
  # The admin listener, on loopback, serves the cluster's counters read after each run.
  admin_port="$(bench_free_port)"
  bench_start "$log" ferrio env FERRIO_LOG=error "$ferrio" --port 0 --bind 127.0.0.1 --app chat \
    --admin-port "$admin_port" --transports websocket,xhr-polling "${bench_lifted_caps[@]}" \
    --heartbeat-interval "$HEARTBEAT_INTERVAL" --heartbeat-timeout "$HEARTBEAT_TIMEOUT" \
    --close-timeout "$CLOSE_TIMEOUT" --polling-duration "$POLLING_DURATION" \
    "${cluster[@]}" || rc=$?
  node_pids+=("$bench_pid")
  [[ $rc -ne 0 ]] && return "$rc"
  node_addrs+=("$bench_addr")
  node_admins+=("127.0.0.1:$admin_port")
}

# start_nginx LOGNAME: a real nginx on a free loopback port in front of the running nodes,
# balancing every request round-robin over them with no stickiness: the HTTP proxy of
# docker/nginx.conf and ferrio-testkit's nginx (no ip_hash, no keep-alive to the nodes, no
# buffering either way, WebSocket upgrades passed, one-hour timeouts). It runs as one
# foreground process (daemon off, master_process off), so that its one pid carries all of
# its CPU and a SIGKILL ends all of it; its pid, lock and temporary files live in a directory
# of its own and its error and access logs (the access log names the node of each request)
# go to LOGNAME.error.log and LOGNAME.access.log. Sets nginx_pid and nginx_addr.
start_nginx() {
  local log="$out/logs/$1" port addr _
  nginx_dir="$(mktemp -d "${TMPDIR:-/tmp}/ferrio-cluster-nginx.XXXXXX")"
  port="$(bench_free_port)"
  {
    cat <<EOF
master_process off;
pid "$nginx_dir/nginx.pid";
lock_file "$nginx_dir/nginx.lock";
error_log "$log.error.log" notice;

events {
    # Two connections a session (the client's and the node's), with room to spare.
    worker_connections 8192;
}

http {
    log_format upstreams '\$connection \$remote_addr:\$remote_port "\$request" \$status upstream=\$upstream_addr';
    access_log "$log.access.log" upstreams;
    client_body_temp_path "$nginx_dir/client_body";
    proxy_temp_path "$nginx_dir/proxy";
    fastcgi_temp_path "$nginx_dir/fastcgi";
    uwsgi_temp_path "$nginx_dir/uwsgi";
    scgi_temp_path "$nginx_dir/scgi";
    # The node's own body limits answer.
    client_max_body_size 0;

    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        '' close;
    }

    # Round-robin, no ip_hash, no hash, no keep-alive to the nodes.
    upstream ferrio {
EOF
    for addr in "${node_addrs[@]}"; do echo "        server $addr;"; done
    cat <<EOF
    }

    server {
        listen 127.0.0.1:$port;

        location / {
            proxy_pass http://ferrio;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }
    }
}
EOF
  } > "$nginx_dir/nginx.conf"
  : > "$log.err"
  # -e: the log of its start, before the configuration's own is opened, kept out of /var/log.
  "$NGINX" -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$log.error.log" -g "daemon off;" \
    2>> "$log.err" &
  nginx_pid=$!
  nginx_addr="127.0.0.1:$port"
  # nginx writes its pid file once it listens; a connection closed without a request then
  # shows it accepts, and reaches no node.
  for _ in $(seq 1 100); do
    if [[ "$(cat "$nginx_dir/nginx.pid" 2>/dev/null || true)" == "$nginx_pid" ]] \
      && (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "cluster.sh: nginx did not start; see $log.err and $log.error.log" >&2
  cat "$log.err" "$log.error.log" >&2 || true
  return 1
}

stop_nginx() {
  bench_stop "$nginx_pid"
  nginx_pid=""
  nginx_addr=""
  [[ -n "$nginx_dir" ]] && rm -rf "$nginx_dir"
  nginx_dir=""
}

# cluster_counters: the cluster's counters summed over the running nodes, as a JSON object
# (what the nodes took over, handed over and forwarded; all 0 on a node without cluster flags).
cluster_counters() {
  local admin name json="" total
  local all=""
  for admin in "${node_admins[@]}"; do
    all+="$(curl -sf --max-time 5 "http://$admin/metrics" || true)"$'\n'
  done
  for name in taken handed_over forwarded_out forwarded_in link_failures; do
    total="$(awk -v m="ferrio_cluster_${name}_total" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }' <<< "$all")"
    json+="${json:+,}\"$name\":$total"
  done
  echo "{$json}"
}

join_by() {
  local IFS="$1"
  shift
  echo "$*"
}

# --- runs -----------------------------------------------------------------------------------
start_redis
echo "cluster.sh: redis-server $redis_version on $redis_url (pid $redis_pid)" >&2

total=0
for entry in "${selected[@]}"; do
  configs="${entry#*|}"
  configs="${configs%%|*}"
  read -r -a list <<< "$configs"
  total=$(( total + ${#list[@]} * REPS ))
done

failures=0
done_runs=0
for rep in $(seq 1 "$REPS"); do
  for entry in "${selected[@]}"; do
    name="${entry%%|*}"
    rest="${entry#*|}"
    configs="${rest%%|*}"
    args="$(bench_sized "${rest#*|}")"
    read -r -a order <<< "$configs"
    if (( rep % 2 == 0 )); then
      reversed=()
      for (( i = ${#order[@]} - 1; i >= 0; i-- )); do reversed+=("${order[i]}"); done
      order=("${reversed[@]}")
    fi
    for config in "${order[@]}"; do
      done_runs=$(( done_runs + 1 ))
      tag="$name-$config-$rep"
      case "$config" in
        single) start_node "$tag-n1" "" ;;
        1-node) start_node "$tag-n1" "bench$rep" ;;
        3-nodes | 3-rotate)
          start_node "$tag-n1" "bench$rep"
          start_node "$tag-n2" "bench$rep"
          start_node "$tag-n3" "bench$rep"
          ;;
      esac
      pids=("${node_pids[@]}")
      [[ "$config" != single ]] && pids+=("$redis_pid")
      servers="$(join_by , "${node_addrs[@]}")"
      extra=()
      # Every client through nginx; its CPU is reported apart from the servers'.
      if [[ "$name" == fanout-nginx ]]; then
        start_nginx "$tag-nginx"
        servers="$nginx_addr"
        extra+=(--proxy-pid "$nginx_pid")
      fi
      # The third node (index 2 in the --server list) is the one stopped.
      [[ "$name" == bus-burst ]] && extra+=(--pause-server 2 --pause-pid "${node_pids[2]}")
      # Each session's requests spread over the nodes, so that they are taken over and forwarded.
      [[ "$config" == 3-rotate ]] && extra+=(--route rotate)
      # The machine's load just before the run: other work on the same cores shows here.
      load="$(bench_loadavg)"
      echo "cluster.sh: [$done_runs/$total] rep $rep $name on $config (load $load)" >&2
      rc=0
      # shellcheck disable=SC2086 # $args is a list of flags
      line="$("$loadgen" $args "${extra[@]}" --server "$servers" \
        --server-pid "$(join_by , "${pids[@]}")" --label "$config" \
        --timeout 900 --op-timeout 60 2> "$out/logs/$tag.loadgen.err")" || rc=$?
      counters="$(cluster_counters)"
      stop_nginx
      stop_nodes
      if [[ $rc -ne 0 ]]; then
        failures=$(( failures + 1 ))
        echo "cluster.sh: FAILED (exit $rc): $(cat "$out/logs/$tag.loadgen.err")" >&2
      fi
      [[ -z "$line" ]] && line=null
      printf '{"case":"%s","config":"%s","rep":%d,"loadavg":%s,"exit":%d,"cluster":%s,"result":%s}\n' \
        "$name" "$config" "$rep" "$load" "$rc" "$counters" "$line" >> "$runs"
    done
  done
done

"$NODE" "$here/cluster-report.js" "$out" > "$out/table.md"
cat "$out/table.md"
echo "cluster.sh: results in $out" >&2
if [[ $failures -gt 0 ]]; then
  echo "cluster.sh: $failures run(s) failed" >&2
  exit 1
fi
