#!/usr/bin/env bash
# Builds the Debian package, installs it with dpkg -i and checks what a user gets: both
# binaries on the PATH, the unit, the sysusers snippet and a valid /etc/mcaprec/mcaprec.yaml
# (mcaprecd --check-config), the mcaprec user, the man pages (rendered by man), the bash
# completion, and the copyright file and changelog in /usr/share/doc/mcaprec. Removes the package again at the end unless
# MCAPREC_PACKAGE_KEEP=1.
# Usage: package_test.sh BUILD_DIR      (as root: dpkg installs into the system)
set -euo pipefail
build=$(realpath "$1")

if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: the package test installs a package and must run as root"
  exit 1
fi

echo "== build and package"
cmake --build "$build" --target mcaprecd mcaprec man_pages package_docs
rm -rf "$build/package"
(cd "$build" && cpack -G DEB -B "$build/package" >"$build/package.log" 2>&1) || {
  cat "$build/package.log"
  exit 1
}
deb=$(ls "$build"/package/mcaprec_*.deb)
echo "built $deb"

contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/mcaprecd ./usr/bin/mcaprec ./usr/lib/systemd/system/mcaprecd.service \
  ./usr/lib/sysusers.d/mcaprec.conf ./etc/mcaprec/mcaprec.yaml \
  ./usr/share/man/man1/mcaprec.1.gz ./usr/share/man/man8/mcaprecd.8.gz \
  ./usr/share/man/man5/mcaprec.yaml.5.gz ./usr/share/bash-completion/completions/mcaprec \
  ./usr/share/doc/mcaprec/copyright ./usr/share/doc/mcaprec/changelog.gz; do
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
for page in man1/mcaprec.1.gz man8/mcaprecd.8.gz man5/mcaprec.yaml.5.gz; do
  MANWIDTH=100 man -l "/usr/share/man/$page" 2>/dev/null | grep -q '^NAME' || {
    echo "FAIL: man -l /usr/share/man/$page does not render"
    exit 1
  }
done
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
  /usr/share/doc/mcaprec/copyright && grep -q '^License: Apache-2.0' \
  /usr/share/doc/mcaprec/copyright || {
  echo "FAIL: /usr/share/doc/mcaprec/copyright is not DEP-5 with the Apache-2.0 license"
  exit 1
}
zcat /usr/share/doc/mcaprec/changelog.gz >"$build/installed-changelog"
changelog_version=$(dpkg-parsechangelog -l "$build/installed-changelog" -SVersion)
[ "$changelog_version" = "$(dpkg-query -W -f='${Version}' mcaprec)" ] || {
  echo "FAIL: the changelog's version $changelog_version is not the package's"
  exit 1
}
bash -c 'source /usr/share/bash-completion/completions/mcaprec && complete -p mcaprec' || {
  echo "FAIL: the bash completion does not register for mcaprec"
  exit 1
}
echo "package test passed"
