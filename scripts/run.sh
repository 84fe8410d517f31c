#!/usr/bin/env bash
# The README's run command: install what is missing, build the release binaries, and run the
# daemon in the foreground on config/default.yaml (loopback only, recording into ./recordings).
# Stop it with Ctrl-C (SIGINT): it drains, finalizes the open file and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCAPREC_BUILD_TESTS=OFF \
  -DMCAPREC_BUILD_BENCH=OFF >/dev/null
cmake --build build-release -j2 --target mcaprecd mcaprec
exec build-release/daemon/mcaprecd --config config/default.yaml
