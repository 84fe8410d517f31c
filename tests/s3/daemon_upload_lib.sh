# Shared by the daemon upload tests of tests/s3: a real mcaprecd with an `upload:` section
# against the RGW of the s3_server fixture, checked with curl's own SigV4 client
# (s3_test_lib.sh). Callers set mcaprecd and mcaprec, then call daemon_test_begin.

. "$(dirname "${BASH_SOURCE[0]}")/s3_test_lib.sh"

# daemon_test_begin S3_DIR: the server's settings, a scratch directory ($work), no daemon yet
# ($daemon_pid), and an EXIT trap that kills the daemon, runs the caller's cleanup_more if it
# defines one, and removes $work (kept with KEEP=1).
daemon_test_begin() {
  s3_load_env "$1"
  work=$(mktemp -d)
  daemon_pid=
  trap daemon_test_end EXIT
}
daemon_test_end() {
  [ -z "$daemon_pid" ] || { kill -KILL "$daemon_pid" && wait "$daemon_pid"; } 2>/dev/null || true
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}

# write_config FILE BUCKET [extra lines of the upload: section...]: a recorder of
# length-prefixed TCP messages into $work/rec (prefix rec, files rotated at 12 MiB, uncompressed),
# event recording, device car-7, uploading with 5 MiB parts. $rotate_at overrides the 12 MiB;
# $output_extra holds more lines of the output: section (indented), e.g. retention limits.
write_config() {
  local file=$1 bucket=$2
  shift 2
  data_port=$(free_port)
  metrics_port=$(free_port)
  cat >"$file" <<YAML
output:
  directory: $work/rec
  prefix: rec
  max_bytes: ${rotate_at:-12MiB}
  sync_interval: 100ms
${output_extra:-}
mcap:
  compression: none
  chunk_size: 1MiB
  chunk_max_age: 100ms
events:
  look_back: 2s
  before: 1s
  after: 200ms
  spool_bytes: 0
sources:
  - {name: producers, transport: tcp, bind: 127.0.0.1:$data_port, format: length_prefixed, topic: /raw}
metrics:
  bind: 127.0.0.1:$metrics_port
control:
  socket: $work/control.sock
session:
  device_id: car-7
upload:
  endpoint: $S3_ENDPOINT
  region: $S3_REGION
  bucket: $bucket
  key_template: "{device_id}/{date}/{file}"
  credentials_file: $work/credentials
  part_size: 5MiB
YAML
  local line
  for line in "$@"; do echo "  $line" >>"$file"; done
}

# start_daemon CONFIG LOG: mcaprecd in the background (pid in $daemon_pid), until /metrics answers.
start_daemon() {
  MCAPREC_UPLOAD_RETRY_SCALE=${MCAPREC_UPLOAD_RETRY_SCALE:-0.002} "$mcaprecd" --config "$1" 2>>"$2" &
  daemon_pid=$!
  wait_until 100 curl -sf "http://127.0.0.1:$metrics_port/metrics" ||
    fail "mcaprecd did not start: $(cat "$2")"
}

stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || fail "mcaprecd exited with $?"
}

# metric NAME [LABELS]: the value of a sample of /metrics, e.g. metric mcaprec_upload_files_pending
metric() {
  local name=$1
  [ $# -lt 2 ] || name="$1{$2}"
  curl -sf "http://127.0.0.1:$metrics_port/metrics" | NAME=$name awk '$1 == ENVIRON["NAME"] { print $2 }'
}

nothing_pending() {
  [ "$(metric mcaprec_upload_files_pending)" = 0 ]
}

# The key of a recorder's file under {device_id}/{date}/{file}: the date its name carries.
key_of() {
  local name=$1
  echo "car-7/$(echo "$name" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}T' | head -1 | tr -d T)/$name"
}

# expect_object LOCAL_FILE KEY: the object under KEY holds exactly the bytes of LOCAL_FILE.
expect_object() {
  rm -f "$work/got"
  s3_curl -f -o "$work/got" "$S3_ENDPOINT/$bucket/$2" || fail "GET $2: no such object"
  cmp -s "$1" "$work/got" || fail "$2 is not byte-identical to $1"
}

# place_file NAME SIZE: a finished-looking file of this recorder (random bytes) in the directory
# before the daemon starts, with a copy in $work/copies.
place_file() {
  mkdir -p "$work/rec" "$work/copies"
  head -c "$2" /dev/urandom >"$work/copies/$1"
  cp "$work/copies/$1" "$work/rec/$1"
}

journal() {
  cat "$work/rec/.mcaprec-upload/rec.journal"
}
