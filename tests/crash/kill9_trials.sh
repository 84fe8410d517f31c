#!/usr/bin/env bash
# kill -9 trials of mcaprecd (docs/ARCHITECTURE.md §5.6): in each trial the daemon records numbered
# messages streamed at a steady rate over loopback TCP, rotating files every few chunks, and is
# killed with SIGKILL at a random moment; it is then restarted on the same directory (startup
# recovery finalizes every .active file) and stopped with SIGTERM. check_trial.mjs then
# requires that every file passes the official reader, that no .active is left, that no message
# is recorded twice, and that every message sent more than sync_interval + chunk_max_age before
# the kill is recorded.
#
# usage: tests/crash/kill9_trials.sh [--trials N] [--seed S] [--keep]
#   --trials N   number of trials (default 50)
#   --seed S     seed of the random rates and kill moments (default: random, printed)
#   --keep       keep every trial's directory, not only the failed ones
# Binaries: $MCAPREC_DAEMON and $MCAPREC_TOOL (default build/daemon/mcaprecd and
# build/tools/mcaprec); the official reader comes from tests/interop (run npm ci there).
# Exit status: 0 when every trial passed, 1 when one failed (its directory is kept), 2 on a
# usage or setup error.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
daemon="${MCAPREC_DAEMON:-$repo/build/daemon/mcaprecd}"
tool="${MCAPREC_TOOL:-$repo/build/tools/mcaprec}"

trials=50
seed=""
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials="${2:?--trials needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    --keep) keep=true; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kill9_trials: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$trials" =~ ^[0-9]+$ ]] || { echo "kill9_trials: --trials must be a number" >&2; exit 2; }
[ -n "$seed" ] || seed=$(( $(date +%s%N) % 1000000 ))
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "kill9_trials: --seed must be a number" >&2; exit 2; }
for binary in "$daemon" "$tool"; do
  [ -x "$binary" ] || { echo "kill9_trials: $binary is not built (or set MCAPREC_DAEMON/MCAPREC_TOOL)" >&2; exit 2; }
done
command -v node > /dev/null || { echo "kill9_trials: node is needed for the official reader" >&2; exit 2; }
[ -d "$repo/tests/interop/node_modules/@mcap/core" ] || {
  echo "kill9_trials: run npm ci in tests/interop first (the official reader)" >&2; exit 2; }

# Fixed for every trial; the checker's window is their sum.
readonly sync_interval_ms=200
readonly chunk_max_age_ms=100
readonly window_ms=$(( sync_interval_ms + chunk_max_age_ms ))
readonly payload_bytes=128

work="$(mktemp -d "${TMPDIR:-/tmp}/mcaprec-kill9.XXXXXX")"
daemon_pid=""
sender_pid=""

# Only the processes this script started, by their ids.
stop_children() {
  for pid in $daemon_pid $sender_pid; do
    kill -KILL "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
  done
  daemon_pid=""
  sender_pid=""
}
trap 'stop_children' EXIT
trap 'stop_children; echo "kill9_trials: interrupted; the trials are in $work" >&2; exit 130' INT TERM

