#!/usr/bin/env bash
# ferrio against socket.io 0.9.19 on Node, running the same chat app, under the same load.
#
#   crates/loadgen/bench/run.sh                  # every scenario, REPS=3 repetitions
#   QUICK=1 crates/loadgen/bench/run.sh          # tiny sizes and short timers: a smoke test
#   REPS=5 SCENARIOS="echo-ws churn" crates/loadgen/bench/run.sh
#   BASELINE=/path/to/older/ferrio crates/loadgen/bench/run.sh   # against an earlier build
#
# Builds ferrio and ferrio-loadgen in release, installs socket.io 0.9.19 into bench/node/
# (npm ci), then for each repetition and scenario starts a fresh server, runs ferrio-loadgen
# against it and stops it: ferrio then Node on odd repetitions, Node then ferrio on even
# ones. Prints a Markdown table of medians and ferrio/Node ratios and writes it, with every
# run's JSON line and the servers' logs, to $RESULTS_DIR/<UTC time>/ (default
# crates/loadgen/bench/results/, ignored by git).
#
# With BASELINE set to another ferrio binary (an earlier commit's release build), that binary
# is the peer instead of Node, with the same flags as ferrio: what a change costs or saves.
#
# Environment: REPS (default 3), QUICK (0/1), SCENARIOS (space-separated case names, default
# all), BASELINE (a ferrio binary to run as the peer instead of Node), RESULTS_DIR,
# HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, CLOSE_TIMEOUT, POLLING_DURATION (seconds; the same
# settings for both servers), IDLE_HOLD (seconds), MOST_SESSIONS (the
# idle-ws-most case: 100 000, or what the open-files limit allows), MOST_POLLING (the
# idle-xhr-most case: 10 000, or half of MOST_SESSIONS), ECHO_WS_ROUND_TRIPS and
# ECHO_XHR_ROUND_TRIPS (each echo client's round trips: 1 000 and 400; more for CPU figures
# finer than the 10 ms clock tick allows, as when two builds are compared), NODE (node binary).
# Exits non-zero if any run failed (the table says which).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
QUICK="${QUICK:-0}"
REPS="${REPS:-3}"
NODE="${NODE:-node}"
BASELINE="${BASELINE:-}"
RESULTS_DIR="${RESULTS_DIR:-$here/results}"

bench_check_reps

if [[ "$QUICK" == 1 ]]; then
  HEARTBEAT_INTERVAL="${HEARTBEAT_INTERVAL:-2}"
  HEARTBEAT_TIMEOUT="${HEARTBEAT_TIMEOUT:-6}"
  CLOSE_TIMEOUT="${CLOSE_TIMEOUT:-3}"
  POLLING_DURATION="${POLLING_DURATION:-2}"
  IDLE_HOLD="${IDLE_HOLD:-3}"
else
  HEARTBEAT_INTERVAL="${HEARTBEAT_INTERVAL:-10}"
  HEARTBEAT_TIMEOUT="${HEARTBEAT_TIMEOUT:-30}"
  CLOSE_TIMEOUT="${CLOSE_TIMEOUT:-10}"
  POLLING_DURATION="${POLLING_DURATION:-10}"
  IDLE_HOLD="${IDLE_HOLD:-25}"
fi

# The most sessions one process can hold here: one descriptor each, under the hard limit on
# open files (which an unprivileged process cannot raise), less ferrio's reserve (a tenth of
# the limit, 128 to 1 024 descriptors, which `--max-connections` keeps for its admin listener
# and logs) and some for the server itself.
hard_files="$(ulimit -Hn)"
if [[ "$hard_files" == unlimited ]]; then hard_files=1048576; fi
reserve=$(( hard_files / 10 < 128 ? 128 : (hard_files / 10 > 1024 ? 1024 : hard_files / 10) ))
MOST_SESSIONS="${MOST_SESSIONS:-$(( hard_files - reserve > 100500 ? 100000 : hard_files - reserve - 500 ))}"
# A polling session holds two connections (its waiting GET, its POSTs'): 10 000, or half of
# what the descriptors allow.
MOST_POLLING="${MOST_POLLING:-$(( MOST_SESSIONS / 2 > 10000 ? 10000 : MOST_SESSIONS / 2 ))}"
ECHO_WS_ROUND_TRIPS="${ECHO_WS_ROUND_TRIPS:-1000}"
ECHO_XHR_ROUND_TRIPS="${ECHO_XHR_ROUND_TRIPS:-400}"

