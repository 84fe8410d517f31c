#!/usr/bin/env bash
# Builds the Debian package, installs it with dpkg -i and checks what a user gets: both
# binaries on the PATH, the unit, the sysusers snippet and a valid /etc/mcaprec/mcaprec.yaml
# (mcaprecd --check-config), and the mcaprec user. Removes the package again at the end unless
# MCAPREC_PACKAGE_KEEP=1.
# Usage: package_test.sh BUILD_DIR      (as root: dpkg installs into the system)
set -euo pipefail
build=$(realpath "$1")

if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: the package test installs a package and must run as root"
  exit 1
fi

echo "== build and package"
cmake --build "$build" --target mcaprecd mcaprec
rm -rf "$build/package"
(cd "$build" && cpack -G DEB -B "$build/package" >"$build/package.log" 2>&1) || {
  cat "$build/package.log"
  exit 1
}
deb=$(ls "$build"/package/mcaprec_*.deb)
echo "built $deb"

contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/mcaprecd ./usr/bin/mcaprec ./usr/lib/systemd/system/mcaprecd.service \
  ./usr/lib/sysusers.d/mcaprec.conf ./etc/mcaprec/mcaprec.yaml; do
  if ! grep -q " $path\$" <<<"$contents"; then
    echo "FAIL: $path is not in the package"
    echo "$contents"
    exit 1
  fi
done
dpkg-deb --field "$deb" Package Version Depends
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = "/etc/mcaprec/mcaprec.yaml" ] || {
  echo "FAIL: /etc/mcaprec/mcaprec.yaml is not a conffile"
  exit 1
}

cleanup() {
  if [ "${MCAPREC_PACKAGE_KEEP:-0}" != "1" ]; then
    dpkg --purge mcaprec >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "== install"
dpkg -i "$deb"

echo "== check"
/usr/bin/mcaprecd --version
/usr/bin/mcaprec --version
/usr/bin/mcaprecd --check-config /etc/mcaprec/mcaprec.yaml >"$build/installed-config.yaml"
grep -q '^  directory: /var/lib/mcaprec/recordings$' "$build/installed-config.yaml" || {
  echo "FAIL: the installed configuration does not record into /var/lib/mcaprec/recordings"
  cat "$build/installed-config.yaml"
  exit 1
}
getent passwd mcaprec >/dev/null || {
  echo "FAIL: installing did not create the mcaprec user"
  exit 1
}
echo "package test passed"
