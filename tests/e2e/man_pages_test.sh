#!/usr/bin/env bash
# The man pages the build generated (cmake/ManPages.cmake) render with `man -l` without groff
# errors and hold what a reader looks for: options, exit statuses (78, 3), every command, the
# configuration keys. Usage: man_pages_test.sh MAN_DIR   (exits 77, skipped, when the build had
# no help2man/go-md2man and so no pages)
set -euo pipefail
dir=$1
if [[ ! -e $dir/mcaprecd.8.gz ]]; then
  echo "SKIPPED: no man pages in $dir (install help2man and go-md2man, then rebuild man_pages)"
  exit 77
fi
failures=0
check() {  # check PAGE TEXT...: each TEXT is in the rendered page
  local page=$1 text errors
  shift
  errors=$(mktemp)
  if ! text=$(MANWIDTH=100 man -l "$dir/$page" 2>"$errors"); then
    echo "FAIL: man -l $page failed: $(cat "$errors")"
    failures=$((failures + 1))
  fi
  # Wide tables are reflowed by groff and reported; anything else is a defect of the page.
  if grep -v -e 'table wider than line width' -e "^warning: file '<standard input>'" "$errors" |
    grep -q .; then
    echo "FAIL: $page: groff says: $(cat "$errors")"
    failures=$((failures + 1))
  fi
  rm -f "$errors"
  for expected in "$@"; do
    grep -qF -- "$expected" <<<"$text" || {
      echo "FAIL: $page lacks '$expected'"
      failures=$((failures + 1))
    }
  done
}
check mcaprecd.8.gz "MCAPRECD(8)" "NAME" "mcaprecd - MCAP recording daemon" "--check-config FILE" \
  "EXIT STATUS" "78" "RestartPreventExitStatus=78" "SIGHUP" "mcaprec.yaml(5)"
check mcaprec.1.gz "MCAPREC(1)" "-V, --version" "COMMANDS" "mcaprec info" "mcaprec verify" \
  "mcaprec recover" "mcaprec send" "--raw-size SIZE" "EXIT STATUS" "mcaprecd(8)"
check mcaprec.yaml.5.gz "MCAPREC.YAML(5)" "mcaprec.yaml - configuration" "max_total_bytes" \
  "chunk_size" "allowed_senders" "exits 78" "mcaprecd(8)" "device_name" "mcaprec.session"
if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "man pages test passed"
