#!/usr/bin/env bash
# ferrio against socket.io 4.8 (Node) and socketioxide, with Socket.IO 5 clients (Engine.IO 4)
# on the same chat app under the same load; and ferrio's mixed room, where 0.9, Socket.IO 4
# and Socket.IO 5 clients hear one another, which neither peer can serve.
#
#   crates/loadgen/bench/modern.sh                  # every case, REPS=3 repetitions
#   QUICK=1 crates/loadgen/bench/modern.sh          # tiny sizes and short timers: a smoke test
#   REPS=5 SCENARIOS="echo-ws churn" crates/loadgen/bench/modern.sh
#
# Builds ferrio and ferrio-loadgen in release, the socketioxide peer in release
# (bench/socketioxide/, its own lock file), installs socket.io 4.8 into bench/node/ (npm ci),
# then for each repetition and case starts a fresh server, runs ferrio-loadgen against it and
# stops it, the three servers in a different order each repetition. Prints a Markdown table of
# medians and ferrio's ratios to each peer and writes it, with every run's JSON line and the
# servers' logs, to $RESULTS_DIR/modern-<UTC time>/ (default crates/loadgen/bench/results/,
# ignored by git).
#
# socketioxide runs on a current-thread runtime (see bench/socketioxide/src/main.rs): on the
# multi-threaded one, two lines of one client can be handled at once and broadcast out of
# order, which the loadgen's order check catches.
#
# Every server runs the chat of bench/node/chat4.js (toServer → toClient to all, binary data
# handed on; message acked with its text) in its fastest production configuration: no
# logging, no compression, no connection state recovery.
#
# Environment: REPS (default 3), QUICK (0/1), SCENARIOS (space-separated case names, default
# all), RESULTS_DIR, PING_INTERVAL and PING_TIMEOUT (seconds, the same for every server: an
# abandoned session is let go after both), IDLE_HOLD (seconds), NODE (node binary). Exits
# non-zero if any run failed (the table says which).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
QUICK="${QUICK:-0}"
REPS="${REPS:-3}"
NODE="${NODE:-node}"
RESULTS_DIR="${RESULTS_DIR:-$here/results}"

bench_check_reps

if [[ "$QUICK" == 1 ]]; then
  PING_INTERVAL="${PING_INTERVAL:-1}"
  PING_TIMEOUT="${PING_TIMEOUT:-1}"
  IDLE_HOLD="${IDLE_HOLD:-3}"
else
  PING_INTERVAL="${PING_INTERVAL:-10}"
  PING_TIMEOUT="${PING_TIMEOUT:-10}"
  IDLE_HOLD="${IDLE_HOLD:-25}"
fi
ping_interval_ms=$(( PING_INTERVAL * 1000 ))
ping_timeout_ms=$(( PING_TIMEOUT * 1000 ))

# case name | servers | full-size arguments | QUICK=1 arguments
all_servers="ferrio socketioxide node4"
CASES=(
  "idle-ws|$all_servers|idle --protocol eio4 --transport websocket --sessions 10000 --hold $IDLE_HOLD|idle --protocol eio4 --transport websocket --sessions 50 --hold $IDLE_HOLD"
  "idle-polling|$all_servers|idle --protocol eio4 --transport xhr-polling --sessions 1000 --hold $IDLE_HOLD|idle --protocol eio4 --transport xhr-polling --sessions 20 --hold $IDLE_HOLD"
  "handshake-upgrade|$all_servers|handshake --protocol eio4 --upgrade --workers 16 --count 4000|handshake --protocol eio4 --upgrade --workers 2 --count 50"
  "handshake-ws|$all_servers|handshake --protocol eio4 --websocket --workers 16 --count 4000|handshake --protocol eio4 --websocket --workers 2 --count 50"
  "fanout-ws|$all_servers|fanout --protocol eio4 --transport websocket --receivers 1000 --messages 1000 --window 16|fanout --protocol eio4 --transport websocket --receivers 10 --messages 50"
  "fanout-mixed|ferrio|fanout --protocol eio4,0.9,eio3 --transport websocket --receivers 1000 --messages 1000 --window 16|fanout --protocol eio4,0.9,eio3 --transport websocket --receivers 12 --messages 50"
  "fanout-binary|$all_servers|fanout --protocol eio4 --transport websocket --receivers 1000 --messages 100 --window 16 --payload 0 --binary 16384|fanout --protocol eio4 --transport websocket --receivers 10 --messages 20 --binary 16384"
  "echo-ws|$all_servers|echo --protocol eio4 --transport websocket --clients 50 --round-trips 1000|echo --protocol eio4 --transport websocket --clients 5 --round-trips 20"
  "echo-polling|$all_servers|echo --protocol eio4 --transport xhr-polling --clients 50 --round-trips 400|echo --protocol eio4 --transport xhr-polling --clients 5 --round-trips 20"
  "churn|$all_servers|churn --protocol eio4 --sessions 10000 --concurrency 32|churn --protocol eio4 --sessions 50 --concurrency 8"
)

bench_select "${SCENARIOS:-}" SCENARIOS "${CASES[@]}"

# --- build and install ----------------------------------------------------------------------
bench_build

