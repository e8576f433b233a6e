# shellcheck shell=bash
# What run.sh, cluster.sh and soak.sh share, sourced by each: picking the cases, the release
# build, the flags that lift ferrio's caps for load, starting a server and waiting for its
# "listening" line, stopping a process, free ports, the results directory and its metadata,
# and the load average. One place for each, so that the three drive the servers alike.
#
# The sourcing script sets `here` (this directory) and `root` (the workspace) first, and
# `set -euo pipefail`. Functions report through globals rather than stdout where they start
# processes: a command substitution would run them in a subshell, whose background jobs the
# script could then neither wait for nor stop.

# The script's name, for its messages ("run.sh: …").
bench_me="${0##*/}"

# The flags that lift ferrio's caps for load: socket.io 0.9 has no limits on unconnected
# handshakes or on what a session sends, and every loadgen client comes from 127.0.0.1, so
# the caps on unconnected handshakes, per-address connections and inbound packets and bytes
# are lifted for the servers to be given the same load (the handshake case issues 20 000
# sessions from one address and never connects them; an echo client sends 1 000 packets at
# once; a fanout sender runs flat out, 16 KiB a line in modern.sh's binary fanout). The soak keeps every production limit and does not use them.
# shellcheck disable=SC2034 # used by the sourcing scripts
bench_lifted_caps=(
  --max-connections-per-ip 0
  --max-unconnected 1000000 --max-unconnected-per-ip 1000000
  --inbound-packet-rate 1000000 --inbound-packet-burst 1000000
  --inbound-byte-rate 1000000000 --inbound-byte-burst 1000000000
)

# bench_check_reps: exits 2 unless REPS is a positive integer.
bench_check_reps() {
  if [[ ! "$REPS" =~ ^[1-9][0-9]*$ ]]; then
    echo "$bench_me: REPS must be a positive integer" >&2
    exit 2
  fi
}

