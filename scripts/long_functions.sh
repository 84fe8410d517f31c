#!/bin/sh
# Lists C++ functions longer than LIMIT lines (default 60), longest first: scripts/long_functions.sh
# [DIR...] (default lib tools daemon). A rough count that relies
# on clang-format's layout: a definition starts at column 0 and its body closes with "}" at column 0.
limit=${LIMIT:-60}
[ $# -gt 0 ] || set -- lib tools daemon
find "$@" -name '*.cpp' | sort | xargs awk -v limit="$limit" '
  FNR == 1 { start = 0; inbody = 0 }
  !inbody && /^[A-Za-z_].*\(/ && !/^(namespace|struct|class|enum|using|typedef|template|static_assert)\>/ && !/;[[:space:]]*$/ {
    start = FNR; name = $0; sub(/\(.*/, "", name); n = split(name, parts, " "); name = parts[n]
  }
  !inbody && start && /\{[[:space:]]*$/ { inbody = 1 }
  !inbody && start && /;[[:space:]]*$/ { start = 0 }
  inbody && /^\}/ {
    len = FNR - start + 1
    if (len > limit) printf "%5d  %s:%d  %s\n", len, FILENAME, start, name
    inbody = 0; start = 0
  }
' | sort -rn
