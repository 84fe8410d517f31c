#!/usr/bin/env bash
# End-to-end bench: `mcaprec send` -> loopback -> mcaprecd -> disk, beside a bare sink that
# receives and discards (bench/bare_sink.cpp) in the same run.
#
#   bench/e2e_bench.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR holds tools/mcaprec and daemon/mcaprecd (a Release build). Measures
#   - UDP raw 1,200-byte datagrams: the highest rate with zero loss (datagrams sent ==
#     messages in the recorded files, per `mcaprec info --json`, and the socket's kernel drop
#     counter in /proc/net/udp is 0), for mcaprecd and for the bare sink, in pairs that receive
#     the same way: with kernel coalescing (mcaprecd's default `coalesce: true`, the sink's
#     `gro`) and one datagram per receive (`coalesce: false`, the plain sink), both with
#     recvmmsg (batch 32); RECEIVERS=... adds the recvmsg ones (daemon1plain, sink1);
#   - TCP: MB/s of 64 KiB length-prefixed frames sent as fast as possible (TCP loses nothing),
#     TCP_ROUNDS times (default 3) with the receivers alternating, medians reported; beside
#     the bare sink, the sink writing all it reads to a file (one thread, no compression);
#   - CPU seconds per datagram of the sender and of the receiver (user and system apart; for
#     mcaprecd also per thread: ingest, compressors, writer...), and per GB received.
# Each step sends for STEP_SECONDS (default 3); the rates tried are the ladder RATES (default
# 100k to 1.2M datagrams/s, up to where the sender itself tops out, so that each receiver's
# loss-free rate is found rather than the top of the ladder), every receiver at one rate before
# the next (see udp_ladder).
# Prints one JSON line per step and a summary; OUT_DIR
# (default a temp dir) keeps the step logs. The UDP sender is `mcaprec send --raw-size 1200`
# with UDP_SEND_OPTIONS (default `--gso`: segmentation offload makes the sender cheap, so that
# the receivers are what is measured; set it empty for one sendmmsg entry per datagram). Both
# receivers get a 64 MiB socket receive buffer.
set -euo pipefail

build=${1:?usage: e2e_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /tmp/mcaprec-e2e-bench.XXXXXX)}
step_seconds=${STEP_SECONDS:-3}
udp_send_options=${UDP_SEND_OPTIONS---gso}
# NICE=-10 (as root) runs sender and receivers ahead of other work on a shared machine, to see
# what they do with the CPU to themselves; 0 by default.
niceness=${NICE:-0}
# The bench topic's queue in mcaprecd (a production config gives a high-rate topic its own
# queue, as config/examples/vehicle.yaml does): at 1.5 GB/s the 16 MiB default holds 11 ms, less
# than the compressors can be kept off the CPU on this shared 2-vCPU machine.
queue_bytes=${QUEUE_BYTES:-256MiB}
# TCP is measured this many times, the receivers alternating, and the median taken.
tcp_rounds=${TCP_ROUNDS:-3}
here=$(cd "$(dirname "$0")" && pwd)
tool="$build/tools/mcaprec"
daemon="$build/daemon/mcaprecd"
for binary in "$tool" "$daemon"; do
  [[ -x $binary ]] || { echo "e2e_bench: $binary missing (build mcaprec and mcaprecd)" >&2; exit 1; }
done
mkdir -p "$out"
sink="$out/bare_sink"
c++ -std=c++20 -O2 -o "$sink" "$here/bare_sink.cpp"

