#!/usr/bin/env bash
# The layers of lib/ as the build enforces them: a source of one layer, compiled with exactly the
# include paths its library gets, can include its own headers and those of the layers below it,
# and an include of a layer above (or beside) it fails with "No such file".
# Usage: upward_include_test.sh COMPILER LAYER INCLUDE_DIRS ALLOWED_HEADER FORBIDDEN_HEADER...
#   INCLUDE_DIRS: the library's include directories, separated by ':'.
set -uo pipefail
compiler=$1 layer=$2 dirs=$3 allowed=$4
shift 4
flags=(-std=c++20 -fsyntax-only -x c++)
IFS=: read -r -a roots <<<"$dirs"
for root in "${roots[@]}"; do [ -n "$root" ] && flags+=("-I$root"); done

probe() { printf '#include "%s"\nint main() { return 0; }\n' "$1" | "$compiler" "${flags[@]}" - 2>&1; }

if ! out=$(probe "$allowed"); then
  echo "FAIL: $layer cannot include its own or a lower layer's header $allowed:"
  echo "$out" | head -5
  exit 1
fi
for header in "$@"; do
  if out=$(probe "$header"); then
    echo "FAIL: $layer could include $header, a layer it does not build on"
    exit 1
  fi
  if ! grep -q "No such file" <<<"$out"; then
    echo "FAIL: including $header from $layer failed for another reason:"
    echo "$out" | head -5
    exit 1
  fi
  echo "ok: $layer refuses $header"
done
echo "ok: $layer includes $allowed"
