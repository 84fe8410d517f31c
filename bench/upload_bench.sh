#!/usr/bin/env bash
# Upload bench: `mcaprec upload` against `curl --aws-sigv4 -T` on the same files, to the same
# throwaway Ceph RGW on loopback (tests/s3/rgw.sh), in the same run.
#
#   bench/upload_bench.sh BUILD_DIR [OUT_DIR]
#
# FILES files of FILE_MIB MiB each (default 8 x 64 MiB, random bytes) in OUT_DIR (default under
# /dev/shm, so the disk is not what is measured) go up ROUNDS times (default 2) with each client,
# the order alternating between rounds. mcaprec uploads all files in one process (part_size
# PART_SIZE, default 16MiB: multipart, Content-MD5 on every part, the whole-file MD5 pass
# first); curl sends each file in one PUT, one process per file, without any checksum. Before
# each round the objects are deleted, so that mcaprec cannot skip them. Printed per client and
# round: MB/s (10^6 bytes per second of wall time) and the client's CPU seconds (user + system)
# per GB; then the ratios. The server's CPU is not counted.
set -euo pipefail

build=${1:?usage: upload_bench.sh BUILD_DIR [OUT_DIR]}
out=${2:-$(mktemp -d /dev/shm/mcaprec-upload-bench.XXXXXX)}
files=${FILES:-8}
file_mib=${FILE_MIB:-64}
rounds=${ROUNDS:-2}
part_size=${PART_SIZE:-16MiB}
here=$(cd "$(dirname "$0")" && pwd)
rgw="$here/../tests/s3/rgw.sh"
tool="$build/tools/mcaprec"
mkdir -p "$out/data"
trap 'bash "$rgw" stop "$out/rgw" >/dev/null 2>&1 || true' EXIT

bash "$rgw" start "$out/rgw" >/dev/null
# shellcheck disable=SC1091
. "$out/rgw/env"
. "$here/../tests/s3/s3_test_lib.sh"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" \
  "$S3_SECRET_KEY" >"$out/credentials"

for i in $(seq 1 "$files"); do
  head -c $((file_mib << 20)) /dev/urandom >"$out/data/file$i.mcap"
done
total_bytes=$((files * file_mib << 20))

delete_objects() {
  for i in $(seq 1 "$files"); do
    s3_curl -f -X DELETE "$S3_ENDPOINT/$S3_BUCKET/bench/$1/file$i.mcap" >/dev/null || true
  done
}

# timed NAME COMMAND...: runs it, prints "NAME MB/s CPU-s/GB" and stores them in $result_*
timed() {
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$out/time" "$@" >/dev/null
  read -r wall user sys <"$out/time"
  result_mbps=$(awk -v b="$total_bytes" -v w="$wall" 'BEGIN { printf "%.1f", b / w / 1e6 }')
  result_cpu=$(awk -v b="$total_bytes" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", (u + s) / (b / 1e9) }')
  printf '%-8s %8s MB/s %8s CPU-s/GB  (wall %s s, user %s s, sys %s s)\n' "$name" "$result_mbps" \
    "$result_cpu" "$wall" "$user" "$sys"
}

run_mcaprec() {
  delete_objects mcaprec
  timed mcaprec "$tool" upload "$out"/data/*.mcap --to "s3://$S3_BUCKET/bench/mcaprec" \
    --endpoint "$S3_ENDPOINT" --region "$S3_REGION" --credentials-file "$out/credentials" \
    --part-size "$part_size"
  mcaprec_mbps+=("$result_mbps") mcaprec_cpu+=("$result_cpu")
}

curl_all() {
  for f in "$out"/data/*.mcap; do
    s3_curl -f -T "$f" "$S3_ENDPOINT/$S3_BUCKET/bench/curl/$(basename "$f")" -o /dev/null
  done
}
run_curl() {
  delete_objects curl
  export -f s3_curl curl_all
  export out S3_ENDPOINT S3_BUCKET S3_REGION S3_ACCESS_KEY S3_SECRET_KEY
  timed curl bash -c curl_all
  curl_mbps+=("$result_mbps") curl_cpu+=("$result_cpu")
}

echo "upload bench: $files x $file_mib MiB, part_size $part_size, RGW at $S3_ENDPOINT, $(date -u +%F)"
mcaprec_mbps=() mcaprec_cpu=() curl_mbps=() curl_cpu=()
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  if ((round % 2)); then run_mcaprec; run_curl; else run_curl; run_mcaprec; fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_mbps=$(median "${mcaprec_mbps[@]}") c_mbps=$(median "${curl_mbps[@]}")
m_cpu=$(median "${mcaprec_cpu[@]}") c_cpu=$(median "${curl_cpu[@]}")
echo "median: mcaprec $m_mbps MB/s, $m_cpu CPU-s/GB; curl $c_mbps MB/s, $c_cpu CPU-s/GB"
awk -v a="$m_mbps" -v b="$c_mbps" -v c="$m_cpu" -v d="$c_cpu" \
  'BEGIN { printf "ratio mcaprec/curl: throughput %.2f, CPU per GB %.2f\n", a / b, c / d }'