# bench_select FILTER FILTER_NAME ENTRY...: sets `selected` to the entries ("name|…") whose
# name is in the space-separated FILTER, or to all of them when FILTER is empty; exits 2 when
# it matches none (FILTER_NAME is the environment variable, for the message).
bench_select() {
  local filter="$1" filter_name="$2" entry name
  shift 2
  selected=()
  for entry in "$@"; do
    name="${entry%%|*}"
    if [[ -z "$filter" || " $filter " == *" $name "* ]]; then
      selected+=("$entry")
    fi
  done
  if [[ ${#selected[@]} -eq 0 ]]; then
    echo "$bench_me: $filter_name matches none of the cases" >&2
    exit 2
  fi
}

# bench_sized "FULL|QUICK": the loadgen arguments for the size QUICK asks for.
bench_sized() {
  if [[ "${QUICK:-0}" == 1 ]]; then echo "${1#*|}"; else echo "${1%%|*}"; fi
}

# bench_build: builds ferrio and ferrio-loadgen in release from the lock file and sets
# `ferrio` and `loadgen` to the binaries; then lifts the open-files limit to the hard one,
# since many sessions need many descriptors, in the servers and in the loadgen.
bench_build() {
  echo "$bench_me: building ferrio and ferrio-loadgen (release)" >&2
  # shellcheck disable=SC2154 # root is set by the sourcing script
  (cd "$root" && cargo build --release --locked --quiet -p ferrio-server -p ferrio-loadgen)
  local target_dir="${CARGO_TARGET_DIR:-$root/target}"
  # shellcheck disable=SC2034 # used by the sourcing scripts
  ferrio="$target_dir/release/ferrio"
  loadgen="$target_dir/release/ferrio-loadgen"
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# bench_free_port: a TCP port free on 127.0.0.1 (after bench_build).
bench_free_port() {
  "$loadgen" free-port
}

# bench_results_dir PREFIX WITH_RUNS: sets `stamp` (UTC time, "-quick" appended when QUICK=1)
# and `out` ($RESULTS_DIR/PREFIX<stamp>) and creates it; with WITH_RUNS=1 also `out/logs/`
# and an empty `runs` ($out/runs.jsonl), one JSON line a run.
bench_results_dir() {
  local prefix="$1" with_runs="$2"
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  [[ "${QUICK:-0}" == 1 ]] && stamp="$stamp-quick"
  out="$RESULTS_DIR/$prefix$stamp"
  mkdir -p "$out"
  if [[ "$with_runs" == 1 ]]; then
    mkdir -p "$out/logs"
    runs="$out/runs.jsonl"
    : > "$runs"
  fi
}

# bench_meta EXTRA: writes $out/meta.json, the invocation's date, size, repetitions, commit
# (+dirty with uncommitted changes), CPUs and timers; EXTRA is JSON text written right after
# the CPU model (",\"name\":value…", the script's own versions and settings).
bench_meta() {
  local extra="$1" cpu_model
  cpu_model="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1 | tr -d "\"\\\\")"
  cat > "$out/meta.json" <<EOF
{"date":"$stamp","quick":$([[ "${QUICK:-0}" == 1 ]] && echo true || echo false),"reps":$REPS,
 "commit":"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo '+dirty')",
 "cpus":$(nproc),"cpu":"$cpu_model"$extra,
 "timers":{"heartbeat_interval":$HEARTBEAT_INTERVAL,"heartbeat_timeout":$HEARTBEAT_TIMEOUT,"close_timeout":$CLOSE_TIMEOUT,"polling_duration":$POLLING_DURATION}}
EOF
}

# bench_start LOG WHAT COMMAND...: starts COMMAND in the background, its stdout to LOG.out and
# its stderr to LOG.err, and waits up to 10 s for its "listening on http://ADDR" line. Sets
# `bench_pid` (also when it fails) and `bench_addr`; on failure says WHAT did not start, with
# its stderr, and returns 1.
bench_start() {
  local log="$1" what="$2" _
  shift 2
  # Created here, not by the background job's redirections, which may come after the first read.
  : > "$log.out"
  : > "$log.err"
  "$@" >> "$log.out" 2>> "$log.err" &
  bench_pid=$!
  bench_addr=""
  for _ in $(seq 1 100); do
    bench_addr="$(sed -n 's#.*listening on http://\([0-9.]*:[0-9]*\).*#\1#p' "$log.out" | head -1 || true)"
    [[ -n "$bench_addr" ]] && return 0
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$bench_me: $what did not start; see $log.err" >&2
  cat "$log.err" >&2 || true
  return 1
}

# bench_stop PID: stops a process the script started: resumed if it was stopped (SIGSTOP),
# SIGTERM, then SIGKILL if it is still there after a 5 s grace, and reaped.
bench_stop() {
  local pid="$1" _
  [[ -z "$pid" ]] && return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# bench_measure NAME KIND REP ARGS [FLAG...]: one run of a comparison. Runs the loadgen with
# ARGS (a string of flags) and the FLAGs against the server at `server_addr` (pid
# `server_pid`), labelled KIND, then stops that server and appends the run to `runs`, one JSON
# line with the case NAME and repetition REP. A failed run is counted in `failures` and its
# error shown.
bench_measure() {
  local name="$1" kind="$2" rep="$3" args="$4" rc=0 line errors program
  shift 4
  errors="$out/logs/$name-$kind-$rep.loadgen.err"
  # Cases whose arguments start with `streams` hold htmlfile or xhr-multipart streams with
  # node/streams.js (the loadgen's client reads whole responses only); it takes the same flags.
  program=("$loadgen")
  if [[ "$args" == streams\ * ]]; then
    program=("$NODE" "$here/node/streams.js")
    args="${args#streams }"
  fi
  # shellcheck disable=SC2086,SC2154 # $args is a list of flags; the server is the script's
  line="$("${program[@]}" $args "$@" --server "$server_addr" --server-pid "$server_pid" \
    --label "$kind" --timeout 900 --op-timeout 60 2> "$errors")" || rc=$?
  bench_stop "$server_pid"
  server_pid=""
  if [[ $rc -ne 0 ]]; then
    failures=$(( failures + 1 ))
    echo "$bench_me: FAILED (exit $rc): $(cat "$errors")" >&2
  fi
  [[ -z "$line" ]] && line=null
  printf '{"case":"%s","server":"%s","rep":%d,"exit":%d,"result":%s}\n' \
    "$name" "$kind" "$rep" "$rc" "$line" >> "$runs"
}

# bench_loadavg: the 1-minute load average now; other work on the same cores shows here.
bench_loadavg() {
  cut -d' ' -f1 /proc/loadavg
}
