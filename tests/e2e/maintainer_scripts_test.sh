#!/usr/bin/env bash
# The .deb's maintainer scripts, run without a real systemd: each runs with a PATH of stubs
# that log their arguments, and with /run/systemd/system (how Debian scripts tell that systemd
# is running) pointed at a scratch directory. Checks that a fresh install does not start the
# service, that an upgrade restarts it only if it was running (try-restart, through
# deb-systemd-invoke when there is one), that nothing is asked of systemd when it is not
# running, that a failing restart does not fail the upgrade, and that prerm stops the service
# on removal only.
# Usage: maintainer_scripts_test.sh DEBIAN_DIR     (the directory of postinst, prerm, postrm)
set -euo pipefail
scripts=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

stubs=$work/bin
mkdir -p "$stubs" "$work/run-systemd"
for name in systemctl deb-systemd-invoke systemd-sysusers; do
  cat >"$stubs/$name" <<STUB
#!/bin/sh
echo "$name \$*" >>"$work/calls"
[ ! -e "$work/fail-$name" ]
STUB
  chmod +x "$stubs/$name"
done
# The scripts with the systemd marker moved into the scratch directory.
for name in postinst prerm postrm; do
  sed "s|/run/systemd/system|$work/run-systemd|g" "$scripts/$name" >"$work/$name"
done

# run SCRIPT ARGS...: runs it under sh with only the stubs on the PATH; the calls it made are
# then in $calls, one per line.
calls=""
run() {
  rm -f "$work/calls"
  touch "$work/calls"
  PATH=$stubs /bin/sh "$work/$1" "${@:2}" || fail "$* exited $?"
  calls=$(cat "$work/calls")
}
expect_call() { grep -qxF "$1" <<<"$calls" || fail "$2: no '$1' in: ${calls//$'\n'/; }"; }
expect_no_call() { ! grep -q "$1" <<<"$calls" || fail "$2: unexpected '$1' in: ${calls//$'\n'/; }"; }

run postinst configure ""
expect_call "systemd-sysusers /usr/lib/sysusers.d/mcaprec.conf" "install"
expect_call "systemctl daemon-reload" "install"
expect_no_call "restart" "a fresh install must not start the service"
expect_no_call "start" "a fresh install must not start the service"

run postinst configure 0.0.9
expect_call "deb-systemd-invoke try-restart mcaprecd.service" "upgrade"
expect_no_call "systemctl restart" "upgrade must not start a stopped service"

rm "$stubs/deb-systemd-invoke"
run postinst configure 0.0.9
expect_call "systemctl try-restart mcaprecd.service" "upgrade without deb-systemd-invoke"

touch "$work/fail-systemctl"
run postinst configure 0.0.9
expect_call "systemctl try-restart mcaprecd.service" "upgrade with a failing restart"
rm "$work/fail-systemctl"

rmdir "$work/run-systemd"
run postinst configure 0.0.9
expect_no_call "systemctl" "upgrade without a running systemd"
mkdir "$work/run-systemd"

run prerm upgrade 0.1.1
expect_no_call "stop" "prerm upgrade keeps recording"
run prerm remove
expect_call "systemctl stop mcaprecd.service" "prerm remove"
run postrm purge
expect_call "systemctl daemon-reload" "postrm purge"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "maintainer scripts test passed"
