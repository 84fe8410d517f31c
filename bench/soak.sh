#!/usr/bin/env bash
# Soak run: the real mcaprecd for a long time under steady load, with rotation, retention,
# periodic SIGHUP and (when the build has `mcaprec ctl`) control requests. It samples the
# daemon's resident memory, open file descriptors and threads and the /metrics loss counters,
# writes them to a CSV, and fails if any of the three keeps growing or anything was lost.
#
#   bench/soak.sh [--minutes N] [--rate MBps] [--build DIR] [--out DIR] [--sample-seconds S]
#                 [--sighup-seconds S] [--control-seconds S]
#
#   --minutes N          how long the load runs (default 240: four hours)
#   --rate MBps          payload megabytes (10^6 bytes) per second over all producers (default 20)
#   --build DIR          holds daemon/mcaprecd and tools/mcaprec (default build-release, else build)
#   --out DIR            work directory (default a new directory in /dev/shm, else in /tmp)
#   --sample-seconds S   sampling period (default 60)
#   --sighup-seconds S   SIGHUP period (default 37: out of step with sampling and rotation)
#   --control-seconds S  period of `mcaprec ctl status` + `split` when ctl exists (default 45)
#
# Load: three producers, each `mcaprec send` restarted every minute (so connections come and
# go): the synthetic sensor mix as an MCAP stream over TCP (40 % of the rate), 64 KiB raw
# frames over TCP length-prefixed (40 %) and 1,200-byte raw datagrams over UDP (20 %).
# Output: files of at most 32 MiB or 15 s, retention keeping 256 MiB, so that files are
# finalized and deleted all the time while the disk use stays bounded.
#
# Verdict (exit 1 with a message per failure, 0 otherwise):
#   - growth: the samples after the first two (warm-up: queues, allocator arenas and the first
#     files settle) are cut into thirds; a series "keeps growing" when the last third's maximum
#     exceeds the first third's maximum by more than its tolerance: RSS max(8 MiB, 5 %), open fds
#     4 (a producer reconnecting and a file being finalized at the sampling moment), threads 2.
#     A leak shows as a maximum that keeps rising; noise of the size of one rotation does not.
#     Fewer than 6 such samples: growth is not judged (said so), the other checks still apply.
#   - loss: any message dropped (every reason of mcaprec_channel_messages_dropped_total), any
#     kernel drop of the UDP source, source errors, write or sync errors, files closed on error,
#     recording paused at the end, a producer that failed, fewer messages received than the
#     producers sent, or a daemon that does not stop with exit 0 on SIGTERM.
set -euo pipefail

minutes=240
rate=20
build=""
out=""
sample_seconds=60
sighup_seconds=37
control_seconds=45
usage() { sed -n '7,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --minutes) minutes=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --sample-seconds) sample_seconds=${2:?}; shift 2 ;;
    --sighup-seconds) sighup_seconds=${2:?}; shift 2 ;;
    --control-seconds) control_seconds=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "soak: unknown argument '$1'" >&2; usage ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z $build ]]; then
  build=$repo/build-release
  [[ -x $build/daemon/mcaprecd ]] || build=$repo/build
fi
daemon=$build/daemon/mcaprecd
tool=$build/tools/mcaprec
for binary in "$daemon" "$tool"; do
  [[ -x $binary ]] || { echo "soak: $binary missing (build mcaprecd and mcaprec)" >&2; exit 2; }
done
if [[ -z $out ]]; then
  out=$(mktemp -d /dev/shm/mcaprec-soak.XXXXXX 2>/dev/null || mktemp -d /tmp/mcaprec-soak.XXXXXX)
fi
mkdir -p "$out/producers" "$out/bin"
# Copies, so that a rebuild during a long run does not swap the binaries under it.
cp "$daemon" "$tool" "$out/bin/"
daemon=$out/bin/mcaprecd
tool=$out/bin/mcaprec
csv=$out/samples.csv

free_port() {  # $1: SOCK_STREAM or SOCK_DGRAM
  python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.$1); \
s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}
mix_port=$(free_port SOCK_STREAM)
frames_port=$(free_port SOCK_STREAM)
raw_port=$(free_port SOCK_DGRAM)
metrics_port=$(free_port SOCK_STREAM)

