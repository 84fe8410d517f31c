#!/usr/bin/env bash
# Checks systemd/mcaprecd.service the way systemd itself reads it:
#   - `systemd-analyze verify` is clean (with ExecStart pointed at the built daemon);
#   - `systemd-analyze security --offline=true` rates its exposure at 1.5 or lower;
#   - the directives the design requires are there;
#   - the sysusers snippet creates the mcaprec user (in a scratch root).
# Usage: systemd_unit_test.sh UNIT_FILE SYSUSERS_FILE DAEMON_BINARY
# Exits 77 (ctest: skipped) only when systemd-analyze is not installed.
set -euo pipefail

unit=$(realpath "$1")
sysusers=$(realpath "$2")
daemon=$3

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIPPED: systemd-analyze is not installed (Debian package: systemd)"
  exit 77
fi

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify wants the unit's ExecStart binary to exist.
tested="$work/mcaprecd.service"
sed "s|^ExecStart=/usr/bin/mcaprecd |ExecStart=$daemon |" "$unit" >"$tested"
grep -q "^ExecStart=$daemon --config " "$tested" || fail "ExecStart is not /usr/bin/mcaprecd --config …"

if ! output=$(systemd-analyze verify "$tested" 2>&1); then
  fail "systemd-analyze verify failed:"
  echo "$output"
elif [ -n "$output" ]; then
  fail "systemd-analyze verify is not clean:"
  echo "$output"
else
  echo "ok: systemd-analyze verify is clean"
fi

output=$(systemd-analyze security --offline=true "$tested" 2>&1 || true)
exposure=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
  fail "systemd-analyze security gave no exposure level:"
  echo "$output"
elif awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'; then
  echo "ok: exposure $exposure <= 1.5"
else
  fail "exposure $exposure is above 1.5; what is still exposed:"
  printf '%s\n' "$output" | grep '✗' || true
fi

for directive in '^Type=notify$' '^WatchdogSec=' '^Restart=on-failure$' '^User=mcaprec$' \
  '^StateDirectory=mcaprec$' '^ConfigurationDirectory=mcaprec$' '^ProtectSystem=strict$' \
  '^NoNewPrivileges=yes$' '^PrivateTmp=yes$' '^TimeoutStopSec=' '^RestartPreventExitStatus=78$'; do
  grep -q "$directive" "$unit" || fail "missing $directive"
done

# The sysusers snippet, applied to an empty root, creates the user and its group.
if command -v systemd-sysusers >/dev/null 2>&1; then
  mkdir -p "$work/root/etc"
  if systemd-sysusers --root="$work/root" "$sysusers" >"$work/sysusers.log" 2>&1 &&
    grep -q '^mcaprec:x:[0-9]*:[0-9]*:mcaprec recording daemon:/var/lib/mcaprec:' \
      "$work/root/etc/passwd" && grep -q '^mcaprec:x:' "$work/root/etc/group"; then
    echo "ok: sysusers snippet creates user and group mcaprec"
  else
    fail "sysusers snippet did not create mcaprec:"
    cat "$work/sysusers.log" "$work/root/etc/passwd" 2>/dev/null || true
  fi
else
  echo "note: systemd-sysusers not installed; snippet not applied"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all unit checks passed"
