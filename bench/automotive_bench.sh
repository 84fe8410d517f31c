#!/usr/bin/env bash
# The automotive profile of issue 15, end to end: four TCP producers (`mcaprec send --sensor-set
# automotive`, pacing to real time) -> loopback -> mcaprecd recording into tmpfs, for each codec,
# and in the same run a writing sink (bench/bare_sink.cpp `tcp PORT many` with BARE_SINK_OUTPUT:
# one thread that reads every connection and appends every byte to one file) as the floor.
#
#   bench/automotive_bench.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR holds tools/mcaprec and daemon/mcaprecd. OUT_DIR (default a new directory in
# /dev/shm) gets the recordings and the sink's file (deleted after each step) and the logs.
# The sensor set (lib/synth/automotive_set.cpp): 30 topics, 572.5 MB/s; the producers are
#   lidars     /lidar/0-3 (160 kB @ 25 Hz), /lidar/top (640 kB @ 25 Hz)
#   cameras_a  /camera/0-2 (3.75 MB raw rgb8 @ 24 Hz)
#   cameras_b  /camera/3-5
#   small      /radar/0-4 (1.6 kB @ 50 Hz), /gps, /imu, /ultrasonic/0-11
# Environment:
#   SCALE=F          every rate times F (`mcaprec send --speed F`), default 1; say which ran
#   STEP_SECONDS=S   seconds each receiver is fed, default 20
#   STEPS="..."      receivers in order, default "sink none lz4 zstd sink": `sink` is the writing
#                    sink, the others mcaprecd with that `mcap.compression` (zstd at level 1)
#   NICE=N           niceness of producers and receivers (negative needs root), default 0
#   EXTRA_YAML=TEXT  appended to mcaprecd's configuration: top-level sections the script does
#                    not write itself (pipeline, channels), e.g. chunk groups to compare
#   KEEP_MB=N        keep at most N MiB in tmpfs per step: mcaprecd rotates every N/4 MiB with
#                    output.max_total_bytes N MiB (retention deletes the oldest files), the sink
#                    empties its file every N MiB. Off by default. On a VM that hands freed
#                    memory back to its host (virtio-balloon free page reporting), every step
#                    otherwise writes GBs into pages the host must fault in again, and that cost,
#                    which changes from minute to minute, swamps both receivers' figures. With
#                    KEEP_MB the messages and bytes written come from mcaprecd's /metrics, since
#                    the files that would show them are deleted.
# Per step it prints one JSON line; at the end a table and summary.json. For each step: messages
# sent (the producers' reports) and written (`mcaprec info --json` of every file; the sink
# counts bytes), the producers' lag behind schedule (of the four producers: the largest, the worst
# p99 and the largest after the first second, which leaves out the start-up transient), the
# receiver's CPU seconds (/proc/PID/stat utime+stime from before the producers start until all
# is written) per GB of input (bytes the producers put on the wire), and for mcaprecd the ratio
# to the mean of the sink steps of the run.
set -euo pipefail

build=${1:?usage: automotive_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /dev/shm/mcaprec-automotive-bench.XXXXXX)}
scale=${SCALE:-1}
step_seconds=${STEP_SECONDS:-20}
steps=${STEPS:-sink none lz4 zstd sink}
niceness=${NICE:-0}
keep_mb=${KEEP_MB:-}
[[ -z $keep_mb || $keep_mb =~ ^[0-9]+$ && $keep_mb -ge 64 ]] ||
  { echo "automotive_bench: KEEP_MB must be a number of MiB, at least 64" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
tool="$build/tools/mcaprec"
daemon="$build/daemon/mcaprecd"
for binary in "$tool" "$daemon"; do
  [[ -x $binary ]] || { echo "automotive_bench: $binary missing (build mcaprec and mcaprecd)" >&2; exit 1; }
done
mkdir -p "$out"
sink="$out/bare_sink"
c++ -std=c++20 -O2 -o "$sink" "$here/bare_sink.cpp"

declare -A groups=(
  [lidars]="/lidar/0,/lidar/1,/lidar/2,/lidar/3,/lidar/top"
  [cameras_a]="/camera/0,/camera/1,/camera/2"
  [cameras_b]="/camera/3,/camera/4,/camera/5"
  [small]="/radar/0,/radar/1,/radar/2,/radar/3,/radar/4,/gps,/imu,$(
    seq -s, -f '/ultrasonic/%g' 0 11)"
)

