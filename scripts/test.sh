#!/usr/bin/env bash
# The README's test command: install, build, and run every test:
#   1. release-like build with warnings as errors, all tests (unit, conformance, tool, interop);
#   2. formatting check;
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build (line tables only), all C++ tests but
#      the layering checks (they only compile includes), interop and package;
#   4. ThreadSanitizer build of only what the pipeline, ingest and daemon tests run, and those tests;
#   5. the ingest decoders' libFuzzer targets, each for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

# In CI the package test also builds the .deb, installs it with dpkg -i, checks the installed
# configuration and purges it again; on a developer's machine it is left out.
if [ "${CI:-}" = true ]; then export MCAPREC_PACKAGE_TEST=1; fi

# The optimized builds keep -O2 with line tables only (-g1): file and line in every backtrace and
# sanitizer report, for about 30 % less compile time than full debug information.
optimized=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

echo "== build (warnings as errors)"
scripts/build.sh build -DMCAPREC_WERROR=ON "${optimized[@]}"
(cd build && ctest --output-on-failure -j2)

echo "== format"
# Every C++ file of the project (works in a tarball too, not only in a git checkout).
find lib daemon tools tests bench fuzz -name node_modules -prune -o \( -name '*.cpp' -o -name '*.hpp' \) \
  -print0 | xargs -0 clang-format --dry-run -Werror

# CI's disk is shared and has been seen with 2.5 GiB free. No stage reads an earlier stage's
# build, so CI drops each one (plain 3 GB, ASan 4.5 GB) once its tests have passed.
if [ "${CI:-}" = true ]; then rm -rf build; fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
scripts/build.sh build-asan -DMCAPREC_WERROR=ON -DMCAPREC_SANITIZE=address,undefined -DMCAPREC_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1
(cd build-asan && ctest --output-on-failure -j2 -E '^(interop|package|layering_.*)$')

if [ "${CI:-}" = true ]; then rm -rf build-asan; fi

echo "== ThreadSanitizer (pipeline, ingest, daemon)"
# Only what these tests run is built: their executables and the two binaries. tcp_stream_buffering
# has the TCP sessions reading payloads straight into queue segments that compressors then read.
tsan_tests=(-R 'pipeline|ingest|daemon|tcp_stream_buffering' -E '^layering_')
cmake -S . -B build-tsan -G Ninja -DMCAPREC_WERROR=ON -DMCAPREC_SANITIZE=thread -DMCAPREC_BUILD_BENCH=OFF \
  "${optimized[@]}" >/dev/null
mapfile -t tsan_targets < <(cd build-tsan && ctest -N "${tsan_tests[@]}" | sed -n 's/^ *Test *#[0-9]*: //p')
cmake --build build-tsan -j2 --target mcaprecd mcaprec "${tsan_targets[@]}"
(cd build-tsan && ctest --output-on-failure -j2 "${tsan_tests[@]}")
echo "== fuzzers (20 s each)"
fuzz/run.sh 20
echo "all test stages passed"
