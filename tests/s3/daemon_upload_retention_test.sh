#!/usr/bin/env bash
# Retention pressure while uploads cannot complete (issue 17, item 7):
#  - output.max_total_bytes alone never deletes a file that was not uploaded: with the bucket
#    missing, a real recording grows past the limit, every finished file stays on disk and in the
#    queue, and the limit yielding is warned about once;
#  - once the bucket exists, every file arrives byte-identical (curl's own SigV4 client), and
#    retention then deletes down to the limit, only files whose upload was confirmed;
#  - (as root, on a 16 MiB tmpfs) output.min_free_bytes is the emergency line: it deletes files
#    not yet uploaded, each logged as an error exactly once (the uploader does not report it lost
#    again) and counted in files_lost_before_upload.
# Usage: daemon_upload_retention_test.sh MCAPRECD MCAPREC S3_DIR
set -euo pipefail
mcaprecd=$1
mcaprec=$2
. "$(dirname "$0")/daemon_upload_lib.sh"
mounted=
cleanup_more() { [ -z "$mounted" ] || umount "$mounted" || true; }
daemon_test_begin "$3"
bucket=daemon-retention-$$
limit=$((6 * 1024 * 1024))

finished() { ls "$work/rec" | grep -E '^rec_.*\.mcap$' || true; }
finished_bytes() {
  local total=0 name
  for name in $(finished); do total=$((total + $(stat -c %s "$work/rec/$name"))); done
  echo "$total"
}
within_limit() { [ "$(finished_bytes)" -le "$limit" ]; }
# send_for DURATION [RATE]: 64 KiB messages, 100 a second unless said otherwise.
send_for() {
  "$mcaprec" send "tcp://127.0.0.1:$data_port" --raw-size 64KiB --rate "${2:-100}" --duration "$1" \
    >"$work/send" || fail "mcaprec send failed: $(cat "$work/send")"
}
# Ends the file being written and waits until every file finalized is on disk under its name
# (or was deleted by retention).
end_file() {
  local before
  before=$(metric mcaprec_files_finalized_total)
  kill -HUP "$daemon_pid"
  all_finalized() {
    local finalized
    finalized=$(metric mcaprec_files_finalized_total)
    [ "$finalized" -gt "$before" ] &&
      [ "$finalized" = $(($(finished | wc -l) + $(metric mcaprec_retention_files_deleted_total))) ]
  }
  wait_until 100 all_finalized ||
    fail "$(metric mcaprec_files_finalized_total) files finalized, $(finished | wc -l) on disk: $(cat "$1")"
}

# --- 1. The bucket is missing: the limit yields, nothing is deleted.
write_credentials "$work/credentials" "$S3_SECRET_KEY"
rotate_at=2MiB output_extra="  max_total_bytes: $limit" write_config "$work/mcaprecd.yaml" "$bucket"
start_daemon "$work/mcaprecd.yaml" "$work/log"
send_for 3s 80
end_file "$work/log"
files=$(finished | wc -l)
[ "$(metric mcaprec_upload_files_pending)" = "$files" ] || fail "not all $files files pending"
[ "$(metric mcaprec_retention_files_deleted_total)" = 0 ] || fail "retention deleted files"
[ "$(finished_bytes)" -gt $((limit + 4 * 1024 * 1024)) ] || fail "the limit was never under pressure"
[ "$(metric 'mcaprec_upload_failures_total' 'reason="no_bucket"')" -ge 1 ] || fail "no upload was tried"
[ "$(grep -c ' warning retention: .*above output.max_total_bytes 6 MiB, and every finished recording left waits for upload' "$work/log")" = 1 ] ||
  fail "the yielding limit was not warned about exactly once: $(cat "$work/log")"
! journal | grep -q '"op":"uploaded"' || fail "the journal says uploaded"
mkdir -p "$work/copies"
for name in $(finished); do cp "$work/rec/$name" "$work/copies/"; done
echo "missing bucket: $files files ($(finished_bytes) bytes, limit $limit) all kept, warned once"