echo "modern.sh: building the socketioxide peer (release)" >&2
sioxide_dir="$here/socketioxide"
(cd "$sioxide_dir" && CARGO_TARGET_DIR="$sioxide_dir/target" cargo build --release --locked --quiet)
sioxide="$sioxide_dir/target/release/ferrio-bench-socketioxide"
sioxide_version="$(sed -n '/^name = "socketioxide"$/{n;s/^version = "\(.*\)"$/\1/p}' "$sioxide_dir/Cargo.lock")"

node_dir="$here/node"
if [[ ! -f "$node_dir/node_modules/socket.io-4/package.json" \
      || "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]]; then
  echo "modern.sh: installing socket.io 4.8 (npm ci)" >&2
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
sio4_version="$("$NODE" -p "require('$node_dir/node_modules/socket.io-4/package.json').version")"

bench_results_dir "modern-" 1
HEARTBEAT_INTERVAL="$PING_INTERVAL" HEARTBEAT_TIMEOUT="$PING_TIMEOUT" CLOSE_TIMEOUT=0 POLLING_DURATION=0 \
  bench_meta ",
 \"peers\":{\"socketioxide\":\"$sioxide_version\",\"node4\":\"socket.io $sio4_version, Node $("$NODE" --version)\"},
 \"ping\":{\"interval_s\":$PING_INTERVAL,\"timeout_s\":$PING_TIMEOUT}"

# --- servers --------------------------------------------------------------------------------
server_pid=""
server_addr=""
admin_addr=""

cleanup() {
  bench_stop "$server_pid"
}
trap cleanup EXIT

# start_server ferrio|socketioxide|node4 LOGNAME WITH_ADMIN: sets server_pid, server_addr,
# admin_addr.
start_server() {
  local kind="$1" log="$out/logs/$2" with_admin="$3" rc=0 admin_port=0
  admin_addr=""
  case "$kind" in
    ferrio)
      if [[ "$with_admin" == 1 ]]; then
        admin_port="$(bench_free_port)"
        admin_addr="127.0.0.1:$admin_port"
      fi
      bench_start "$log" "$kind" env FERRIO_LOG=warn "$ferrio" --port 0 --bind 127.0.0.1 \
        --app chat --admin-port "$admin_port" --admin-bind 127.0.0.1 \
        --transports websocket,xhr-polling "${bench_lifted_caps[@]}" \
        --engine-ping-interval "$PING_INTERVAL" --engine-ping-timeout "$PING_TIMEOUT" || rc=$?
      ;;
    socketioxide)
      bench_start "$log" "$kind" "$sioxide" --port 0 --bind 127.0.0.1 \
        --ping-interval "$ping_interval_ms" --ping-timeout "$ping_timeout_ms" || rc=$?
      ;;
    node4)
      bench_start "$log" "$kind" "$NODE" "$node_dir/chat4.js" --port 0 --bind 127.0.0.1 \
        --ping-interval "$ping_interval_ms" --ping-timeout "$ping_timeout_ms" || rc=$?
      ;;
  esac
  server_pid="$bench_pid"
  server_addr="$bench_addr"
  return "$rc"
}

# The order of the servers in repetition REP: each goes first in turn.
order_of() {
  case $(( $1 % 3 )) in
    1) echo "ferrio socketioxide node4" ;;
    2) echo "node4 ferrio socketioxide" ;;
    0) echo "socketioxide node4 ferrio" ;;
  esac
}

# --- runs -----------------------------------------------------------------------------------
failures=0
total=0
for entry in "${selected[@]}"; do
  rest="${entry#*|}"
  read -r -a servers <<< "${rest%%|*}"
  total=$(( total + REPS * ${#servers[@]} ))
done
done_runs=0
for rep in $(seq 1 "$REPS"); do
  read -r -a order <<< "$(order_of "$rep")"
  for entry in "${selected[@]}"; do
    name="${entry%%|*}"
    rest="${entry#*|}"
    case_servers=" ${rest%%|*} "
    args="$(bench_sized "${rest#*|}")"
    for kind in "${order[@]}"; do
      [[ "$case_servers" == *" $kind "* ]] || continue
      done_runs=$(( done_runs + 1 ))
      with_admin=0
      extra=()
      # ferrio's own gauge counts what churn leaves; the peers serve theirs at /stats. ferrio's
      # allocator also counts the heap idle sessions take, free of RSS's page effects.
      if [[ "$kind" == ferrio && ( "$name" == churn || "$name" == idle-* ) ]]; then
        with_admin=1
      elif [[ "$name" == churn ]]; then
        extra+=(--stats-path /stats)
      fi
      start_server "$kind" "$name-$kind-$rep" "$with_admin"
      [[ -n "$admin_addr" ]] && extra+=(--admin "$admin_addr")
      echo "modern.sh: [$done_runs/$total] rep $rep $name on $kind" >&2
      bench_measure "$name" "$kind" "$rep" "$args" "${extra[@]}"
    done
  done
done

"$NODE" "$here/modern-report.js" "$out" > "$out/table.md"
cat "$out/table.md"
echo "modern.sh: results in $out" >&2
if [[ $failures -gt 0 ]]; then
  echo "modern.sh: $failures run(s) failed" >&2
  exit 1
fi