# Control requests only when this build has them (`mcaprec ctl`, a later addition).
has_ctl=false
if "$tool" --help 2>/dev/null | grep -qE '^  ctl '; then has_ctl=true; fi
control_yaml=""
if $has_ctl; then control_yaml=$'control:\n  socket: '"$out/control.sock"; fi

cat >"$out/soak.yaml" <<EOF
output:
  directory: $out/recordings
  prefix: soak
  max_bytes: 32MiB
  max_duration: 15s
  sync_interval: 1s
  max_total_bytes: 256MiB
  min_free_bytes: 0
mcap:
  compression: zstd
  chunk_size: 1MiB
  chunk_max_age: 500ms
pipeline:
  memory_budget: 256MiB
sources:
  - {name: mix, transport: tcp, bind: 127.0.0.1:$mix_port, format: mcap}
  - {name: frames, transport: tcp, bind: 127.0.0.1:$frames_port, format: length_prefixed,
     topic: /soak/frames}
  - {name: raw, transport: udp, bind: 127.0.0.1:$raw_port, format: raw, topic: /soak/raw,
     receive_buffer: 32MiB}
channels:
  - {topic: /soak/frames, queue_bytes: 32MiB}
  - {topic: /soak/raw, queue_bytes: 32MiB}
metrics:
  bind: 127.0.0.1:$metrics_port
$control_yaml
EOF

"$daemon" --config "$out/soak.yaml" >"$out/daemon.log" 2>&1 &
daemon_pid=$!
producer_pids=()
cleanup() {
  for pid in "${producer_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  kill -KILL "$daemon_pid" 2>/dev/null || true
}
trap cleanup EXIT

metrics() { curl -sf --max-time 5 "http://127.0.0.1:$metrics_port/metrics"; }
for _ in $(seq 100); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
metrics >/dev/null || { echo "soak: mcaprecd did not start; see $out/daemon.log" >&2; exit 1; }

start=$(date +%s)
end=$((start + minutes * 60))
# A producer: `mcaprec send ARGS --duration 60s` (less at the end) again and again until the end;
# each run's JSON report is one line of its log, a failing run is noted in $out/failed.
producer() {
  local name=$1
  shift
  local now left
  while now=$(date +%s) && ((now < end)); do
    left=$((end - now < 60 ? end - now : 60))
    if ! "$tool" send "$@" --duration "${left}s" --json >>"$out/producers/$name.jsonl" \
      2>>"$out/producers/$name.err"; then
      echo "$name: mcaprec send exited non-zero at $(date -u +%FT%TZ)" >>"$out/failed"
    fi
    echo >>"$out/producers/$name.jsonl"
  done
}
mix_speed=$(awk -v r="$rate" 'BEGIN { printf "%.3f", r * 0.4 / 9.7 }')
frame_rate=$(awk -v r="$rate" 'BEGIN { printf "%.1f", r * 0.4e6 / 65536 }')
datagram_rate=$(awk -v r="$rate" 'BEGIN { printf "%.1f", r * 0.2e6 / 1200 }')
producer mix "tcp://127.0.0.1:$mix_port" --speed "$mix_speed" &
producer_pids+=($!)
producer frames "tcp://127.0.0.1:$frames_port" --raw-size 64KiB --rate "$frame_rate" &
producer_pids+=($!)
producer raw "udp://127.0.0.1:$raw_port" --raw-size 1200 --rate "$datagram_rate" &
producer_pids+=($!)

# Sum of a metric family's samples (all labels) in a /metrics text.
# (%.0f: mawk's %d stops at 2^31 - 1.)
family_sum() { awk -v f="$1" '$1 == f || index($1, f "{") == 1 { s += $NF } END { printf "%.0f", s }'; }
echo "elapsed_s,rss_kib,open_fds,threads,dropped,kernel_drops,source_errors,write_errors," \
  "sync_errors,files_finalized,files_deleted,messages_written,bytes_received,files_on_disk," \
  "disk_kib" | tr -d ' ' >"$csv"
