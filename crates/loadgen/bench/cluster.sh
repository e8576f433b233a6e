#!/usr/bin/env bash
# Fanout across a cluster: ferrio nodes on one real redis-server, every broadcast carried to
# the other nodes on the Redis Stream, against the same load on a single node.
#
#   crates/loadgen/bench/cluster.sh               # every case, REPS=3, full sizes (about 90 s)
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
# redis-server (utime + stime from /proc, the loadgen's --server-pid list).
#
# Cases:
#   fanout-cluster      fanout to 1 000 websocket receivers, 1 000 messages, 16 in flight
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
# CLOSE_TIMEOUT, POLLING_DURATION (seconds), NODE (node binary, for the table), REDIS_SERVER.
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
  "fanout-xhr-cluster|single 1-node 3-nodes|fanout --transport xhr-polling --receivers 100 --messages 500 --window 16|fanout --transport xhr-polling --receivers 6 --messages 20 --window 16"
  "bus-burst|3-nodes|$burst_full --pause-ms $PAUSE_MS|$burst_quick --pause-ms $PAUSE_MS"
  "echo-xhr-cross|3-nodes 3-rotate|echo --transport xhr-polling --clients 50 --round-trips 400|echo --transport xhr-polling --clients 5 --round-trips 20"
  "echo-ws-take|3-nodes 3-rotate|echo --transport websocket --clients 50 --round-trips 1000|echo --transport websocket --clients 5 --round-trips 20"
  "handshake-take|3-nodes 3-rotate|handshake --first-get --workers 16 --count 20000|handshake --first-get --workers 2 --count 100"
  "echo-xhr-cross-1|3-nodes 3-rotate|echo --transport xhr-polling --clients 1 --round-trips 2000|echo --transport xhr-polling --clients 1 --round-trips 20"
  "handshake-take-1|3-nodes 3-rotate|handshake --first-get --workers 1 --count 2000|handshake --first-get --workers 1 --count 20"
)

bench_select "${CASES:-}" CASES "${CASES_ALL[@]}"

# --- build ----------------------------------------------------------------------------------
bench_build

bench_results_dir cluster- 1
redis_version="$("$REDIS_SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
bench_meta ",\"redis\":\"$redis_version\",\"pause_ms\":$PAUSE_MS"

# --- processes ------------------------------------------------------------------------------
redis_pid=""
redis_url=""
redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/ferrio-cluster-bench.XXXXXX")"
node_pids=()
node_addrs=()
node_admins=()

stop_nodes() {
  local pid
  for pid in "${node_pids[@]}"; do bench_stop "$pid"; done
  node_pids=()
  node_addrs=()
  node_admins=()
}

cleanup() {
  stop_nodes
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
      extra=()
      # The third node (index 2 in the --server list) is the one stopped.
      [[ "$name" == bus-burst ]] && extra+=(--pause-server 2 --pause-pid "${node_pids[2]}")
      # Each session's requests spread over the nodes, so that they are taken over and forwarded.
      [[ "$config" == 3-rotate ]] && extra+=(--route rotate)
      # The machine's load just before the run: other work on the same cores shows here.
      load="$(bench_loadavg)"
      echo "cluster.sh: [$done_runs/$total] rep $rep $name on $config (load $load)" >&2
      rc=0
      # shellcheck disable=SC2086 # $args is a list of flags
      line="$("$loadgen" $args "${extra[@]}" --server "$(join_by , "${node_addrs[@]}")" \
        --server-pid "$(join_by , "${pids[@]}")" --label "$config" \
        --timeout 900 --op-timeout 60 2> "$out/logs/$tag.loadgen.err")" || rc=$?
      counters="$(cluster_counters)"
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
