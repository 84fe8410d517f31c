#!/bin/sh
# Writes, for help2man --include, a COMMANDS section with one subsection per command of the
# `mcaprec` binary given: the command's own --help text, kept as it is printed. The commands are
# those `mcaprec --help` lists, so the page follows the binary without edits here.
# Usage: command_help.sh MCAPREC_BINARY OUT_FILE
set -eu
tool=$1
exec >"$2"
echo "[COMMANDS]"
"$tool" --help |
  awk '/^Commands:/ { listing = 1; next } listing && /^  [a-z]/ { print $1 } listing && /^$/ { exit }' |
  while read -r command; do
    echo ".SS \"mcaprec $command\""
    echo ".nf"
    # roff: a backslash is written \e, and a line may not start with a control character.
    "$tool" "$command" --help | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
    echo ".fi"
  done
