#!/usr/bin/env bash
# mcaprecd's upload with permanent failures, and delete_after_upload:
#  - a bucket that does not exist: one clear error line (bucket, endpoint, what to fix), retried
#    slowly, the files kept; once the bucket is created while the daemon runs, everything goes up;
#  - wrong keys: one clear error line naming the credentials file, never the secret, files kept;
#    once the file holds the right keys (read again after an access failure), everything goes up;
#  - delete_after_upload: true: a file is deleted only after its upload was confirmed (the log
#    says uploaded before deleted; nothing is deleted while uploads fail), and its object is
#    byte-identical to what was recorded.
# Usage: daemon_upload_errors_test.sh MCAPRECD MCAPREC S3_DIR
set -euo pipefail
mcaprecd=$1
mcaprec=$2
. "$(dirname "$0")/daemon_upload_lib.sh"
daemon_test_begin "$3"
bucket=daemon-missing-$$

# Each placed file must be gone, its object identical to the copy, "deleted" logged after upload.
expect_uploaded_and_deleted() {
  local log=$1 name
  shift
  for name in "$@"; do
    [ ! -e "$work/rec/$name" ] || fail "$name was not deleted after its upload"
    expect_object "$work/copies/$name" "$(key_of "$name")"
    grep -n "" "$log" | grep -E "upload: $name -> |deleted $name " | cut -d: -f1 | paste -sd' ' |
      awk '{ exit !(NF == 2 && $1 < $2) }' || fail "$name: not uploaded, then deleted: $(cat "$log")"
  done
}

write_credentials "$work/credentials" "$S3_SECRET_KEY"
write_config "$work/mcaprecd.yaml" "$bucket" "delete_after_upload: true"
place_file rec_2022-03-04T05-06-07Z_0.mcap 1000
place_file rec_event_brake_2022-03-04T05-06-08Z.mcap $((7 * 1024 * 1024))
start_daemon "$work/mcaprecd.yaml" "$work/log"
wait_until 100 bash -c "[ \"\$(curl -sf http://127.0.0.1:$metrics_port/metrics | awk '\$1 == \"mcaprec_upload_failures_total{reason=\\\"no_bucket\\\"}\" { print \$2 }')\" -ge 3 ]" ||
  fail "not retried: $(cat "$work/log")"
[ "$(grep -c "error.*upload to s3://$bucket at $S3_ENDPOINT fails: permanent: 404 NoSuchBucket.*create the bucket or correct upload.bucket" "$work/log")" = 1 ] ||
  fail "the missing bucket was not said exactly once: $(cat "$work/log")"
[ -e "$work/rec/rec_2022-03-04T05-06-07Z_0.mcap" ] && [ -e "$work/rec/rec_event_brake_2022-03-04T05-06-08Z.mcap" ] ||
  fail "a file was deleted although its upload failed"
[ "$(metric mcaprec_upload_files_pending)" -ge 2 ] || fail "files not pending"
s3_curl -f -X PUT "$S3_ENDPOINT/$bucket" || fail "cannot create bucket $bucket"
wait_until 100 nothing_pending || fail "nothing went up once the bucket existed: $(cat "$work/log")"
grep -q "upload to s3://$bucket at $S3_ENDPOINT works again" "$work/log" || fail "recovery not logged"
expect_uploaded_and_deleted "$work/log" rec_2022-03-04T05-06-07Z_0.mcap rec_event_brake_2022-03-04T05-06-08Z.mcap
[ "$(metric mcaprec_upload_files_deleted_total)" -ge 2 ] || fail "deletions not counted"
stop_daemon
echo "missing bucket: said once, files kept, uploaded and deleted once the bucket was there"

# Wrong keys, corrected while the daemon runs.
write_credentials "$work/credentials" wrong-secret-5e4d3c2b1a
place_file rec_2022-03-04T05-06-09Z_1.mcap 2000
start_daemon "$work/mcaprecd.yaml" "$work/log2"
wait_until 100 bash -c "[ \"\$(curl -sf http://127.0.0.1:$metrics_port/metrics | awk '\$1 == \"mcaprec_upload_failures_total{reason=\\\"access\\\"}\" { print \$2 }')\" -ge 3 ]" ||
  fail "not retried: $(cat "$work/log2")"
[ "$(grep -c "error.*upload to s3://$bucket at $S3_ENDPOINT fails: permanent: 403 .*check the keys in $work/credentials" "$work/log2")" = 1 ] ||
  fail "wrong keys not said exactly once: $(cat "$work/log2")"
! grep -q "wrong-secret" "$work/log2" || fail "the secret was logged"
[ -e "$work/rec/rec_2022-03-04T05-06-09Z_1.mcap" ] || fail "deleted although not uploaded"
write_credentials "$work/credentials" "$S3_SECRET_KEY"
wait_until 100 nothing_pending || fail "nothing went up with the right keys: $(cat "$work/log2")"
expect_uploaded_and_deleted "$work/log2" rec_2022-03-04T05-06-09Z_1.mcap
stop_daemon
echo "wrong keys: said once without the secret, files kept, uploaded once corrected"