receiver_pid=""
cleanup() {
  if [[ -n $receiver_pid ]]; then kill -KILL "$receiver_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# CPU seconds (user + system) a live process has used so far, and the two apart.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}
cpu_split() {  # {"user": s, "system": s}
  awk -v hz="$(getconf CLK_TCK)" '{ printf "{\"user\": %.3f, \"system\": %.3f}", $14 / hz, $15 / hz }' \
    "/proc/$1/stat"
}
# CPU seconds of each thread of a live process, summed by thread name (digits dropped, so the
# compressors mcaprec-zip-0, -1... are one entry): {"mcaprec-in-": s, ...}.
thread_cpu() {
  local hz task
  hz=$(getconf CLK_TCK)
  for task in /proc/"$1"/task/*; do
    # The name is in parentheses and may hold spaces: take the fields after the last ')'.
    sed -e 's/^[0-9]* (\(.*\)) /\1\t/' "$task/stat" 2>/dev/null
  done | awk -F'\t' -v hz="$hz" '{ name = $1; gsub(/[0-9]+$/, "", name); split($2, f, " ");
      cpu[name] += (f[12] + f[13]) / hz }
    END { printf "{"; sep = ""; for (n in cpu) { printf "%s\"%s\": %.3f", sep, n, cpu[n]; sep = ", " }
          printf "}" }'
}
wait_for_http() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/metrics" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "e2e_bench: mcaprecd did not come up (see $out)" >&2
  exit 1
}
# The kernel's drop counter of the UDP socket bound to 127.0.0.1:$1 (last column of
# /proc/net/udp). Unlike SO_RXQ_OVFL, which rides on the next datagram received, it also counts
# datagrams dropped at the very end of a step.
udp_socket_drops() {
  awk -v address="$(printf '0100007F:%04X' "$1")" '$2 == address { print $NF; found = 1 }
    END { if (!found) print -1 }' /proc/net/udp
}
# Packets dropped by every CPU's input backlog (net.core.netdev_max_backlog, the queue loopback
# traffic passes through before any socket): /proc/net/softnet_stat, second column, hex. System
# wide, so other traffic on the machine counts too.
backlog_drops() {
  local total=0 column
  while read -r _ column _; do total=$((total + 16#$column)); done </proc/net/softnet_stat
  echo "$total"
}
# Waits (up to 3 s) until the receiver has read everything queued on its UDP socket: the
# rx_queue half of the fifth column of /proc/net/udp is 0.
wait_socket_read() {
  local address queued
  address=$(printf '0100007F:%04X' "$1")
  for _ in $(seq 150); do
    queued=$(awk -v address="$address" '$2 == address { split($5, q, ":"); print q[2] }' /proc/net/udp)
    [[ $queued != 00000000 ]] || return 0
    sleep 0.02
  done
}
metric_sum() {  # sum of every sample of a metric family in a /metrics text
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%d", sum }' "$1"
}

# Starts mcaprecd with one source ($1 = tcp|udp, $2 = format, $3 = udp receive_batch, $4 =
# udp coalesce true|false) on a fresh output directory.
start_daemon() {
  local transport=$1 format=$2 batch_line=""
  [[ $transport != udp ]] || batch_line="    receive_batch: $3
    coalesce: ${4:-true}
    receive_buffer: 64MiB"

  data_port=$(free_port)
  metrics_port=$(free_port)
  recordings="$out/recordings"
  rm -rf "$recordings"
  cat >"$out/mcaprecd.yaml" <<EOF
output:
  directory: $recordings
  min_free_bytes: 0
mcap:
  compression: zstd
  compression_level: 1
  chunk_max_age: 500ms
sources:
  - name: bench
    transport: $transport
    bind: 127.0.0.1:$data_port
    format: $format
    topic: /bench/raw
$batch_line
channels:
  - topic: /bench/raw
    queue_bytes: $queue_bytes
metrics:
  bind: 127.0.0.1:$metrics_port
logging:
  level: warn
EOF
  nice -n "$niceness" "$daemon" --config "$out/mcaprecd.yaml" >"$out/daemon.stdout" 2>>"$out/daemon.stderr" &
  receiver_pid=$!
  wait_for_http "$metrics_port"
}
# Stops mcaprecd (SIGTERM, must exit 0); sets `recorded` to the messages in its files.
# (Start and stop run in the main shell, never in $(...), so that `wait` sees the child.)
stop_daemon() {
  kill -TERM "$receiver_pid"
  local status=0
  wait "$receiver_pid" || status=$?
  receiver_pid=""
  [[ $status -eq 0 ]] || { echo "e2e_bench: mcaprecd exited $status" >&2; exit 1; }
  recorded=0
  for file in "$recordings"/*.mcap; do
    recorded=$((recorded + $("$tool" info --json "$file" | jq .messages)))
  done
}
start_sink() {  # $1 = udp|tcp, $2 = udp batch, $3 = gro (udp coalescing) or nothing
  data_port=$(free_port)
  # shellcheck disable=SC2086  # no batch argument for tcp
  nice -n "$niceness" "$sink" "$1" "$data_port" ${2:-} ${3:-} >"$out/sink.json" 2>"$out/sink.stderr" &
  receiver_pid=$!
  for _ in $(seq 100); do grep -q listening "$out/sink.stderr" && return 0; sleep 0.02; done
  echo "e2e_bench: bare_sink did not start" >&2
  exit 1
}
stop_sink() {
  kill -TERM "$receiver_pid"
  wait "$receiver_pid"
  receiver_pid=""
}

# One UDP step at $2 datagrams/s into receiver $1: daemon32 (coalescing), daemon32plain,
# daemon1plain, sink32gro (coalescing), sink32, sink1; the number is the receive batch. Sets
# step_line to a JSON line with sent, received, kernel
# drops, achieved rate, sender and receiver CPU, and lossless.
udp_step() {
  local receiver=$1 rate=$2 sent received drops cpu split threads="{}"
  case $receiver in
    daemon32) start_daemon udp raw 32 true ;;
    daemon32plain) start_daemon udp raw 32 false ;;
    daemon1plain) start_daemon udp raw 1 false ;;
    sink32gro) start_sink udp 32 gro ;;
    sink32) start_sink udp 32 ;;
    sink1) start_sink udp 1 ;;
  esac
  local backlog_before
  backlog_before=$(backlog_drops)
  local pace=(--rate "$rate")
  [[ $rate -gt 0 ]] || pace=(--max)  # rate 0: as fast as the sender can
  # shellcheck disable=SC2086  # the sender options are words
  /usr/bin/time -f '{"user": %U, "system": %S}' -o "$out/send.time" \
    nice -n "$niceness" "$tool" send "udp://127.0.0.1:$data_port" --raw-size 1200 "${pace[@]}" $udp_send_options \
    --duration "$step_seconds" --json >"$out/send.json"
  wait_socket_read "$data_port"
  sleep 0.5  # and let the daemon's pipeline take what the listener read
  cpu=$(cpu_seconds "$receiver_pid")
  split=$(cpu_split "$receiver_pid")
  [[ $receiver != daemon* ]] || threads=$(thread_cpu "$receiver_pid")
  drops=$(udp_socket_drops "$data_port")
  backlog=$(($(backlog_drops) - backlog_before))
  if [[ $receiver == daemon* ]]; then
    curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$out/metrics.txt"
    reported_drops=$(metric_sum "$out/metrics.txt" mcaprec_source_kernel_dropped_datagrams_total)
    pipeline_drops=$(metric_sum "$out/metrics.txt" mcaprec_channel_messages_dropped_total)
    stop_daemon
    received=$recorded
  else
    stop_sink
    reported_drops=$(jq .kernel_drops "$out/sink.json")
    pipeline_drops=0
    received=$(jq .datagrams "$out/sink.json")
  fi
  sent=$(jq .datagrams "$out/send.json")
  step_line=$(jq -cn --arg receiver "$receiver" --argjson rate "$rate" --argjson sent "$sent" \
    --argjson received "$received" --argjson drops "$drops" --argjson cpu "$cpu" \
    --argjson reported_drops "$reported_drops" --argjson backlog "$backlog" \
    --argjson pipeline_drops "$pipeline_drops" \
    --argjson achieved "$(jq .messages_per_second "$out/send.json")" \
    --arg options "$udp_send_options" --argjson split "$split" --argjson threads "$threads" --slurpfile sender "$out/send.time" \
    '{kind: "udp", receiver: $receiver, sender_options: $options, requested_rate: $rate,
      achieved_rate: $achieved,
      sent: $sent, received: $received, kernel_drops: $drops,
      drops_reported_by_receiver: $reported_drops, pipeline_drops: $pipeline_drops,
      backlog_drops: $backlog, receiver_cpu_s: $cpu,
      receiver_cpu: $split, receiver_threads_cpu_s: $threads, sender_cpu: $sender[0],
      us_per_datagram: (if $sent > 0 then {
        sender_user: ($sender[0].user / $sent * 1e7 | round / 10),
        sender_system: ($sender[0].system / $sent * 1e7 | round / 10),
        receiver_user: ($split.user / $sent * 1e7 | round / 10),
        receiver_system: ($split.system / $sent * 1e7 | round / 10)} else null end),
      cpu_s_per_gb: (if $received > 0 then ($cpu / ($received * 1200 / 1e9) * 1000 | round / 1000) else null end),
      lossless: ($sent == $received and $drops == 0),
      sender_limited: ($rate == 0 or $achieved < 0.9 * $rate)}')
  echo "$step_line" | tee -a "$out/steps.jsonl" >&2
}

# Records a loss-free step as receiver $1's best if its achieved rate beats the best so far (a
# sender-limited step at a higher rate asked can achieve less than the step before it).
keep_if_faster() {
  [[ -s $out/udp_$1.json ]] || echo '{}' >"$out/udp_$1.json"
  if jq -e --argjson step "$2" '($step.achieved_rate // 0) > (.achieved_rate // 0)' \
    "$out/udp_$1.json" >/dev/null; then
    echo "$2" >"$out/udp_$1.json"
  fi
}

# Highest lossless rate of every receiver, interleaved: each rate of the ladder RATES is tried
# on every receiver in turn before the next rate, so that the load of the (shared) machine
# changes the receivers' conditions alike. A receiver leaves the ladder after losing at two
# rates in a row, or once the sender could not reach the rate asked. Writes each receiver's
# best lossless step to $out/udp_<receiver>.json.
udp_ladder() {
  local receiver rate line
  local -A misses=() finished=()
  for receiver in "$@"; do echo '{}' >"$out/udp_$receiver.json"; misses[$receiver]=0; done
  for rate in ${RATES:-100000 200000 300000 400000 500000 600000 700000 800000 900000 1000000 1200000 1400000 1700000 2000000}; do
    for receiver in "$@"; do
      [[ -z ${finished[$receiver]:-} ]] || continue
      udp_step "$receiver" "$rate"
      line=$step_line
      if [[ $(jq .lossless <<<"$line") == true ]]; then
        keep_if_faster "$receiver" "$line"
        misses[$receiver]=0
        [[ $(jq .sender_limited <<<"$line") != true ]] || finished[$receiver]=1
      else
        misses[$receiver]=$((misses[$receiver] + 1))
        [[ ${misses[$receiver]} -lt 2 ]] || finished[$receiver]=1
      fi
    done
  done
}

# One TCP step into receiver $1: daemon, sink, or sinkwrite (the sink writing every byte it
# reads to a file: receiving and writing in one thread, no queue, no compression).
tcp_step() {
  local receiver=$1 cpu received
  case $receiver in
    daemon) start_daemon tcp length_prefixed ;;
    sink) start_sink tcp ;;
    sinkwrite) BARE_SINK_OUTPUT="$out/sink_output.bin" start_sink tcp ;;
  esac
  nice -n "$niceness" "$tool" send "tcp://127.0.0.1:$data_port" --raw-size 64KiB --max --duration "$step_seconds" \
    --json >"$out/send.json"
  cpu=$(cpu_seconds "$receiver_pid")
  local threads="{}"
  [[ $receiver != daemon ]] || threads=$(thread_cpu "$receiver_pid")
  if [[ $receiver == daemon ]]; then
    stop_daemon
    received=$((recorded * 65536))
  else
    stop_sink
    rm -f "$out/sink_output.bin"
    received=$(jq .bytes "$out/sink.json")
  fi
  step_line=$(jq -cn --arg receiver "$receiver" --argjson received "$received" --argjson cpu "$cpu" \
    --slurpfile send "$out/send.json" --argjson threads "$threads" \
    '{kind: "tcp", receiver: $receiver, mb_per_s: $send[0].megabytes_per_second,
      sent_bytes: $send[0].bytes, received_bytes: $received, receiver_cpu_s: $cpu,
      receiver_threads_cpu_s: $threads,
      cpu_s_per_gb: ($cpu / ($received / 1e9) * 1000 | round / 1000)}')
  echo "$step_line" | tee -a "$out/steps.jsonl" >&2
}

echo "e2e_bench: $(date -u +%FT%TZ) commit $(git -C "$here" rev-parse --short HEAD) step ${step_seconds}s, nice $niceness, load $(cut -d' ' -f1-3 /proc/loadavg), logs in $out" >&2
: >"$out/steps.jsonl"
: >"$out/tcp_rounds.jsonl"
for round in $(seq "$tcp_rounds"); do
  for receiver in sink daemon sinkwrite; do
    tcp_step "$receiver"
    jq -c --argjson round "$round" '. + {round: $round}' <<<"$step_line" >>"$out/tcp_rounds.jsonl"
  done
done
# shellcheck disable=SC2086  # RECEIVERS narrows the list
udp_ladder ${RECEIVERS:-sink32gro daemon32 sink32 daemon32plain}
# The sender's own ceiling with each receiver (and whether that receiver loses anything there).
for receiver in sink32gro daemon32 sink32 daemon32plain; do
  udp_step "$receiver" 0
  echo "$step_line" >"$out/udp_max_$receiver.json"
  # As fast as the sender goes with nothing lost is a loss-free rate too.
  [[ $(jq .lossless <<<"$step_line") != true ]] || keep_if_faster "$receiver" "$step_line"
done
for name in sink32gro daemon32 sink32 daemon32plain sink1 daemon1plain; do  # left out by RECEIVERS
  [[ -s $out/udp_$name.json ]] || echo '{}' >"$out/udp_$name.json"
done

jq -n --slurpfile tcp "$out/tcp_rounds.jsonl" \
  --slurpfile sink32gro "$out/udp_sink32gro.json" --slurpfile daemon32 "$out/udp_daemon32.json" \
  --slurpfile sink32 "$out/udp_sink32.json" --slurpfile daemon32plain "$out/udp_daemon32plain.json" \
  --slurpfile sink1 "$out/udp_sink1.json" --slurpfile daemon1plain "$out/udp_daemon1plain.json" \
  --slurpfile max_sink32gro "$out/udp_max_sink32gro.json" --slurpfile max_daemon32 "$out/udp_max_daemon32.json" \
  --slurpfile max_sink32 "$out/udp_max_sink32.json" --slurpfile max_daemon32plain "$out/udp_max_daemon32plain.json" '
  def ratio(a; b): if (a // 0) > 0 and (b // 0) > 0 then (a / b * 1000 | round / 1000) else null end;
  def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
  def tcp_of(name): [$tcp[] | select(.receiver == name)];
  def tcp_median(name; field): [tcp_of(name)[] | .[field]] | median;
  def best(step): step[0] | {rate: .achieved_rate, sender_limited, us_per_datagram,
                             threads_cpu_s: .receiver_threads_cpu_s, cpu_s_per_gb};
  def at_max(step): step[0] | {achieved_rate, lossless, sent, received, kernel_drops, us_per_datagram};
  {
    tcp: {rounds: (tcp_of("daemon") | length),
          daemon_mb_per_s: tcp_median("daemon"; "mb_per_s"),
          bare_sink_mb_per_s: tcp_median("sink"; "mb_per_s"),
          writing_sink_mb_per_s: tcp_median("sinkwrite"; "mb_per_s"),
          ratio: ratio(tcp_median("daemon"; "mb_per_s"); tcp_median("sink"; "mb_per_s")),
          round_ratios: [range(0; tcp_of("daemon") | length) as $i
                         | ratio(tcp_of("daemon")[$i].mb_per_s; tcp_of("sink")[$i].mb_per_s)],
          daemon_cpu_s_per_gb: tcp_median("daemon"; "cpu_s_per_gb"),
          bare_sink_cpu_s_per_gb: tcp_median("sink"; "cpu_s_per_gb"),
          writing_sink_cpu_s_per_gb: tcp_median("sinkwrite"; "cpu_s_per_gb")},
    udp_1200B_lossless: {
          coalescing: {daemon: best($daemon32), bare_sink: best($sink32gro),
                       ratio: ratio($daemon32[0].achieved_rate; $sink32gro[0].achieved_rate)},
          one_per_receive: {daemon: best($daemon32plain), bare_sink: best($sink32),
                            ratio: ratio($daemon32plain[0].achieved_rate; $sink32[0].achieved_rate)},
          recvmsg: {daemon: best($daemon1plain), bare_sink: best($sink1)}},
    udp_sender_max: {
          coalescing: {daemon: at_max($max_daemon32), bare_sink: at_max($max_sink32gro)},
          one_per_receive: {daemon: at_max($max_daemon32plain), bare_sink: at_max($max_sink32)}}
  }' | tee "$out/summary.json"
