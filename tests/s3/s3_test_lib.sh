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

# write_credentials FILE SECRET
write_credentials() {
  printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$2" >"$1"
}

# write_tool_config DIR [extra lines of the upload: section...]: DIR/credentials with the test
# user's keys and DIR/mcaprec.yaml, the upload: section `mcaprec upload` reads (5 MiB parts; the
# bucket is the --to argument's).
write_tool_config() {
  local dir=$1
  shift
  write_credentials "$dir/credentials" "$S3_SECRET_KEY"
  {
    cat <<YAML
sources:
  - {name: producers, transport: tcp, bind: 127.0.0.1:9410}
upload:
  endpoint: $S3_ENDPOINT
  region: $S3_REGION
  bucket: unused-by-the-tool
  credentials_file: $dir/credentials
  part_size: 5MiB
YAML
    for line in "$@"; do echo "  $line"; done
  } >"$dir/mcaprec.yaml"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# free_port comes from tests/support/free_port.sh.
. "$(dirname "${BASH_SOURCE[0]}")/../support/free_port.sh"

# wait_until TENTHS COMMAND...: true once COMMAND succeeds, false after TENTHS tenths of a second.
wait_until() {
  local tenths=$1
  shift
  for _ in $(seq "$tenths"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
