#!/usr/bin/env bash
# The soak: minutes of mixed transports and churn against ferrio, judged on lost lines, healthy
# clients cut off, hostile clients left standing and memory not given back. Not run in CI.
#
#   crates/loadgen/bench/soak.sh [MINUTES]        # default 5 minutes of churn (~7 in all)
#   HOSTILE=0 crates/loadgen/bench/soak.sh 2      # churn only
#
# Builds ferrio and ferrio-loadgen in release, starts ferrio (chat app; websocket, xhr-polling
# and jsonp-polling; short timers so that churned sessions settle within the run; every
# production limit and budget left as it is), runs `ferrio-loadgen soak` against it with its
# admin listener and pid, and prints the verdict and the figures. The JSON line, the loadgen's
# progress and ferrio's log go to $RESULTS_DIR/soak-<UTC time>/ (default
# crates/loadgen/bench/results/, ignored by git). Exits 0 on a pass, 1 on a failed verdict.
#
# Environment: HOSTILE (1/0, default 1), SETTLE (seconds, default 20: past every timer below;
# then the loadgen waits on until ferrio_sessions is back to the crowd), RSS_TOLERANCE (percent, default 10), WAVE (churners per wave, default 40),
# WAVE_EVERY (seconds, default 5), HEALTHY_WS, HEALTHY_XHR, HEALTHY_JSONP (default 10, 6, 2),
# RESULTS_DIR, SOAK_ARGS (further loadgen flags, such as "--stall 5 --payload 256").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
MINUTES="${1:-5}"
HOSTILE="${HOSTILE:-1}"
SETTLE="${SETTLE:-20}"
RSS_TOLERANCE="${RSS_TOLERANCE:-10}"
WAVE="${WAVE:-40}"
WAVE_EVERY="${WAVE_EVERY:-5}"
HEALTHY_WS="${HEALTHY_WS:-10}"
HEALTHY_XHR="${HEALTHY_XHR:-6}"
HEALTHY_JSONP="${HEALTHY_JSONP:-2}"
RESULTS_DIR="${RESULTS_DIR:-$here/results}"

if [[ ! "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "soak.sh: MINUTES must be a number, such as 5 or 0.5" >&2
  exit 2
fi

# The server's timers: seconds, short so that everything the churn leaves behind is gone well
# within --settle. Heartbeats every 2 s, answered within 6 s; a session without its transport
# lives 6 s; a poll is held 3 s; headers, bodies and writes that make no progress for 5 s are
# given up.
timers=(
  --heartbeat-interval 2 --heartbeat-timeout 6 --close-timeout 6 --polling-duration 3
  --header-read-timeout 5 --body-read-timeout 5 --write-timeout 5 --ws-message-timeout 5
)

bench_build

# The soak has no quick mode: a QUICK left in the environment does not rename its directory.
QUICK=0 bench_results_dir soak- 0

pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  bench_stop "$pid"
}
trap cleanup EXIT

admin="127.0.0.1:$(bench_free_port)"
bench_start "$out/ferrio" ferrio env FERRIO_LOG=warn "$ferrio" --port 0 --bind 127.0.0.1 --app chat \
  --admin-port "${admin##*:}" --admin-bind 127.0.0.1 \
  --transports websocket,xhr-polling,jsonp-polling "${timers[@]}" || { pid="$bench_pid"; exit 1; }
pid="$bench_pid"
server="$bench_addr"

hostile=()
[[ "$HOSTILE" == 1 ]] && hostile=(--hostile)
# The whole run: the churn, two settlings, the warm-up and a margin.
timeout="$(awk -v m="$MINUTES" -v s="$SETTLE" 'BEGIN { printf "%d", m * 60 + 4 * s + 600 }')"
echo "soak.sh: ferrio (pid $pid) on $server, admin on $admin; $MINUTES minutes of churn" >&2
rc=0
# shellcheck disable=SC2086 # SOAK_ARGS is a list of flags
"$loadgen" soak --server "$server" --server-pid "$pid" --admin "$admin" --label ferrio \
  --minutes "$MINUTES" --settle "$SETTLE" --rss-tolerance "$RSS_TOLERANCE" \
  --wave "$WAVE" --wave-every "$WAVE_EVERY" --healthy-websocket "$HEALTHY_WS" \
  --healthy-xhr-polling "$HEALTHY_XHR" --healthy-jsonp-polling "$HEALTHY_JSONP" \
  "${hostile[@]}" --timeout "$timeout" --op-timeout 30 ${SOAK_ARGS:-} \
  > "$out/soak.json" 2> >(tee "$out/soak.log" >&2) || rc=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "soak.sh: ferrio exited during the run; see $out/ferrio.err" >&2
  rc=1
fi
echo "soak.sh: the JSON line, the progress and ferrio's log are in $out" >&2
exit "$rc"
