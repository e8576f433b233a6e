#!/usr/bin/env bash
# Where ferrio's CPU time goes: runs one load against a fresh ferrio under `perf record -g`
# and sorts the samples into buckets (kernel TCP/IP, system call entry, the runtime, HTTP,
# WebSocket framing, the hub, the allocator…) with profile-report.js. The loads are those
# of run.sh's cases, longer, so that the profile has enough samples. BENCHMARKS.md's "Where
# the time goes" comes from it.
#
#   crates/loadgen/bench/profile.sh [echo-ws|echo-xhr|handshake|fanout-ws ...]
#
# Needs `perf` (Debian's linux-perf) allowed to sample kernel stacks
# (kernel.perf_event_paranoid ≤ 1, or root). Profiles land in RESULTS_DIR (default
# results/<time>-profile). Environment: NODE (node binary).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
NODE="${NODE:-node}"

declare -A LOADS=(
  [echo-ws]="echo --transport websocket --clients 50 --round-trips 3000"
  [echo-xhr]="echo --transport xhr-polling --clients 50 --round-trips 800"
  [handshake]="handshake --workers 16 --count 60000"
  [fanout-ws]="fanout --transport websocket --receivers 1000 --messages 3000 --window 16"
)
names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(echo-ws echo-xhr handshake fanout-ws)
for name in "${names[@]}"; do
  [[ -n "${LOADS[$name]:-}" ]] || { echo "$bench_me: unknown load $name (${!LOADS[*]})" >&2; exit 2; }
done
command -v perf > /dev/null || { echo "$bench_me: perf is not installed" >&2; exit 2; }

bench_build
out="${RESULTS_DIR:-$here/results/$(date -u +%Y%m%dT%H%M%SZ)-profile}"
mkdir -p "$out"
for name in "${names[@]}"; do
  bench_start "$out/$name.server" ferrio env FERRIO_LOG=warn "$ferrio" --port 0 --bind 127.0.0.1 \
    --app chat --admin-port 0 --transports websocket,xhr-polling "${bench_lifted_caps[@]}" \
    --heartbeat-interval 10 --heartbeat-timeout 30 --close-timeout 10 --polling-duration 10
  perf record -F 4000 -g -p "$bench_pid" -o "$out/$name.data" > /dev/null 2> "$out/$name.perf.err" &
  perf_pid=$!
  sleep 0.5
  # shellcheck disable=SC2086 # the load is a list of flags
  "$loadgen" ${LOADS[$name]} --server "$bench_addr" --server-pid "$bench_pid" --timeout 300 \
    > "$out/$name.json" 2> "$out/$name.loadgen.err"
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  bench_stop "$bench_pid"
  perf report -i "$out/$name.data" --no-children --sort dso,sym --stdio -g none \
    > "$out/$name.symbols.txt" 2> /dev/null
  "$NODE" "$here/profile-report.js" "$name" "$out/$name.json" "$out/$name.symbols.txt"
done
echo "$bench_me: profiles in $out" >&2
