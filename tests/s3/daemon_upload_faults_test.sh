#!/usr/bin/env bash
# mcaprecd's upload through faults, with a 60 MiB file (12 parts of 5 MiB) found in the directory
# at start:
#  (a) the S3 server (radosgw) is killed after the first parts are stored and started again: the
#      upload resumes with the same upload id, sends only the missing parts (each part number
#      stored once, per the journal), and the object is complete and byte-identical;
#  (b) mcaprecd is killed with SIGKILL mid-multipart and started again: it resumes the same
#      upload id from its journal, parts already stored are not sent again, the object is whole;
#  (c) SIGTERM mid-multipart: the daemon stops at once (the transfer is interrupted) and exits 0,
#      the upload left in the journal for the next start.
# Runs alone (RUN_SERIAL): it stops the server other tests use.
# Usage: daemon_upload_faults_test.sh MCAPRECD MCAPREC RGW_SH S3_DIR
set -euo pipefail
mcaprecd=$1
mcaprec=$2
rgw=$3
. "$(dirname "$0")/daemon_upload_lib.sh"
s3_dir=$4
# Never leave the shared server down.
cleanup_more() { curl -sf "$S3_ENDPOINT/" >/dev/null || bash "$rgw" start-gateway "$s3_dir" >/dev/null; }
daemon_test_begin "$s3_dir"
bucket=daemon-faults-$$
s3_curl -f -X PUT "$S3_ENDPOINT/$bucket" || fail "cannot create bucket $bucket"
write_credentials "$work/credentials" "$S3_SECRET_KEY"
write_config "$work/mcaprecd.yaml" "$bucket"

parts_of() {  # the part records of file $1 in the journal
  journal | grep "\"op\":\"part\",\"file\":\"$1\"" || true
}
has_parts() { [ "$(parts_of "$1" | wc -l)" -ge 1 ]; }

# (a) the server goes away mid-upload.
big=rec_2021-06-07T08-09-10Z_0.mcap
place_file "$big" $((60 * 1024 * 1024))
start_daemon "$work/mcaprecd.yaml" "$work/log"
wait_until 300 has_parts "$big" || fail "no part stored: $(cat "$work/log")"
bash "$rgw" stop-gateway "$s3_dir"
stored_before=$(parts_of "$big" | wc -l)
sleep 1
bash "$rgw" start-gateway "$s3_dir"
wait_until 300 nothing_pending || fail "still pending after the server came back: $(cat "$work/log")"
expect_object "$work/copies/$big" "$(key_of "$big")"
[ "$(journal | grep -c "\"op\":\"multipart\",\"file\":\"$big\"")" = 1 ] ||
  fail "a second multipart upload was started: $(journal)"
[ "$(parts_of "$big" | grep -o '"n":[0-9]*' | sort | uniq -d | wc -l)" = 0 ] ||
  fail "a part was stored twice: $(parts_of "$big")"
[ "$(parts_of "$big" | wc -l)" = 12 ] || fail "expected 12 part records: $(parts_of "$big")"
grep -qE "upload: $big -> .*12 parts \([0-9]+ stored by an earlier attempt\)" "$work/log" ||
  fail "the upload did not resume: $(cat "$work/log")"
[ "$(grep -c "failed: retryable" "$work/log")" = 1 ] || fail "the outage was not logged once: $(cat "$work/log")"
[ "$(metric mcaprec_upload_failures_total 'reason="network"')" -ge 1 ] || fail "no network failure counted"
echo "(a) server outage after $stored_before of 12 parts: resumed, object complete"

# (b) the daemon is killed mid-multipart.
big=rec_2021-06-07T08-09-11Z_1.mcap
place_file "$big" $((60 * 1024 * 1024))
kill -HUP "$daemon_pid"
stop_daemon
start_daemon "$work/mcaprecd.yaml" "$work/log2"
wait_until 300 has_parts "$big" || fail "no part stored: $(cat "$work/log2")"
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
upload_id=$(journal | grep "\"op\":\"multipart\",\"file\":\"$big\"" | grep -o '"upload_id":"[^"]*"')
stored_before=$(parts_of "$big" | wc -l)
[ "$stored_before" -lt 12 ] || fail "the upload finished before the kill"
start_daemon "$work/mcaprecd.yaml" "$work/log3"
grep -q "pending from the journal (1 multipart upload(s) to resume)" "$work/log3" ||
  fail "the restart did not find the upload: $(cat "$work/log3")"
wait_until 300 nothing_pending || fail "still pending after the restart: $(cat "$work/log3")"
expect_object "$work/copies/$big" "$(key_of "$big")"
[ "$(journal | grep "\"op\":\"multipart\",\"file\":\"$big\"" | grep -o '"upload_id":"[^"]*"')" = "$upload_id" ] ||
  fail "not resumed with the same upload id: $(journal)"
reused=$(grep -oE "upload: $big -> .*12 parts \(([0-9]+) stored" "$work/log3" | grep -oE '\(([0-9]+)' | tr -d '(')
[ -n "$reused" ] && [ "$reused" -ge "$stored_before" ] ||
  fail "parts stored before the kill ($stored_before) were sent again: $(cat "$work/log3")"
echo "(b) SIGKILL after $stored_before of 12 parts: resumed upload $upload_id, $reused parts not sent again"

# (c) SIGTERM stops a transfer in progress promptly.
big=rec_2021-06-07T08-09-12Z_2.mcap
place_file "$big" $((60 * 1024 * 1024))
kill -HUP "$daemon_pid"
stop_daemon
start_daemon "$work/mcaprecd.yaml" "$work/log4"
wait_until 300 has_parts "$big" || fail "no part stored: $(cat "$work/log4")"
began=$(date +%s%N)
stop_daemon
took_ms=$((($(date +%s%N) - began) / 1000000))
[ "$took_ms" -lt 3000 ] || fail "stopping took $took_ms ms with an upload in progress"
[ "$(journal | grep -c "\"op\":\"uploaded\",\"file\":\"$big\"")" = 0 ] || fail "the upload was not interrupted"
[ "$(journal | grep -c "\"op\":\"multipart\",\"file\":\"$big\"")" = 1 ] || fail "the upload id was not kept"
echo "(c) SIGTERM mid-upload: stopped in $took_ms ms, the upload kept for the next start"
