#!/bin/sh
# Lists C++ functions longer than LIMIT lines (default 60), longest first, from each function's
# first and last line as Universal Ctags (Debian: universal-ctags) finds them.
# Usage: [LIMIT=N] scripts/long_functions.sh [DIR_OR_FILE...]   (default: lib daemon tools)
limit=${LIMIT:-60}
[ $# -gt 0 ] || set -- lib daemon tools
ctags -R --languages=C++ --kinds-C++=f --fields=+nes -o - "$@" |
  awk -F'\t' -v limit="$limit" '{
    first = 0; last = 0; name = $1
    for (i = 4; i <= NF; i++) {
      if ($i ~ /^line:/) first = substr($i, 6)
      else if ($i ~ /^end:/) last = substr($i, 5)
      else if ($i ~ /^(class|struct):/) { sub(/^.*:/, "", $i); name = $i "::" $1 }
    }
    if (last - first + 1 > limit) printf "%5d  %s:%d  %s\n", last - first + 1, $2, first, name
  }' | sort -rn
