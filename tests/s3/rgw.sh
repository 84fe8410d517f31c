#!/usr/bin/env bash
# A throwaway S3 server for the upload tests: a single-node Ceph cluster (one monitor, one OSD
# keeping its data in RAM, radosgw with the beast frontend) on 127.0.0.1, everything (config,
# keyring, data, logs, admin sockets, pid files) under one directory, no systemd.
#
#   tests/s3/rgw.sh install        install the Debian packages if missing (root or sudo)
#   tests/s3/rgw.sh start DIR      start a cluster in DIR (a cluster left there is stopped first),
#                                  create the test user and bucket, print the endpoint;
#                                  DIR/env holds S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY,
#                                  S3_SECRET_KEY (shell syntax) for the tests to read
#   tests/s3/rgw.sh stop DIR       kill the daemons by their pid files and remove DIR
#   tests/s3/rgw.sh stop-gateway DIR   kill radosgw only (the data stays in the OSD): a server
#                                  outage for the fault tests
#   tests/s3/rgw.sh start-gateway DIR  start radosgw again on its port and wait until it answers
#
# start exits 77 (skip) when the packages are missing, except under CI=true where it fails.
# scripts/setup.sh installs the same packages with the rest, so CI has them.
#
# Ports: RGW_PORT and MON_PORT from the environment, else free ones picked at random, so that
# parallel runs (several worktrees, several ctest jobs) do not collide. The OSD picks its own in
# 6800-7300. The keys are fixed test values: this server holds nothing worth protecting.
#
# Why these settings (measured with Ceph 16.2 on Debian 12): `ms mon client mode = crc`, else
# radosgw waits 300 s and fails to fetch its config; the paxos intervals take start-up from ~18 s
# to ~3 s; `mon data avail crit = -1` keeps the monitor from refusing to start (or stopping)
# on a nearly full disk: it stops when the free share, in whole percent, is at or below the
# setting, so even 0 stops it with under 1 % free, as a shared CI disk once had (2.5 GiB);
# the OSD's --mkfs must get the UUID that `ceph osd new` registered, else it stays "booting".
set -euo pipefail

readonly packages=(radosgw ceph-mon ceph-osd)
readonly access_key=MCAPRECTESTACCESSKEY
readonly secret_key=mcaprecTestSecretKey0123456789abcdefghij
readonly bucket=mcaprec-test
readonly region=us-east-1

die() {
  echo "rgw.sh: $*" >&2
  exit 1
}

# free_port, wait_until
. "$(dirname "${BASH_SOURCE[0]}")/s3_test_lib.sh"

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "rgw.sh: installing ${missing[*]}" >&2
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
}

# RGW_TRACE=1 prints each step with the seconds since start, to see where start-up time goes.
readonly start_us=${EPOCHREALTIME/./}
step() {
  [ -z "${RGW_TRACE:-}" ] || echo "rgw.sh: $(((${EPOCHREALTIME/./} - start_us) / 1000)) ms: $*" >&2
}

write_config() {
  local dir=$1 fsid=$2 mon_port=$3 rgw_port=$4
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
keyring = $dir/keyring
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms bind msgr1 = false
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon data avail crit = -1
mon data avail warn = 0
[mon]
mon data = $dir/mon
paxos propose interval = 0.01
paxos min wait = 0.001
[osd]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
EOF
}

start_cluster() {
  local dir=$1
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
    echo "rgw.sh: package $p is missing: run '$0 install' (as root)" >&2
    # A developer without Ceph gets the S3 tests skipped; CI must run them.
    [ "${CI:-}" = true ] && exit 1
    exit 77
  done
  # What a killed earlier run left behind in DIR goes first.
  stop_cluster "$dir"
  mkdir -p "$dir"/{run,log,mon,osd,rgw}
  dir=$(cd "$dir" && pwd)
  local fsid mon_port=${MON_PORT:-$(free_port)} rgw_port=${RGW_PORT:-$(free_port)}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_config "$dir" "$fsid" "$mon_port" "$rgw_port"
  local conf=(--conf "$dir/ceph.conf")

  step "monitor"
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon "${conf[@]}" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon "${conf[@]}" -i a
  wait_until 100 ceph "${conf[@]}" mon stat || die "monitor did not answer (see $dir/log/mon.a.log)"

  step "osd"
  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  [ "$(ceph "${conf[@]}" osd new "$osd_uuid")" = 0 ] || die "ceph osd new did not give osd.0"
  ceph-osd "${conf[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/start.log"
  ceph-osd "${conf[@]}" -i 0 2>>"$dir/log/start.log"
  wait_until 300 bash -c "ceph ${conf[*]} osd dump | grep -q '^osd.0 up'" ||
    die "osd.0 did not come up (see $dir/log/osd.0.log)"

  step "radosgw"
  radosgw "${conf[@]}" -n client.rgw 2>>"$dir/log/start.log"
  radosgw-admin "${conf[@]}" user create --uid mcaprec-test --display-name "mcaprec test" \
    --access-key "$access_key" --secret-key "$secret_key" >/dev/null

  step "wait for radosgw"
  local endpoint=http://127.0.0.1:$rgw_port
  wait_until 300 curl -sf "$endpoint/" || die "radosgw did not answer at $endpoint (see $dir/log/client.rgw.log)"
  # RGW checks x-amz-content-sha256, which curl's SigV4 does not send by itself.
  curl -sSf --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret_key" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$endpoint/$bucket" ||
    die "could not create bucket $bucket"
  step "ready"
  cat >"$dir/env" <<EOF
S3_ENDPOINT=$endpoint
S3_REGION=$region
S3_BUCKET=$bucket
S3_ACCESS_KEY=$access_key
S3_SECRET_KEY=$secret_key
EOF
  echo "$endpoint"
}

# SIGKILL: the data is throwaway, and a SIGTERMed OSD waits ~5 s for a monitor already gone.
stop_cluster() {
  local dir=$1 pid_file
  [ -d "$dir" ] || return 0
  for pid_file in "$dir"/run/*.pid; do
    [ -e "$pid_file" ] || continue
    kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
  done
  rm -rf "$dir"
}

stop_gateway() {
  local pid_file=$1/run/client.rgw.pid
  [ -f "$pid_file" ] || die "no radosgw pid file in $1/run"
  kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
  rm -f "$pid_file"
}

start_gateway() {
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/env"
  radosgw --conf "$dir/ceph.conf" -n client.rgw 2>>"$dir/log/start.log"
  wait_until 300 curl -sf "$S3_ENDPOINT/" || die "radosgw did not answer at $S3_ENDPOINT again"
}

case "${1:-}" in
  install) install_packages ;;
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start_cluster "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop_cluster "$2" ;;
  stop-gateway) [ $# -eq 2 ] || die "usage: $0 stop-gateway DIR"; stop_gateway "$2" ;;
  start-gateway) [ $# -eq 2 ] || die "usage: $0 start-gateway DIR"; start_gateway "$2" ;;
  *) die "usage: $0 install | start DIR | stop DIR | stop-gateway DIR | start-gateway DIR" ;;
esac
