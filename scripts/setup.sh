#!/usr/bin/env bash
# Installs what mcaprec needs to build and test on Debian 12, and nothing that is already there.
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config clang-format clang libclang-rt-14-dev
  libboost-dev libspdlog-dev libyaml-cpp-dev libzstd-dev liblz4-dev libisal-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev
  libcurl4-openssl-dev libssl-dev libexpat1-dev  # the S3 client of upload: SigV4, MD5, XML answers
  radosgw ceph-mon ceph-osd curl  # the throwaway S3 server of the upload tests (tests/s3/rgw.sh), its checker
  systemd dpkg-dev  # systemd-analyze checks the unit; dpkg-shlibdeps gives the .deb its dependencies
  help2man go-md2man  # the man pages: from --help, and mcaprec.yaml(5) from config/README.md
)
# Node.js runs the interop tests with the official MCAP reader; keep a newer one if present.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
