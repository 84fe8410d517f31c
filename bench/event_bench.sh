#!/usr/bin/env bash
# Event recording bench: what the look-back ring costs, and an event with a long look-back
# marked during a fast stream.
#
#   bench/event_bench.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR holds tools/mcaprec and daemon/mcaprecd. OUT_DIR (default under /dev/shm, so the
# disk is not what is measured) holds the recordings, the spool and logs. `mcaprec send` streams
# 64 KiB length-prefixed frames over TCP for SECONDS_PER_RUN (default 10), paced at RATE_MBPS
# (10^6 bytes per second; default unset: as fast as it can), compressed with COMPRESSION
# (default zstd, level 1; also lz4 or none). The runs, MODES (default "always ring on_event"):
#   always   no `events:` section: today's recorder;
#   ring     events on, the topic `record: always` (every chunk also copied into the ring);
#   on_event events on, the topic `record: on_event` (ring only, no continuous file);
#   quiet    events on like `ring`, but no event is marked: the baseline of an event's cost.
# In `ring` and `on_event`, `mcaprec ctl event` marks an event (before BEFORE, default 30s;
# after AFTER, default 2s) at EVENT_AT seconds into the stream (default SECONDS_PER_RUN - 3).
# The ring: LOOK_BACK (default 30s), RING_MEMORY (default 512MiB), SPOOL_BYTES (default
# 4GiB). Continuous files rotate at 1 GiB and retention keeps them within MAX_TOTAL (default
# 4GiB) so that a long run does not fill the tmpfs.
#
# One JSON line per run: the sender's achieved rate, messages sent / received / written (or
# kept), drops, look-back chunks the ring could not hold, the writer's longest time on one chunk
# (mcaprec_writer_longest_chunk_seconds: a stall would show here) and its in-flight peak, the
# daemon's CPU seconds per GB received, and the event file: size, messages, span against the
# event's window, where its first and last messages lie against the window's edges, and the
# chunks of the window it lacks (`chunks_missing`, from `mcaprec ctl events`). Its expected
# messages are counted, not estimated: /metrics is sampled every 50 ms during the run and the
# messages received between the window's start and end are interpolated from the samples
# (received messages get their log time on arrival). The recordings of a run are deleted after
# it unless KEEP is set.
#
# Payloads: `mcaprec send --raw-size` repeats one random 64 KiB payload. zstd finds each repeat
# inside a 1 MiB chunk and stores about 1/16 of it; lz4 (64 KiB window) and none store it whole.
set -euo pipefail

