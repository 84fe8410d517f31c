#!/usr/bin/env bash
# `mcaprec convert --compression zstd --level 1` against `zstd -1 -T1` on the same bytes, in one
# run. The input is an uncompressed MCAP file of the sensor mix dominated by incompressible
# camera frames (bench/make_mix_file); zstd compresses that same file (payload plus ~1.4 % of
# MCAP framing), so both read exactly the same bytes. Each command runs REPS times; the medians
# of wall, user+sys CPU (and each part) and the throughput (input bytes / wall, input bytes / CPU) are printed,
# then the ratios convert/zstd. The target is convert >= 0.7x zstd's throughput.
#
#   bench/convert_vs_zstd.sh [BUILD_DIR] [SECONDS] [REPS] [THREADS...]
#
# BUILD_DIR defaults to build-release (a Release build with make_mix_file and mcaprec);
# SECONDS of the mix (default 8, ~190 MB); REPS default 3; THREADS are the --threads values to
# run convert with (default: 1 and 0 = one per CPU). Output files go to a temporary directory
# that is removed at the end. Note: convert fsyncs its output, zstd does not; the CPU figures
# are not affected, the wall figures slightly.
set -euo pipefail

build=${1:-build-release}
seconds=${2:-8}
reps=${3:-3}
shift $(($# < 3 ? $# : 3))
threads=("$@")
[ ${#threads[@]} -eq 0 ] && threads=(1 0)

tool="$build/tools/mcaprec"
maker="$build/bench/make_mix_file"
for f in "$tool" "$maker"; do
  [ -x "$f" ] || { echo "missing $f: build the targets mcaprec and make_mix_file" >&2; exit 1; }
done
command -v zstd >/dev/null || { echo "zstd is not installed" >&2; exit 1; }

work=$(mktemp -d /tmp/convert_vs_zstd.XXXXXX)
trap 'rm -rf "$work"' EXIT
input="$work/mix.mcap"
"$maker" "$input" "$seconds"
bytes=$(stat -c %s "$input")
echo "input: $bytes bytes; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs "$@" REPS times; prints the medians "wall cpu user sys" (seconds).
measure() {
  local walls=() cpus=() users=() syss=()
  for _ in $(seq "$reps"); do
    /usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$@" >/dev/null 2>&1 ||
      { echo "failed: $*" >&2; exit 1; }
    read -r wall user sys <"$work/time.txt"
    walls+=("$wall")
    cpus+=("$(echo "$user + $sys" | bc -l)")
    users+=("$user")
    syss+=("$sys")
  done
  local mid=$(((reps + 1) / 2))
  median() { printf '%s\n' "$@" | sort -g | sed -n "${mid}p"; }
  echo "$(median "${walls[@]}") $(median "${cpus[@]}") $(median "${users[@]}")" \
    "$(median "${syss[@]}")"
}

report() {  # name wall cpu user sys
  awk -v n="$1" -v w="$2" -v c="$3" -v u="$4" -v s="$5" -v b="$bytes" 'BEGIN {
    printf "%-30s wall %6.3f s  cpu %6.3f s (user %5.2f, sys %5.2f)  %6.1f MB/s wall" \
           "  %6.1f MB/s cpu\n", n, w, c, u, s, b / w / 1e6, b / c / 1e6 }'
}

read -r zstd_wall zstd_cpu zstd_user zstd_sys < <(
  measure zstd -1 -T1 -q -f "$input" -o "$work/mix.mcap.zst")
report "zstd -1 -T1" "$zstd_wall" "$zstd_cpu" "$zstd_user" "$zstd_sys"
for t in "${threads[@]}"; do
  read -r conv_wall conv_cpu conv_user conv_sys < <(measure "$tool" convert "$input" "$work/out.mcap" \
    --compression zstd --level 1 --threads "$t")
  report "mcaprec convert --threads $t" "$conv_wall" "$conv_cpu" "$conv_user" "$conv_sys"
  awk -v zw="$zstd_wall" -v zc="$zstd_cpu" -v cw="$conv_wall" -v cc="$conv_cpu" -v t="$t" \
    'BEGIN { printf "  ratio convert(--threads %s)/zstd throughput: %.2fx wall, %.2fx cpu" \
             " (target >= 0.7x)\n", t, zw / cw, zc / cc }'
done