# Waits up to $2 tenths of a second for process $1 to end; its exit status is left in $exited.
wait_for_exit() {
  local pid="$1" tenths="$2"
  for (( i = 0; i < tenths; i++ )); do
    if ! kill -0 "$pid" 2> /dev/null; then
      wait "$pid"
      exited=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# A loopback port the kernel considered free a moment ago (the config needs a number).
# free_port: a port below the ephemeral range, where no outgoing connection can take it.
. "$repo/tests/support/free_port.sh"

# Waits until the daemon accepts connections (after its startup recovery); 1 if it died or
# took more than 10 s. The probe connection is closed at once: an empty stream for the daemon.
wait_listening() {
  local port="$1"
  for (( i = 0; i < 200; i++ )); do
    kill -0 "$daemon_pid" 2> /dev/null || return 1
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

write_config() {
  local dir="$1" port="$2" compression="$3"
  cat > "$dir/mcaprecd.yaml" << EOF
output:
  directory: $dir/recordings
  prefix: kill9
  max_bytes: 64KiB
  max_duration: 10min
  sync_interval: ${sync_interval_ms}ms
  min_free_bytes: 0
mcap:
  compression: $compression
  chunk_size: 16KiB
  chunk_max_age: ${chunk_max_age_ms}ms
pipeline:
  compressor_threads: 2
  shutdown_timeout: 10s
sources:
  - name: numbered
    transport: tcp
    bind: 127.0.0.1:$port
    format: length_prefixed
    topic: /kill9/numbered
logging:
  level: info
EOF
}

# One trial in directory $1; leaves its result line in $result; 0 when it passed. Runs in this
# shell (not a subshell) so that the exit trap knows the processes it started.
fail() {
  result="FAIL $*"
  return 1
}
run_trial() {
  local dir="$1" rate="$2" delay_ms="$3" compression="$4"
  local port kill_ns
  mkdir -p "$dir"
  port="$(free_port)" || { fail "no free port"; return; }
  write_config "$dir" "$port" "$compression"

  "$daemon" --config "$dir/mcaprecd.yaml" > "$dir/daemon-1.log" 2>&1 &
  daemon_pid=$!
  wait_listening "$port" || { fail "the daemon did not start (see daemon-1.log)"; return; }

  "$tool" send "tcp://127.0.0.1:$port" --raw-size "$payload_bytes" --rate "$rate" --numbered \
    --progress-file "$dir/progress" > "$dir/send.log" 2>&1 &
  sender_pid=$!
  sleep "$(printf '%d.%03d' $(( delay_ms / 1000 )) $(( delay_ms % 1000 )))"

  kill -0 "$daemon_pid" 2> /dev/null || { fail "the daemon exited before the kill (see daemon-1.log)"; return; }
  # Noted just before the signal: the checker's bound is then never later than the real one.
  kill_ns=$(date +%s%N)
  kill -KILL "$daemon_pid"
  wait "$daemon_pid" 2> /dev/null
  daemon_pid=""
  echo "$kill_ns" > "$dir/kill_ns"
  # The sender fails on the reset connection; it is not waited for long.
  if ! wait_for_exit "$sender_pid" 50; then
    kill -KILL "$sender_pid" 2> /dev/null
    wait "$sender_pid" 2> /dev/null
  fi
  sender_pid=""

  "$daemon" --config "$dir/mcaprecd.yaml" > "$dir/daemon-2.log" 2>&1 &
  daemon_pid=$!
  wait_listening "$port" || { fail "the daemon did not restart (see daemon-2.log)"; return; }
  kill -TERM "$daemon_pid"
  wait_for_exit "$daemon_pid" 150 ||
    { fail "the restarted daemon did not stop within 15 s of SIGTERM (see daemon-2.log)"; return; }
  daemon_pid=""
  [ "$exited" -eq 0 ] || { fail "the restarted daemon exited $exited (see daemon-2.log)"; return; }

  result="$(node "$here/check_trial.mjs" --dir "$dir/recordings" --progress "$dir/progress" \
    --kill-ns "$kill_ns" --window-ms "$window_ms" 2>&1)"
}

echo "kill9_trials: $trials trials, seed $seed, window ${window_ms} ms" \
  "(sync_interval ${sync_interval_ms} ms + chunk_max_age ${chunk_max_age_ms} ms), in $work"
RANDOM=$seed
passed=0
failed=()
started=$(date +%s%N)
for (( trial = 1; trial <= trials; trial++ )); do
  # 500 to 3000 messages/s of 128 B: chunks (16 KiB) are sealed by age at the low rates and
  # by size at the high ones; files rotate at 64 KiB, every 0.1 to 4 s depending on the rate
  # and the compression. The kill comes 0.3 to 3.3 s in.
  rate=$(( 500 + RANDOM % 2501 ))
  delay_ms=$(( 300 + RANDOM % 3001 ))
  compressions=(zstd lz4 none)
  compression=${compressions[RANDOM % 3]}
  dir="$work/trial-$trial"
  trial_started=$(date +%s%N)
  run_trial "$dir" "$rate" "$delay_ms" "$compression"
  status=$?
  stop_children
  seconds=$(( ($(date +%s%N) - trial_started) / 1000000 ))
  line="trial $trial/$trials: $compression, $rate msg/s, kill at ${delay_ms} ms, $(printf '%d.%03d' $(( seconds / 1000 )) $(( seconds % 1000 ))) s: $result"
  echo "$line"
  if [ "$status" -eq 0 ]; then
    passed=$(( passed + 1 ))
    $keep || rm -rf "$dir"
  else
    echo "  kept $dir" >&2
    failed+=("$trial")
  fi
done
total_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "kill9_trials: $passed/$trials passed in $(( total_ms / 1000 )).$(printf '%03d' $(( total_ms % 1000 ))) s (seed $seed)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "kill9_trials: failed trials: ${failed[*]}; their directories are kept in $work" >&2
  exit 1
fi
$keep || rm -rf "$work"
exit 0