build=${1:?usage: event_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /dev/shm/mcaprec-event-bench.XXXXXX)}
seconds=${SECONDS_PER_RUN:-10}
compression=${COMPRESSION:-zstd}
event_at=${EVENT_AT:-$((seconds - 3))}
before=${BEFORE:-30s}
after=${AFTER:-2s}
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
# The sum of a metric family's samples. "%.0f", not "%d": mawk's %d stops at 2^31 - 1, which
# once made every run read 2147483647 bytes received (268 MB/s over 8 s, whatever the rate).
metric() {
  awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF }
                    END { printf "%.0f", sum }' "$metrics_file"
}
metric_float() {
  awk -v name="$1" '$1 == name { printf "%.6f", $NF }' "$metrics_file"
}
json_field() {  # $1 = file with one JSON object, $2 = python expression on `j`
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

write_config() {  # $1 = mode
  local mode=$1 events="" record=always
  if [[ $mode != always ]]; then
    events="events:
  look_back: ${LOOK_BACK:-30s}
  memory_bytes: ${RING_MEMORY:-512MiB}
  spool_bytes: ${SPOOL_BYTES:-4GiB}
  before: $before
  after: $after"
  fi
  [[ $mode != on_event ]] || record=on_event
  cat >"$out/$mode.yaml" <<YAML
output: {directory: $out/$mode, min_free_bytes: 0, max_bytes: 1GiB, max_total_bytes: ${MAX_TOTAL:-4GiB}}
mcap: {compression: $compression, compression_level: 1, chunk_max_age: 500ms}
pipeline: {memory_budget: 1GiB}
$events
sources:
  - {name: bench, transport: tcp, bind: 127.0.0.1:$data_port, format: length_prefixed, topic: /bench/raw}
channels:
  - {topic: /bench/raw, queue_bytes: 256MiB, record: $record}
metrics: {bind: 127.0.0.1:$metrics_port}
control: {socket: $out/$mode.sock}
logging: {level: warn}
YAML
}

# Every 50 ms until killed: the wall clock (ns, the log-time clock of received messages) and the
# messages received so far, so that the messages whose log time falls inside the event's window
# can be counted rather than estimated from the average rate.
sample_received() {  # $1 = mode
  exec python3 - "http://127.0.0.1:$metrics_port/metrics" >"$out/$1.received" <<'PY'
import sys, time, urllib.request
while True:
    before = time.time_ns()
    text = urllib.request.urlopen(sys.argv[1]).read().decode()
    after = time.time_ns()
    count = sum(float(line.split()[-1]) for line in text.splitlines()
                if line.startswith("mcaprec_channel_messages_received_total"))
    print((before + after) // 2, int(count), flush=True)
    time.sleep(0.05)
PY
}

mark_event() {  # $1 = mode; after EVENT_AT seconds of stream
  sleep "$event_at"
  "$tool" ctl --socket "$out/$1.sock" event bench --before "$before" --after "$after" --json \
    >"$out/$1.event.json"
}

# The event file's size, messages and span against the event's window, as JSON fields.
event_summary() {  # $1 = mode
  local file
  file=$(find "$out/$1" -name '*_event_*.mcap' | head -1)
  if [[ -z $file ]]; then
    echo '"event_file_MB": 0'
    return
  fi
  "$tool" info --json "$file" >"$out/$1.event_info.json"
  python3 - "$out/$1.event_info.json" "$out/$1.event.json" "$file" "$out/$1.send" "$event_at" \
    "$seconds" "$out/$1.events.json" "$out/$1.received" <<'PY'
import json, os, sys
info = json.load(open(sys.argv[1]))
event = json.load(open(sys.argv[2]))
sent = json.load(open(sys.argv[4]))
event_at, seconds = float(sys.argv[5]), float(sys.argv[6])
window = (event["window_end"] - event["window_start"]) / 1e9
span = (info["end_ns"] - info["start_ns"]) / 1e9
# Messages the window should hold: its overlap with the stream (which began about EVENT_AT
# before the trigger) at the stream's average rate.
before = (event["trigger_time"] - event["window_start"]) / 1e9
after = (event["window_end"] - event["trigger_time"]) / 1e9
overlap = min(after, seconds - event_at) - max(-before, -event_at)
expected = sent["messages"] / sent["seconds"] * overlap
# Better: the messages received inside the window, from the samples (linear between two).
samples = [tuple(map(int, line.split())) for line in open(sys.argv[8]) if len(line.split()) == 2]
def received_at(t):
    for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
        if t0 <= t <= t1:
            return c0 + (c1 - c0) * (t - t0) / max(t1 - t0, 1)
    return samples[-1][1] if samples and t > samples[-1][0] else 0
if len(samples) >= 2:
    expected = received_at(event["window_end"]) - received_at(event["window_start"])
# The chunks of the window its file lacks, as the daemon said after the look-ahead.
missing = "null"
if os.path.exists(sys.argv[7]):
    for state in json.load(open(sys.argv[7])).get("events", []):
        if state["id"] == event["id"]:
            missing = state.get("chunks_missing", "null")
# Where the file's first and last messages are against the window's edges (negative: before
# the edge); chunk edges allow up to one chunk_max_age outside.
first = (info["start_ns"] - event["window_start"]) / 1e9
last = (info["end_ns"] - event["window_end"]) / 1e9
print(f'"event_file_MB": {os.path.getsize(sys.argv[3]) / 1e6:.0f}, "event_messages": {info["messages"]}, '
      f'"event_expected_messages": {expected:.0f}, "event_span_s": {span:.2f}, '
      f'"event_window_s": {window:.2f}, "window_in_stream_s": {overlap:.2f}, '
      f'"first_message_after_window_start_s": {first:.3f}, "last_message_after_window_end_s": {last:.3f}, '
      f'"event_chunks_missing": {missing}')
PY
}

run() {  # $1 = always | ring | on_event | quiet
  local mode=$1
  data_port=$(free_port)
  metrics_port=$(free_port)
  metrics_file="$out/$mode.metrics"
  rm -rf "$out/$mode" "$out/$mode.event.json" && mkdir -p "$out/$mode"
  write_config "$mode"
  "$daemon" --config "$out/$mode.yaml" >"$out/$mode.stdout" 2>"$out/$mode.stderr" &
  daemon_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null && break; sleep 0.05; done
  local marker="" sampler=""
  if [[ $mode == ring || $mode == on_event ]]; then
    mark_event "$mode" &
    marker=$!
    sample_received "$mode" &
    sampler=$!
  fi
  "$tool" send "tcp://127.0.0.1:$data_port" --raw-size 64KiB "${pace[@]}" --duration "${seconds}s" \
    --json >"$out/$mode.send" 2>&1
  [[ -z $marker ]] || wait "$marker"
  sleep 4  # the event's look-ahead and close delay
  if [[ -n $marker ]]; then  # the event's state once written (chunks_missing)
    "$tool" ctl --socket "$out/$mode.sock" events --json >"$out/$mode.events.json" || true
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
  fi
  local cpu
  cpu=$(cpu_seconds "$daemon_pid")
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$metrics_file"
  kill -TERM "$daemon_pid"
  wait "$daemon_pid"
  daemon_pid=""
  local received sent_rate sent written kept dropped not_held longest peak event
  received=$(metric mcaprec_channel_bytes_received_total)
  sent=$(json_field "$out/$mode.send" 'j["messages"]')
  sent_rate=$(json_field "$out/$mode.send" 'j["megabytes_per_second"]')
  written=$(metric mcaprec_messages_written_total)
  kept=$(metric mcaprec_messages_kept_total)
  dropped=$(metric mcaprec_channel_messages_dropped_total)
  not_held=$(metric mcaprec_event_ring_chunks_not_held_total)
  longest=$(metric_float mcaprec_writer_longest_chunk_seconds)
  peak=$(metric mcaprec_in_flight_chunks_peak)
  event=$(event_summary "$mode")
  [[ -n ${KEEP:-} ]] || rm -rf "${out:?}/$mode"  # the next run gets the tmpfs back
  awk -v mode="$mode" -v cpu="$cpu" -v bytes="$received" -v rate="$sent_rate" -v sent="$sent" \
    -v received_messages="$(metric mcaprec_channel_messages_received_total)" \
    -v written="$written" -v kept="$kept" -v dropped="$dropped" -v not_held="$not_held" \
    -v longest="$longest" -v peak="$peak" -v event="$event" \
    'BEGIN { printf "{\"mode\": \"%s\", \"sent_MB_per_s\": %.0f, \"sent\": %s, \"received\": %s, \"written\": %s, \"kept\": %s, \"dropped\": %s, \"ring_chunks_not_held\": %s, \"writer_longest_chunk_ms\": %.1f, \"in_flight_peak\": %s, \"cpu_s_per_GB\": %.2f, %s}\n",
             mode, rate, sent, received_messages, written, kept, dropped, not_held, longest * 1000, peak, cpu / (bytes / 1e9), event }'
}

for mode in ${MODES:-always ring on_event}; do run "$mode"; done