# case name | full-size arguments | QUICK=1 arguments
CASES=(
  "idle-ws|idle --transport websocket --sessions 10000 --hold $IDLE_HOLD|idle --transport websocket --sessions 50 --hold $IDLE_HOLD"
  "idle-ws-most|idle --transport websocket --sessions $MOST_SESSIONS --hold $IDLE_HOLD|idle --transport websocket --sessions 100 --hold $IDLE_HOLD"
  "idle-xhr|idle --transport xhr-polling --sessions 1000 --hold $IDLE_HOLD|idle --transport xhr-polling --sessions 20 --hold $IDLE_HOLD"
  "idle-htmlfile|streams --transport htmlfile --sessions 1000 --hold $IDLE_HOLD|streams --transport htmlfile --sessions 20 --hold $IDLE_HOLD"
  "idle-xhr-most|idle --transport xhr-polling --sessions $MOST_POLLING --hold $IDLE_HOLD|idle --transport xhr-polling --sessions 60 --hold $IDLE_HOLD"
  "fanout-ws|fanout --transport websocket --receivers 1000 --messages 1000 --window 16|fanout --transport websocket --receivers 10 --messages 50"
  "fanout-xhr|fanout --transport xhr-polling --receivers 100 --messages 500 --window 16|fanout --transport xhr-polling --receivers 5 --messages 20"
  "echo-ws|echo --transport websocket --clients 50 --round-trips $ECHO_WS_ROUND_TRIPS|echo --transport websocket --clients 5 --round-trips 20"
  "echo-xhr|echo --transport xhr-polling --clients 50 --round-trips $ECHO_XHR_ROUND_TRIPS|echo --transport xhr-polling --clients 5 --round-trips 20"
  "handshake|handshake --workers 16 --count 20000|handshake --workers 2 --count 100"
  "handshake-ws|handshake --websocket --workers 16 --count 4000|handshake --websocket --workers 2 --count 50"
  "churn|churn --sessions 10000 --concurrency 32|churn --sessions 50 --concurrency 8"
)

bench_select "${SCENARIOS:-}" SCENARIOS "${CASES[@]}"

# --- build and install ----------------------------------------------------------------------
bench_build

node_dir="$here/node"
if [[ -n "$BASELINE" ]]; then
  if [[ ! -x "$BASELINE" ]]; then
    echo "run.sh: BASELINE=$BASELINE is not an executable" >&2
    exit 2
  fi
  peer=baseline
  peer_label="$("$BASELINE" --version 2>/dev/null || echo ferrio), $BASELINE"
elif [[ ! -f "$node_dir/node_modules/socket.io/package.json" \
      || "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]]; then
  echo "run.sh: installing socket.io 0.9.19 (npm ci)" >&2
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
if [[ -z "$BASELINE" ]]; then
  peer=node
  peer_label="$("$NODE" --version)"
fi

bench_results_dir "" 1
bench_meta ",
 \"peer\":\"$peer\",
 \"node\":\"$peer_label\""

# --- servers --------------------------------------------------------------------------------
server_pid=""
server_addr=""
admin_addr=""

cleanup() {
  bench_stop "$server_pid"
}
trap cleanup EXIT

# start_server ferrio|baseline|node LOGNAME WITH_ADMIN: sets server_pid, server_addr,
# admin_addr.
start_server() {
  local kind="$1" log="$out/logs/$2" with_admin="$3" rc=0
  admin_addr=""
  if [[ "$kind" != node ]]; then
    local admin_port=0 bin="$ferrio"
    [[ "$kind" == baseline ]] && bin="$BASELINE"
    if [[ "$with_admin" == 1 ]]; then
      admin_port="$(bench_free_port)"
      admin_addr="127.0.0.1:$admin_port"
    fi
    bench_start "$log" "$kind" env FERRIO_LOG=warn "$bin" --port 0 --bind 127.0.0.1 --app chat \
      --admin-port "$admin_port" --admin-bind 127.0.0.1 --transports websocket,xhr-polling,htmlfile \
      "${bench_lifted_caps[@]}" \
      --heartbeat-interval "$HEARTBEAT_INTERVAL" --heartbeat-timeout "$HEARTBEAT_TIMEOUT" \
      --close-timeout "$CLOSE_TIMEOUT" --polling-duration "$POLLING_DURATION" || rc=$?
  else
    bench_start "$log" "$kind" "$NODE" "$node_dir/chat.js" --port 0 --bind 127.0.0.1 \
      --heartbeat-interval "$HEARTBEAT_INTERVAL" --heartbeat-timeout "$HEARTBEAT_TIMEOUT" \
      --close-timeout "$CLOSE_TIMEOUT" --polling-duration "$POLLING_DURATION" || rc=$?
  fi
  server_pid="$bench_pid"
  server_addr="$bench_addr"
  return "$rc"
}

# --- runs -----------------------------------------------------------------------------------
failures=0
total=$(( REPS * ${#selected[@]} * 2 ))
done_runs=0
for rep in $(seq 1 "$REPS"); do
  if (( rep % 2 == 1 )); then order=(ferrio "$peer"); else order=("$peer" ferrio); fi
  for entry in "${selected[@]}"; do
    name="${entry%%|*}"
    args="$(bench_sized "${entry#*|}")"
    for kind in "${order[@]}"; do
      done_runs=$(( done_runs + 1 ))
      with_admin=0
      extra=()
      if [[ "$name" == churn ]]; then
        extra+=(--polling-duration "$POLLING_DURATION")
        [[ "$kind" != node ]] && with_admin=1
      fi
      # ferrio's allocator counts the heap idle sessions take, free of RSS's page effects.
      if [[ "$name" == idle-* && "$kind" != node ]]; then
        with_admin=1
      fi
      start_server "$kind" "$name-$kind-$rep" "$with_admin"
      [[ -n "$admin_addr" ]] && extra+=(--admin "$admin_addr")
      echo "run.sh: [$done_runs/$total] rep $rep $name on $kind" >&2
      bench_measure "$name" "$kind" "$rep" "$args" "${extra[@]}"
    done
  done
done

"$NODE" "$here/report.js" "$out" > "$out/table.md"
cat "$out/table.md"
echo "run.sh: results in $out" >&2
if [[ $failures -gt 0 ]]; then
  echo "run.sh: $failures run(s) failed" >&2
  exit 1
fi
