#!/usr/bin/env bash
# The throwaway RGW answers as S3 does: a PUT comes back byte-identical with GET, a wrong
# Content-MD5 is refused (400 BadDigest), a missing bucket is 404 NoSuchBucket.
set -euo pipefail
. "$(dirname "$0")/s3_test_lib.sh"
s3_load_env "$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c 300000 /dev/urandom >"$work/sent"
s3_curl -f -T "$work/sent" "$S3_ENDPOINT/$S3_BUCKET/smoke/object" || fail "PUT"
s3_curl -f -o "$work/received" "$S3_ENDPOINT/$S3_BUCKET/smoke/object" || fail "GET"
cmp "$work/sent" "$work/received" || fail "GET returned other bytes than PUT sent"

status=$(s3_curl -o "$work/body" -w '%{http_code}' -T "$work/sent" \
  -H "Content-MD5: AAAAAAAAAAAAAAAAAAAAAA==" "$S3_ENDPOINT/$S3_BUCKET/smoke/bad-md5")
[ "$status" = 400 ] && grep -q BadDigest "$work/body" || fail "wrong MD5 gave $status: $(cat "$work/body")"

status=$(s3_curl -o "$work/body" -w '%{http_code}' "$S3_ENDPOINT/no-such-bucket/x")
[ "$status" = 404 ] && grep -q NoSuchBucket "$work/body" || fail "missing bucket gave $status"
s3_curl -f -X DELETE "$S3_ENDPOINT/$S3_BUCKET/smoke/object" || fail "DELETE"
echo "s3 server smoke: ok"
