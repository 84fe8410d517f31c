# Shared by the shell tests of tests/s3: the server's settings and an independent S3 client
# (curl's own SigV4), so that what our client did is checked by code that is not ours.

# Loads DIR/env written by rgw.sh start; exits 77 (skip) when the server was not started.
s3_load_env() {
  local dir=$1
  if [ ! -f "$dir/env" ]; then
    echo "no S3 server in $dir (s3_server_start skipped or failed)" >&2
    exit 77
  fi
  # shellcheck disable=SC1091
  . "$dir/env"
}

# s3_curl [curl options...] URL: a signed request with the test user's keys.
s3_curl() {
  curl -sS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
