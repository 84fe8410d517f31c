#!/usr/bin/env bash
# `mcaprec upload` against the real RGW, checked with curl's own SigV4 client: a small file (one
# PUT) and a 12 MiB one (three 5 MiB parts) arrive byte-identical under PREFIX/<name>; uploading
# them again skips them; wrong keys and a missing bucket fail with a clear permanent error, exit 1.
# Usage: upload_tool_test.sh MCAPREC S3_DIR
set -euo pipefail
mcaprec=$1
. "$(dirname "$0")/s3_test_lib.sh"
s3_load_env "$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_tool_config "$work"
head -c 123457 /dev/urandom >"$work/small.mcap"
head -c $((12 * 1024 * 1024 + 1)) /dev/urandom >"$work/large.mcap"
prefix=tool-test/$$

"$mcaprec" upload "$work/small.mcap" "$work/large.mcap" --to "s3://$S3_BUCKET/$prefix/" \
  --config "$work/mcaprec.yaml" >"$work/out" || fail "upload failed: $(cat "$work/out")"
grep -q "large.mcap -> s3://$S3_BUCKET/$prefix/large.mcap: uploaded, .* in 3 parts" "$work/out" ||
  fail "unexpected report: $(cat "$work/out")"
for name in small.mcap large.mcap; do
  s3_curl -f -o "$work/got-$name" "$S3_ENDPOINT/$S3_BUCKET/$prefix/$name" || fail "GET $name"
  cmp "$work/$name" "$work/got-$name" || fail "$name did not arrive byte-identical"
done

"$mcaprec" upload "$work/small.mcap" "$work/large.mcap" --to "s3://$S3_BUCKET/$prefix" \
  --config "$work/mcaprec.yaml" >"$work/out" || fail "second upload failed"
[ "$(grep -c 'already there (same size and MD5), skipped' "$work/out")" = 2 ] ||
  fail "identical objects were not skipped: $(cat "$work/out")"

printf '[default]\naws_access_key_id = %s\naws_secret_access_key = wrong-secret-9f8e7d\n' "$S3_ACCESS_KEY" \
  >"$work/wrong"
status=0
"$mcaprec" upload "$work/small.mcap" --to "s3://$S3_BUCKET/$prefix/denied" --config "$work/mcaprec.yaml" \
  --credentials-file "$work/wrong" 2>"$work/err" || status=$?
[ "$status" = 1 ] || fail "wrong keys: exit $status"
grep -q "permanent: 403 AccessDenied: HEAD .*: wrong keys" "$work/err" || fail "wrong keys said: $(cat "$work/err")"
! grep -q "wrong-secret" "$work/err" || fail "the secret was printed"

status=0
"$mcaprec" upload "$work/large.mcap" --to "s3://no-such-bucket-$$/x" --config "$work/mcaprec.yaml" \
  2>"$work/err" || status=$?
[ "$status" = 1 ] || fail "missing bucket: exit $status"
grep -q "permanent: 404 NoSuchBucket" "$work/err" || fail "missing bucket said: $(cat "$work/err")"
echo "mcaprec upload against RGW: ok"
