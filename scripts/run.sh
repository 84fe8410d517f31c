#!/usr/bin/env bash
# The README's run command: install, build, and run mcaprec.
# Until the daemon lands, this writes a sample recording into ./recordings and shows the tool on it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DMCAPREC_WERROR=OFF
mkdir -p recordings
build/tests/interop/interop_write_samples recordings >/dev/null
sample=recordings/codec_zstd.mcap
build/tools/mcaprec info "$sample"
build/tools/mcaprec verify "$sample"
build/tools/mcaprec convert "$sample" recordings/converted_lz4.mcap --compression lz4
build/tools/mcaprec info recordings/converted_lz4.mcap
