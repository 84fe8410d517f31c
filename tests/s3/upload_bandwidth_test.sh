#!/usr/bin/env bash
# upload.max_bandwidth against the real RGW: 28 MB (a multipart upload of 5 MiB parts) at
# 4 MB/s from the config takes 7 s within ±15 %, and --max-bandwidth on the command line wins
# over the config. The bytes are checked with curl.
# What is timed is the sending, as the tool reports it ("sent in S s"): the checksum pass before
# it is not paced, and on a loaded test machine it alone can take seconds.
# Usage: upload_bandwidth_test.sh MCAPREC S3_DIR
set -euo pipefail
mcaprec=$1
. "$(dirname "$0")/s3_test_lib.sh"
s3_load_env "$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_tool_config "$work" "max_bandwidth: 4000000"
prefix=bandwidth-test/$$

# within SECONDS EXPECTED: |SECONDS - EXPECTED| <= 15 % of EXPECTED
within() {
  awk -v got="$1" -v want="$2" 'BEGIN { d = got - want; if (d < 0) d = -d; exit !(d <= 0.15 * want) }'
}

# sending_seconds FILE ARGS...: uploads FILE and prints the seconds the tool says it took to send
sending_seconds() {
  "$mcaprec" upload "$@" --config "$work/mcaprec.yaml" >"$work/out" || fail "upload failed: $(cat "$work/out")"
  sed -n 's/.*sent in \([0-9.]*\) s .*/\1/p' "$work/out" | grep . || fail "no time in: $(cat "$work/out")"
}

head -c 28000000 /dev/urandom >"$work/paced.mcap"
start=$(date +%s.%N)
sent=$(sending_seconds "$work/paced.mcap" --to "s3://$S3_BUCKET/$prefix")
total=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "28 MB at max_bandwidth 4000000 B/s: sent in $sent s, $total s in all (expected 7.0)"
within "$sent" 7.0 || fail "28 MB at 4 MB/s was sent in $sent s, not 7 s ±15 %"
s3_curl -f -o "$work/got" "$S3_ENDPOINT/$S3_BUCKET/$prefix/paced.mcap" || fail "GET paced.mcap"
cmp "$work/paced.mcap" "$work/got" || fail "paced.mcap did not arrive byte-identical"

head -c 3000000 /dev/urandom >"$work/option.mcap"
sent=$(sending_seconds "$work/option.mcap" --to "s3://$S3_BUCKET/$prefix" --max-bandwidth 1000000)
echo "3 MB at --max-bandwidth 1000000 B/s: sent in $sent s (expected 3.0)"
within "$sent" 3.0 || fail "3 MB at 1 MB/s was sent in $sent s, not 3 s ±15 %"

status=0
"$mcaprec" upload "$work/option.mcap" --to "s3://$S3_BUCKET/$prefix" --max-bandwidth 100 \
  --config "$work/mcaprec.yaml" 2>"$work/err" || status=$?
[ "$status" = 2 ] || fail "--max-bandwidth 100: exit $status"
grep -q "at least 8KiB" "$work/err" || fail "--max-bandwidth 100 said: $(cat "$work/err")"
echo "max_bandwidth against RGW: ok"