# A step keeps everything it receives in tmpfs until it ends: refuse a run that would not fit.
step_bytes=$(awk -v s="$scale" -v t="$step_seconds" 'BEGIN { printf "%.0f", 572.5e6 * s * t }')
if [[ -n $keep_mb ]] && ((step_bytes > (keep_mb + keep_mb / 4) << 20)); then
  step_bytes=$(((keep_mb + keep_mb / 4) << 20))  # the kept files and the one being written
fi
available=$(($(awk '/MemAvailable/ { print $2 }' /proc/meminfo) * 1024))
shm_free=$(($(df --output=avail -k "$out" | tail -1) * 1024))
if ((step_bytes > available * 6 / 10 || step_bytes > shm_free * 8 / 10)); then
  echo "automotive_bench: a step writes $((step_bytes / 1000000)) MB but only $((available / 1000000)) MB of memory are available; lower STEP_SECONDS or SCALE" >&2
  exit 1
fi

receiver_pid=""
producer_pids=()
cleanup() {
  if [[ -n $receiver_pid ]]; then kill -KILL "$receiver_pid" 2>/dev/null || true; fi
  for pid in "${producer_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$out/recordings" "$out/sink_output.bin"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cpu_seconds() {  # user + system CPU seconds a live process has used so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}
# CPU seconds of each thread of a live process, summed by thread name without its digits.
thread_cpu() {
  local hz task
  hz=$(getconf CLK_TCK)
  for task in /proc/"$1"/task/*; do
    sed -e 's/^[0-9]* (\(.*\)) /\1\t/' "$task/stat" 2>/dev/null
  done | awk -F'\t' -v hz="$hz" '{ name = $1; gsub(/[0-9]+$/, "", name); split($2, f, " ");
      cpu[name] += (f[12] + f[13]) / hz }
    END { printf "{"; sep = ""; for (n in cpu) { printf "%s\"%s\": %.3f", sep, n, cpu[n]; sep = ", " }
          printf "}" }'
}
metric_sum() {  # sum of every sample of a metric family in a /metrics text
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%.0f", sum }' "$1"
}

start_daemon() {  # $1 = none | lz4 | zstd
  data_port=$(free_port)
  metrics_port=$(free_port)
  recordings="$out/recordings"
  rm -rf "$recordings"
  cat >"$out/mcaprecd.yaml" <<EOF
output:
  directory: $recordings
  min_free_bytes: 0
$([[ -z $keep_mb ]] || printf '  max_bytes: %dMiB\n  max_total_bytes: %dMiB\n' $((keep_mb / 4)) "$keep_mb")
mcap:
  compression: $1
  compression_level: 1
sources:
  - name: producers
    transport: tcp
    bind: 127.0.0.1:$data_port
    format: mcap
control:
  socket: ""
metrics:
  bind: 127.0.0.1:$metrics_port
logging:
  level: warn
${EXTRA_YAML:-}
EOF
  nice -n "$niceness" "$daemon" --config "$out/mcaprecd.yaml" >"$out/daemon.stdout" 2>>"$out/daemon.stderr" &
  receiver_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "automotive_bench: mcaprecd did not come up (see $out)" >&2
  exit 1
}
# Waits (up to 20 s) until mcaprecd has written every message it received: the last chunks wait
# for chunk_max_age, and their compression and writing belong to the step's cost.
wait_daemon_written() {
  local received written
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$out/metrics.txt"
    received=$(metric_sum "$out/metrics.txt" mcaprec_channel_messages_received_total)
    written=$(metric_sum "$out/metrics.txt" mcaprec_messages_written_total)
    [[ $written -lt $received ]] || return 0
    sleep 0.1
  done
}
stop_daemon() {  # sets `recorded` (messages in the files) and `file_bytes`
  kill -TERM "$receiver_pid"
  local status=0
  wait "$receiver_pid" || status=$?
  receiver_pid=""
  [[ $status -eq 0 ]] || { echo "automotive_bench: mcaprecd exited $status" >&2; exit 1; }
  recorded=0
  file_bytes=0
  if [[ -n $keep_mb ]]; then  # retention deleted most files: the daemon's own counts
    recorded=$(metric_sum "$out/metrics.txt" mcaprec_messages_written_total)
    file_bytes=$(metric_sum "$out/metrics.txt" mcaprec_bytes_written_total)
    rm -rf "$recordings"
    return
  fi
  for file in "$recordings"/*.mcap; do
    recorded=$((recorded + $("$tool" info --json "$file" | jq .messages)))
    file_bytes=$((file_bytes + $(stat -c %s "$file")))
  done
  rm -rf "$recordings"
}
start_sink() {
  data_port=$(free_port)
  BARE_SINK_OUTPUT="$out/sink_output.bin" BARE_SINK_WRAP_BYTES=$((${keep_mb:-0} << 20)) \
    nice -n "$niceness" "$sink" tcp "$data_port" many \
    >"$out/sink.json" 2>"$out/sink.stderr" &
  receiver_pid=$!
  for _ in $(seq 100); do grep -q listening "$out/sink.stderr" && return 0; sleep 0.02; done
  echo "automotive_bench: bare_sink did not start" >&2
  exit 1
}
stop_sink() {
  kill -TERM "$receiver_pid"
  wait "$receiver_pid"
  receiver_pid=""
  if [[ -n $keep_mb ]]; then
    file_bytes=$(jq .bytes "$out/sink.json")  # every byte read was written, then wrapped
  else
    file_bytes=$(stat -c %s "$out/sink_output.bin")
  fi
  rm -f "$out/sink_output.bin"
}

# The four producers at once; each writes its report to $out/producer_<group>.json and its CPU
# to $out/producer_<group>.time. Returns when all have finished.
run_producers() {
  local group seed=1
  producer_pids=()
  for group in lidars cameras_a cameras_b small; do
    /usr/bin/time -f '{"user": %U, "system": %S}' -o "$out/producer_$group.time" \
      nice -n "$niceness" "$tool" send "tcp://127.0.0.1:$data_port" --sensor-set automotive \
      --topics "${groups[$group]}" --speed "$scale" --duration "${step_seconds}s" --seed "$seed" \
      --json >"$out/producer_$group.json" 2>"$out/producer_$group.stderr" &
    producer_pids+=($!)
    seed=$((seed + 1))
  done
  local failed=0
  for pid in "${producer_pids[@]}"; do wait "$pid" || failed=1; done
  producer_pids=()
  [[ $failed -eq 0 ]] || { echo "automotive_bench: a producer failed (see $out/producer_*.stderr)" >&2; exit 1; }
}

# One step into receiver $1 (sink, none, lz4 or zstd); sets step_line.
run_step() {
  local receiver=$1 cpu_before cpu_after threads="{}" written
  if [[ $receiver == sink ]]; then start_sink; else start_daemon "$receiver"; fi
  cpu_before=$(cpu_seconds "$receiver_pid")
  run_producers
  if [[ $receiver == sink ]]; then
    cpu_after=$(cpu_seconds "$receiver_pid")
    stop_sink
    written=null
  else
    wait_daemon_written
    cpu_after=$(cpu_seconds "$receiver_pid")
    threads=$(thread_cpu "$receiver_pid")
    stop_daemon
    written=$recorded
  fi
  step_line=$(jq -cn --arg receiver "$receiver" --argjson scale "$scale" \
    --argjson seconds "$step_seconds" --argjson written "$written" \
    --argjson cpu "$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.3f", b - a }')" \
    --argjson file_bytes "$file_bytes" --argjson threads "$threads" \
    --slurpfile reports <(cat "$out"/producer_{lidars,cameras_a,cameras_b,small}.json) \
    --slurpfile times <(cat "$out"/producer_{lidars,cameras_a,cameras_b,small}.time) \
    --slurpfile sink "$( [[ $receiver == sink ]] && echo "$out/sink.json" || echo /dev/null)" '
    ([$reports[].messages] | add) as $sent | ([$reports[].wire_bytes] | add) as $wire
    | ([$times[] | .user + .system] | add) as $producers_cpu
    | {receiver: $receiver, scale: $scale, seconds: $seconds,
       mb_per_s: ($wire / $seconds / 1e6 * 10 | round / 10),
       sent: $sent, written: $written,
       lost: (if $written == null then null else $sent - $written end),
       sink_bytes_short: (if ($sink | length) > 0 then $wire - $sink[0].bytes else null end),
       lag_ms: {max: ([$reports[].lag_ms.max] | max), p99: ([$reports[].lag_ms.p99] | max),
                max_after_1s: ([$reports[].lag_ms.max_after_1s] | max),
                per_producer: [$reports[] | .lag_ms]},
       cpu_s: $cpu, cpu_s_per_gb: ($cpu / ($wire / 1e9) * 1000 | round / 1000),
       threads_cpu_s: $threads,
       producers_cpu_s_per_gb: ($producers_cpu / ($wire / 1e9) * 1000 | round / 1000),
       file_bytes_per_input_byte: ($file_bytes / $wire * 1000 | round / 1000),
       wire_bytes: $wire}')
  echo "$step_line" | tee -a "$out/steps.jsonl" >&2
}

echo "automotive_bench: $(date -u +%FT%TZ) commit $(git -C "$here" rev-parse --short HEAD) scale $scale, ${step_seconds}s per step, steps: $steps${keep_mb:+, keeping $keep_mb MiB}; nice $niceness, load $(cut -d' ' -f1-3 /proc/loadavg), logs in $out" >&2
: >"$out/steps.jsonl"
if [[ -n $keep_mb ]]; then
  # Steps after the first reuse the pages the one before freed; give the first such pages too.
  dd if=/dev/zero of="$out/warm_up.bin" bs=1M count=$((step_bytes >> 20)) status=none
  rm -f "$out/warm_up.bin"
fi
for receiver in $steps; do run_step "$receiver"; done

jq -s '
  ([.[] | select(.receiver == "sink") | .cpu_s_per_gb]) as $sinks
  | (if ($sinks | length) > 0 then ($sinks | add / length) else null end) as $floor
  | {sink_cpu_s_per_gb: $sinks, floor: $floor,
     steps: [.[] | {receiver, mb_per_s, sent, written, lost,
                    lag_ms: {max: .lag_ms.max, p99: .lag_ms.p99, max_after_1s: .lag_ms.max_after_1s},
                    cpu_s_per_gb, producers_cpu_s_per_gb, file_bytes_per_input_byte,
                    ratio_to_sink: (if .receiver != "sink" and $floor != null
                                    then (.cpu_s_per_gb / $floor * 100 | round / 100) else null end)}]}' \
  "$out/steps.jsonl" | tee "$out/summary.json"
jq -r '["receiver", "MB/s", "sent", "written", "lost", "lag max ms", "lag p99 ms", "lag max after 1 s", "CPU-s/GB",
        "ratio to sink", "producers CPU-s/GB", "file/input"],
       (.steps[] | [.receiver, .mb_per_s, .sent, (.written // "-"), (.lost // "-"), .lag_ms.max,
                    .lag_ms.p99, .lag_ms.max_after_1s, .cpu_s_per_gb, (.ratio_to_sink // "-"), .producers_cpu_s_per_gb,
                    .file_bytes_per_input_byte])
       | @tsv' "$out/summary.json" | column -t -s $'\t' >&2