sample() {
  local text
  text=$(metrics) || { echo "soak: /metrics did not answer at $(date -u +%T)" >>"$out/failed"; return; }
  local rss threads fds
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$daemon_pid/status")
  fds=$(find "/proc/$daemon_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  local row=("$(($(date +%s) - start))" "$rss" "$fds" "$threads")
  local family
  for family in mcaprec_channel_messages_dropped_total mcaprec_source_kernel_drops_total \
    mcaprec_source_errors_total mcaprec_write_errors_total mcaprec_sync_errors_total \
    mcaprec_files_finalized_total mcaprec_retention_files_deleted_total \
    mcaprec_messages_written_total mcaprec_channel_bytes_received_total; do
    row+=("$(family_sum "$family" <<<"$text")")
  done
  row+=("$(find "$out/recordings" -name '*.mcap*' | wc -l)" "$(du -sk "$out/recordings" | cut -f1)")
  (IFS=,; echo "${row[*]}") >>"$csv"
}

echo "soak: $minutes min at $rate MB/s, mcaprecd pid $daemon_pid, control requests: $has_ctl;" \
  "work directory $out"
next_sample=$start
next_sighup=$((start + sighup_seconds))
next_control=$((start + control_seconds))
while now=$(date +%s) && ((now < end)); do
  kill -0 "$daemon_pid" 2>/dev/null || { echo "soak: mcaprecd died; see $out/daemon.log" >&2; exit 1; }
  if ((now >= next_sample)); then sample; next_sample=$((next_sample + sample_seconds)); fi
  if ((now >= next_sighup)); then kill -HUP "$daemon_pid"; next_sighup=$((now + sighup_seconds)); fi
  if $has_ctl && ((now >= next_control)); then
    for request in status split; do
      "$tool" ctl "$request" --socket "$out/control.sock" >>"$out/control.log" 2>&1 ||
        echo "control: mcaprec ctl $request failed at $(date -u +%T)" >>"$out/failed"
    done
    next_control=$((now + control_seconds))
  fi
  sleep 1
done
for pid in "${producer_pids[@]}"; do wait "$pid" || true; done
producer_pids=()
sleep 2  # the last chunks reach the writer
sample
final=$(metrics)

kill -TERM "$daemon_pid"
daemon_status=0
wait "$daemon_pid" || daemon_status=$?
trap - EXIT

failures=()
[[ -s $out/failed ]] && mapfile -t -O 0 failures <"$out/failed"
((daemon_status == 0)) || failures+=("mcaprecd exited $daemon_status on SIGTERM (see $out/daemon.log)")
paused=$(family_sum mcaprec_recording_paused <<<"$final")
((paused == 0)) || failures+=("recording was paused at the end")
closed=$(family_sum mcaprec_files_closed_on_error_total <<<"$final")
((closed == 0)) || failures+=("$closed files were closed on an error")
sent=$(cat "$out"/producers/*.jsonl | python3 -c '
import json, sys
print(sum(json.loads(line)["messages"] for line in sys.stdin if line.strip()))')
received=$(family_sum mcaprec_source_messages_total <<<"$final")
((received >= sent)) || failures+=("producers sent $sent messages, mcaprecd received $received")

verdict=$(python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = []
last = rows[-1]
for column in ("dropped", "kernel_drops", "source_errors", "write_errors", "sync_errors"):
    if int(last[column]) != 0:
        out.append(f"FAIL {column} = {last[column]} at the end")
steady = rows[2:]
tolerance = {"rss_kib": lambda first: max(8192, first * 0.05), "open_fds": lambda first: 4,
             "threads": lambda first: 2}
if len(steady) < 6:
    out.append(f"NOTE only {len(steady)} samples after warm-up: growth not judged")
else:
    third = len(steady) // 3
    for column, allowed in tolerance.items():
        first = max(int(r[column]) for r in steady[:third])
        final = max(int(r[column]) for r in steady[-third:])
        word = "FAIL" if final > first + allowed(first) else "ok"
        out.append(f"{word} {column}: first third max {first}, last third max {final}, "
                   f"tolerance {allowed(first):.0f}")
print("\n".join(out))
PY
)
echo "$verdict"
while IFS= read -r line; do
  [[ $line == FAIL* ]] && failures+=("${line#FAIL }")
done <<<"$verdict"
echo "soak: sent $sent messages, received $received; samples in $csv"
if ((${#failures[@]})); then
  printf 'soak: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
# The recordings live in memory on /dev/shm; a passed run needs only its samples and logs.
rm -rf "$out/recordings"
echo "soak: passed"
