#!/usr/bin/env bash
# mcaprecd uploads what it records: a real recording over TCP (files rotated at 12 MiB, so most
# go as 5 MiB multipart uploads), an event file marked with SIGUSR1 mid-recording, and a file
# already in the directory at start (from before upload was configured). Every finished file,
# continuous and event, must arrive byte-identical under {device_id}/{date}/{file}, checked with
# curl's own SigV4 client; the journal says uploaded; /metrics, /status and `mcaprec ctl status`
# count them.
# Usage: daemon_upload_test.sh MCAPRECD MCAPREC S3_DIR
set -euo pipefail
mcaprecd=$1
mcaprec=$2
. "$(dirname "$0")/daemon_upload_lib.sh"
daemon_test_begin "$3"
bucket=daemon-upload-$$
s3_curl -f -X PUT "$S3_ENDPOINT/$bucket" || fail "cannot create bucket $bucket"

write_credentials "$work/credentials" "$S3_SECRET_KEY"
write_config "$work/mcaprecd.yaml" "$bucket"
place_file rec_2020-01-02T03-04-05Z_0.mcap $((6 * 1024 * 1024 + 17))
start_daemon "$work/mcaprecd.yaml" "$work/log"
grep -q "upload: to s3://$bucket at $S3_ENDPOINT as {device_id}/{date}/{file} (device_id car-7); 0 file(s) pending from the journal (0 multipart upload(s) to resume), 1 found in" "$work/log" ||
  fail "start-up line: $(cat "$work/log")"

"$mcaprec" send "tcp://127.0.0.1:$data_port" --raw-size 64KiB --rate 300 --duration 3s >"$work/send" &
sender=$!
sleep 1.5
kill -USR1 "$daemon_pid"
wait "$sender" || fail "mcaprec send failed: $(cat "$work/send")"
kill -HUP "$daemon_pid"  # the last file ends and is uploaded while the daemon runs
wait_until 300 bash -c "ls '$work/rec' | grep -q '^rec_event_manual_.*\.mcap$'" || fail "no event file"
wait_until 300 nothing_pending || fail "files still pending: $(metric mcaprec_upload_files_pending)"

"$mcaprec" ctl --socket "$work/control.sock" status >"$work/ctl"
grep -qE "^upload: +0 files \(.*\) pending, oldest 0 s; [0-9]+ uploaded" "$work/ctl" ||
  fail "ctl status: $(cat "$work/ctl")"
curl -sf "http://127.0.0.1:$metrics_port/status" >"$work/status"
grep -q '"upload":{"files_pending":0,"bytes_pending":0,' "$work/status" || fail "/status: $(cat "$work/status")"
stop_daemon

files=0
multipart=0
for path in "$work"/rec/rec_*.mcap; do
  name=$(basename "$path")
  expect_object "$path" "$(key_of "$name")"
  journal | grep -q "\"op\":\"uploaded\",\"file\":\"$name\",\"key\":\"$(key_of "$name")\"" ||
    fail "the journal does not show $name uploaded"
  [ "$(stat -c %s "$path")" -gt $((5 * 1024 * 1024)) ] && multipart=$((multipart + 1))
  files=$((files + 1))
done
expect_object "$work/copies/rec_2020-01-02T03-04-05Z_0.mcap" car-7/2020-01-02/rec_2020-01-02T03-04-05Z_0.mcap
ls "$work"/rec/rec_event_manual_*.mcap >/dev/null || fail "the event file is missing"
[ "$multipart" -ge 2 ] || fail "only $multipart files were above the part size"
[ "$files" -ge 4 ] || fail "only $files files"
uploaded=$(grep -c "upload: rec_.* -> s3://$bucket/" "$work/log")
[ "$uploaded" = "$files" ] || fail "$uploaded upload lines for $files files: $(cat "$work/log")"
! grep -qE "\[(warning|error)\]" "$work/log" || fail "warnings or errors: $(cat "$work/log")"
echo "mcaprecd upload: $files files ($multipart multipart) arrived byte-identical"
