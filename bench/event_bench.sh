#!/usr/bin/env bash
# Event recording bench: what the look-back ring costs, and an event with a long look-back
# marked during a fast stream.
#
#   bench/event_bench.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR holds tools/mcaprec and daemon/mcaprecd. OUT_DIR (default under /dev/shm, so the
# disk is not what is measured) holds the recordings and logs. `mcaprec send` streams 64 KiB
# length-prefixed frames over TCP for SECONDS_PER_RUN (default 10), paced at RATE_MBPS
# (10^6 bytes per second; default unset: as fast as it can), compressed with COMPRESSION
# (default zstd, level 1; also lz4 or none), in three runs:
#   always   no `events:` section: today's recorder;
#   ring     events on, the topic `record: always` (every chunk also copied into the ring);
#   on_event events on, the topic `record: on_event` (ring only, no continuous file);
# and prints, per run, the daemon's CPU seconds per GB received and the messages dropped. In the
# two event runs SIGUSR1 marks an event (look_back 30s, before 30s, after 2s) at SECONDS - 3:
# the event file's size and the daemon's drop count and writer stall flag show whether writing
# it disturbed the stream.
set -euo pipefail

build=${1:?usage: event_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /dev/shm/mcaprec-event-bench.XXXXXX)}
seconds=${SECONDS_PER_RUN:-10}
compression=${COMPRESSION:-zstd}
pace=(--max)
if [[ -n ${RATE_MBPS:-} ]]; then pace=(--rate $((RATE_MBPS * 1000000 / 65536))); fi
tool="$build/tools/mcaprec"
daemon="$build/daemon/mcaprecd"
mkdir -p "$out"
daemon_pid=""
trap '[[ -z $daemon_pid ]] || kill -KILL "$daemon_pid" 2>/dev/null || true' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}
metric() {  # sum of a metric family's samples
  curl -sf "http://127.0.0.1:$metrics_port/metrics" |
    awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%d", sum }'
}

run() {  # $1 = always | ring | on_event
  local mode=$1 events="" record=always
  data_port=$(free_port)
  metrics_port=$(free_port)
  rm -rf "$out/$mode" && mkdir -p "$out/$mode"
  if [[ $mode != always ]]; then
    events="events:
  look_back: 30s
  memory_bytes: ${RING_MEMORY:-512MiB}
  spool_bytes: 4GiB
  before: 30s
  after: 2s"
  fi
  [[ $mode != on_event ]] || record=on_event
  cat >"$out/$mode.yaml" <<YAML
output: {directory: $out/$mode, min_free_bytes: 0, max_bytes: 1GiB}
mcap: {compression: $compression, compression_level: 1, chunk_max_age: 500ms}
pipeline: {memory_budget: 1GiB}
$events
sources:
  - {name: bench, transport: tcp, bind: 127.0.0.1:$data_port, format: length_prefixed, topic: /bench/raw}
channels:
  - {topic: /bench/raw, queue_bytes: 256MiB, record: $record}
metrics: {bind: 127.0.0.1:$metrics_port}
logging: {level: warn}
YAML
  "$daemon" --config "$out/$mode.yaml" >"$out/$mode.stdout" 2>"$out/$mode.stderr" &
  daemon_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null && break; sleep 0.05; done
  "$tool" send "tcp://127.0.0.1:$data_port" --raw-size 64KiB "${pace[@]}" --duration "${seconds}s" \
    >"$out/$mode.send" 2>&1 &
  local sender=$!
  if [[ $mode != always ]]; then
    sleep $((seconds - 3))
    kill -USR1 "$daemon_pid"
  fi
  wait "$sender"
  sleep 4  # the event's look-ahead and close delay
  local cpu received dropped stalled event_bytes
  cpu=$(cpu_seconds "$daemon_pid")
  received=$(metric mcaprec_channel_bytes_received_total)
  dropped=$(metric mcaprec_channel_messages_dropped_total)
  stalled=$(metric mcaprec_writer_stalled)
  kill -TERM "$daemon_pid"
  wait "$daemon_pid"
  daemon_pid=""
  event_bytes=$(find "$out/$mode" -name '*_event_*.mcap' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
  awk -v mode="$mode" -v cpu="$cpu" -v bytes="$received" -v dropped="$dropped" \
    -v stalled="$stalled" -v event="$event_bytes" -v s="$seconds" \
    'BEGIN { printf "{\"mode\": \"%s\", \"MB_per_s\": %.0f, \"cpu_s_per_GB\": %.2f, \"dropped\": %d, \"writer_stalled\": %d, \"event_file_MB\": %.0f}\n",
             mode, bytes / s / 1e6, cpu / (bytes / 1e9), dropped, stalled, event / 1e6 }'
}

for mode in always ring on_event; do run "$mode"; done
