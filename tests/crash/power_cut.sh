#!/usr/bin/env bash
# Power-cut trials: power_cut_trials (the pipeline recording through a file system that simulates
# power cuts, the start-up recovery and our verifier on every image), then the official reader
# (@mcap/core, every CRC) over every distinct file the trials ended with, in one node process.
#
# usage: tests/crash/power_cut.sh [--trials N] [--seed S] [more power_cut_trials options]
#   MCAPREC_POWER_CUT_TRIALS  the trials binary (default build/tests/crash/power_cut_trials)
# The runs named in power_cut_seeds.txt (each once failed) run first, every time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
trials_bin="${MCAPREC_POWER_CUT_TRIALS:-$root/build/tests/crash/power_cut_trials}"
if [[ ! -x "$trials_bin" ]]; then
  echo "power_cut.sh: no trials binary at $trials_bin (build the power_cut_trials target)" >&2
  exit 2
fi
scratch_base=/dev/shm
[[ -d $scratch_base && -w $scratch_base ]] || scratch_base="${TMPDIR:-/tmp}"
images="$(mktemp -d "$scratch_base/mcaprec-power-cut-images-XXXXXX")"
trap 'rm -rf "$images"' EXIT

status=0
"$trials_bin" --seeds-file "$here/power_cut_seeds.txt" --images "$images" "$@" || status=$?

interop="$root/tests/interop"
if command -v node >/dev/null && [[ -d $interop/node_modules/@mcap/core ]]; then
  node "$here/check_images.mjs" "$images" || status=1
else
  echo "power_cut.sh: node or tests/interop/node_modules missing: official reader not run" >&2
fi
exit $status
