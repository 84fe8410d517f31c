#!/usr/bin/env bash
# Builds the libFuzzer targets of the ingest decoders (clang, ASan + UBSan) and runs each one for
# a bounded time on its seed corpus. New inputs go to a scratch directory, so the committed
# corpus stays as it is. A crash leaves its input as crash-* in the current directory and makes
# this script fail.
# Usage: fuzz/run.sh [seconds per target, default 20]
# Env: MCAPREC_FUZZ_BUILD (build directory, default <repo>/build-fuzz), JOBS (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${MCAPREC_FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-20}
targets=(mcap_stream mcap_datagram length_prefixed)

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMCAPREC_FUZZ=ON \
  -DMCAPREC_BUILD_TESTS=OFF -DMCAPREC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]/#/fuzz_}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  echo "== fuzz_$target for ${seconds}s"
  mkdir -p "$scratch/$target"
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch/$target" "$root/fuzz/corpus/$target"
done