# --- 2. The bucket exists: everything goes up, then retention deletes only uploaded files.
s3_curl -f -X PUT "$S3_ENDPOINT/$bucket" || fail "cannot create bucket $bucket"
wait_until 300 nothing_pending || fail "nothing went up once the bucket existed: $(cat "$work/log")"
for name in $(ls "$work/copies"); do expect_object "$work/copies/$name" "$(key_of "$name")"; done
send_for 1s  # retention acts when the recorder writes
wait_until 300 nothing_pending || fail "the new files did not go up: $(cat "$work/log")"
send_for 0.5s 20  # everything finished is uploaded now: the limit holds again after this
wait_until 50 within_limit || fail "$(finished_bytes) bytes left above the limit $limit"
[ "$(metric mcaprec_retention_files_deleted_total)" -ge "$files" ] ||
  fail "retention did not catch up: $(metric mcaprec_retention_files_deleted_total) deleted"
[ "$(metric mcaprec_files_lost_before_upload_total)" = 0 ] || fail "files lost before upload"
grep -o 'retention: deleted [^ ]*' "$work/log" | sed 's|.*/||' >"$work/deleted"
while read -r name; do
  grep -n "" "$work/log" | grep -E "upload: $name -> |retention: deleted .*/$name\$" | cut -d: -f1 |
    paste -sd' ' | awk '{ exit !(NF == 2 && $1 < $2) }' ||
    fail "$name was deleted without a confirmed upload before: $(cat "$work/log")"
done <"$work/deleted"
stop_daemon
! grep ' error ' "$work/log" | grep -qv 'NoSuchBucket' || fail "errors: $(cat "$work/log")"
echo "bucket created: all uploaded byte-identical, then $(wc -l <"$work/deleted") uploaded files deleted down to the limit"

# --- 3. The min_free_bytes emergency on a 16 MiB filesystem (mounting needs root).
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=16m mcaprec-test "$work/rec" 2>/dev/null; then
  echo "emergency line not tested: mounting a small tmpfs needs root"
  exit 0
fi
mounted=$work/rec
output_extra="  min_free_bytes: 8MiB" rotate_at=2MiB write_config "$work/mcaprecd.yaml" "$bucket-gone"
start_daemon "$work/mcaprecd.yaml" "$work/log3"
send_for 2.5s
end_file "$work/log3"
wait_until 100 bash -c "[ \"\$(curl -sf http://127.0.0.1:$metrics_port/metrics | awk '\$1 == \"mcaprec_upload_failures_total{reason=\\\"no_bucket\\\"}\" { print \$2 }')\" -ge 5 ]" ||
  fail "uploads not retried: $(cat "$work/log3")"
lost=$(metric mcaprec_files_lost_before_upload_total)
[ "$lost" -ge 1 ] || fail "nothing lost although the disk filled: $(cat "$work/log3")"
grep -o 'deleted [^ ]* before it was uploaded' "$work/log3" | awk '{ print $2 }' | sed 's|.*/||' >"$work/lost"
[ "$(wc -l <"$work/lost")" = "$lost" ] || fail "$lost lost, but logged: $(cat "$work/lost")"
while read -r name; do
  # (The one line that says the bucket is missing may name a file too.)
  [ "$(grep ' error ' "$work/log3" | grep -v NoSuchBucket | grep -c "$name")" = 1 ] ||
    fail "$name: not exactly one error line: $(cat "$work/log3")"
done <"$work/lost"
[ "$(metric mcaprec_upload_files_missing_total)" = 0 ] || fail "the uploader found lost files missing"
[ "$(metric mcaprec_upload_files_pending)" = "$(finished | wc -l)" ] ||
  fail "$(metric mcaprec_upload_files_pending) pending, $(finished | wc -l) on disk"
stop_daemon
echo "emergency: $lost files lost before upload, each logged as an error once"
