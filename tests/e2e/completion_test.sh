#!/usr/bin/env bash
# The bash completion of mcaprec (tools/mcaprec.bash-completion), driven as bash drives it:
# COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY checked. Commands and options come
# from the real binary's --help.
# Usage: completion_test.sh COMPLETION_FILE MCAPREC_BINARY
set -uo pipefail
source "$1"
tool=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir day1
touch a.mcap b.mcap.active notes.txt

failures=0
# complete WORD...: the completions of the last word, sorted, one line.
complete_line() {
  COMP_WORDS=("$tool" "${@}")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _mcaprec
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {  # expect "WORDS" "EXPECTED"   (EXPECTED: the sorted completions, space-separated)
  local got
  read -ra words <<<"$1"
  [[ $1 == *' ' ]] && words+=("")
  got=$(complete_line "${words[@]}")
  if [[ $got != "$2" ]]; then
    echo "FAIL: mcaprec $1<TAB>: expected '$2', got '$got'"
    failures=$((failures + 1))
  fi
}
contains() {  # contains "WORDS" "ONE_COMPLETION"
  local got
  read -ra words <<<"$1"
  [[ $1 == *' ' ]] && words+=("")
  got=" $(complete_line "${words[@]}") "
  if [[ $got != *" $2 "* ]]; then
    echo "FAIL: mcaprec $1<TAB>: '$2' not among '$got'"
    failures=$((failures + 1))
  fi
}

for command in info verify convert recover send; do contains " " "$command"; done
contains " " "--version"
expect "rec" "recover"
expect "recover --d" "--dry-run"
contains "send --" "--speed"
contains "send --" "--raw-size"
expect "convert --compression " "lz4 none zstd"
expect "info " "a.mcap b.mcap.active day1"
expect "verify d" "day1"
expect "send " "tcp://127.0.0.1: udp://127.0.0.1:"
expect "send tcp://127.0.0.1:9410 " "a.mcap b.mcap.active day1"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "completion test passed"
