#!/usr/bin/env bash
# Two or more builds through the automotive profile, alternating, so that they share the
# machine's moods: on these VMs one build's figure moves by ±30 % from minute to minute, more
# than most changes, and only a comparison within rounds (and medians over them) says anything.
#
#   bench/automotive_ab.sh ROUNDS LABEL=BUILD_DIR LABEL=BUILD_DIR ... [-- OUT_DIR]
#
# Each round runs bench/automotive_bench.sh once per build, in the order given, reversed in even
# rounds, so use an even ROUNDS (the environment is passed on: STEPS, STEP_SECONDS, SCALE, NICE,
# EXTRA_YAML, KEEP_MB). BUILD_DIR holds tools/mcaprec and daemon/mcaprecd: copy each build's two
# binaries somewhere of their own first. It prints a line per run as it goes, then for every
# build and receiver the median CPU-s/GB, the median ratio to the sink of the same run, and the
# messages lost in all; OUT_DIR/runs.jsonl has every run, OUT_DIR/ab.json the medians.
set -euo pipefail

rounds=${1:?usage: automotive_ab.sh ROUNDS LABEL=BUILD_DIR LABEL=BUILD_DIR ... [-- OUT_DIR]}
shift
builds=()
out=""
while [ $# -gt 0 ]; do
  case $1 in
    --) out=${2:?OUT_DIR after --}; shift 2 ;;
    *=*) builds+=("$1"); shift ;;
    *) echo "automotive_ab.sh: '$1' is not LABEL=BUILD_DIR" >&2; exit 2 ;;
  esac
done
[ ${#builds[@]} -ge 2 ] || { echo "automotive_ab.sh: give at least two LABEL=BUILD_DIR" >&2; exit 2; }
for build in "${builds[@]}"; do
  dir=${build#*=}
  for binary in tools/mcaprec daemon/mcaprecd; do
    [ -x "$dir/$binary" ] || { echo "automotive_ab.sh: no $dir/$binary" >&2; exit 2; }
  done
done
out=${out:-$(mktemp -d /dev/shm/automotive_ab.XXXXXX)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
runs="$out/runs.jsonl"
: > "$runs"

for round in $(seq 1 "$rounds"); do
  # Even rounds go in the reverse order: measured on 2026-12-07, the build that runs second in a
  # round came out up to 10 % dearer (bench/README, "Reading large TCP payloads ... landed").
  order=("${builds[@]}")
  if (( round % 2 == 0 )); then
    order=()
    for (( i = ${#builds[@]} - 1; i >= 0; i-- )); do order+=("${builds[i]}"); done
  fi
  for build in "${order[@]}"; do
    label=${build%%=*}
    run_dir="$out/$label-$round"
    rm -rf "$run_dir"
    "$here/automotive_bench.sh" "${build#*=}" "$run_dir" > "$run_dir.log" 2>&1 ||
      { echo "round $round, $label: the bench failed, see $run_dir.log" >&2; exit 1; }
    jq -c --arg build "$label" --argjson round "$round" \
      '{build: $build, round: $round, steps: [.steps[] | {receiver, cpu_s_per_gb, ratio_to_sink,
        lost, lag_after_1s_ms: .lag_ms.max_after_1s}]}' "$run_dir/summary.json" >> "$runs"
    jq -r '"round \(.round) \(.build): " + ([.steps[] | "\(.receiver) \(.cpu_s_per_gb)" +
      (if .ratio_to_sink then " (\(.ratio_to_sink))" else "" end)] | join(", "))' \
      <<< "$(tail -n 1 "$runs")"
    rm -rf "$run_dir"  # the recordings; the log stays
  done
done

jq -s '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 * 1000 | round / 1000 end;
  [.[] | .build as $b | .steps[] | . + {build: $b}]
  | group_by([.build, .receiver])
  | map({build: .[0].build, receiver: .[0].receiver, runs: length,
         cpu_s_per_gb: ([.[].cpu_s_per_gb] | median),
         ratio_to_sink: ([.[].ratio_to_sink | select(. != null)] | median),
         lost: ([.[].lost | select(. != null)] | add)})' "$runs" > "$out/ab.json"
echo
jq -r '["build", "receiver", "runs", "median CPU-s/GB", "median ratio to sink", "lost"],
  (.[] | [.build, .receiver, .runs, .cpu_s_per_gb, .ratio_to_sink // "-", .lost // "-"])
  | @tsv' "$out/ab.json" | column -t -s $'\t'
echo "every run: $runs"
