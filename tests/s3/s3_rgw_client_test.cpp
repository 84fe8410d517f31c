// lib/upload's client against the real RGW of the s3_server fixture: single PUT, multipart,
// resume from a partial multipart upload, skip of an identical object, and the permanent errors.
// The bytes are checked with GET through the independent client of the shell tests (see
// upload_tool_test.sh); here, through HEAD's size and our stored MD5.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "scratch_dir.hpp"
#include "upload/file_upload.hpp"

namespace mcaprec::upload {
namespace {

std::map<std::string, std::string> server_env() {
  std::map<std::string, std::string> env;
  std::ifstream in(std::string(MCAPREC_S3_DIR) + "/env");
  std::string line;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) env[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return env;
}

class RgwClient : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = server_env();
    if (env_.empty()) GTEST_SKIP() << "no S3 server (s3_server_start skipped)";
  }
  S3Client client(const std::string& secret = "") {
    ClientOptions options{env_["S3_ENDPOINT"], {}};
    options.session.region = env_["S3_REGION"];
    return S3Client(options,
                    {env_["S3_ACCESS_KEY"], secret.empty() ? env_["S3_SECRET_KEY"] : secret, ""});
  }
  std::string write_file(const std::string& name, size_t size) {
    std::vector<char> bytes(size);
    std::mt19937 random(static_cast<unsigned>(size));
    for (char& byte : bytes) byte = static_cast<char>(random());
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    return path;
  }
  // Keys of this run only: a test run again against the same server must not find the objects
  // of the last run already stored (they would be skipped as present).
  ObjectRef object(const std::string& key) {
    static const std::string run =
        std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    return {env_["S3_BUCKET"], "client-test/" + run + "/" + key};
  }

  std::map<std::string, std::string> env_;
  test_support::ScratchDir dir_{"rgw-client"};
};

TEST_F(RgwClient, SmallFileInOnePutThenSkippedWhenPresent) {
  auto s3 = client();
  const UploadTarget target{write_file("small.mcap", 100000), object("small.mcap"), kMinPartSize};
  auto first = upload_file(s3, target);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->outcome, UploadOutcome::uploaded);
  EXPECT_EQ(first->bytes_sent, 100000u);
  auto head = s3.head_object(target.object);
  ASSERT_TRUE(head && *head);
  EXPECT_EQ((*head)->size, 100000u);
  auto again = upload_file(s3, target);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->outcome, UploadOutcome::already_present);
  EXPECT_EQ(again->bytes_sent, 0u);
}

TEST_F(RgwClient, ChangedFileUnderTheSameKeyIsUploadedAgain) {
  auto s3 = client();
  const std::string path = write_file("changing.mcap", 2000);
  ASSERT_TRUE(upload_file(s3, {path, object("changing.mcap"), kMinPartSize}));
  std::fstream(path, std::ios::in | std::ios::out | std::ios::binary).write("x", 1);
  auto again = upload_file(s3, {path, object("changing.mcap"), kMinPartSize});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->outcome, UploadOutcome::uploaded);
}

// The digests of the checksum pass are sent again as Content-MD5 instead of hashing each body a
// second time: a body that no longer matches them (the file changed in between) is refused by
// the server, and nothing is stored under the key.
TEST_F(RgwClient, ABodyThatDoesNotMatchItsDigestIsRefused) {
  auto s3 = client();
  const std::vector<uint8_t> body(3000, 0x5a);
  std::vector<uint8_t> changed = body;
  changed[1500] ^= 1;
  auto put = s3.put_object(object("changed.mcap"), changed, "", md5(body));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().http_status, 400) << put.error().to_string();
  auto head = s3.head_object(object("changed.mcap"));
  ASSERT_TRUE(head) << head.error().to_string();
  EXPECT_FALSE(head->has_value());
  EXPECT_TRUE(s3.put_object(object("changed.mcap"), body, "", md5(body)));
}

TEST_F(RgwClient, MultipartResumesFromTheStoredParts) {
  auto s3 = client();
  const size_t size = 2 * kMinPartSize + 12345;
  const UploadTarget target{write_file("large.mcap", size), object("large.mcap"), kMinPartSize};
  // An earlier attempt that stored part 1 and stopped.
  auto upload_id = s3.create_multipart_upload(target.object, "");
  ASSERT_TRUE(upload_id) << upload_id.error().to_string();
  std::ifstream in(target.path, std::ios::binary);
  std::vector<uint8_t> part(kMinPartSize);
  in.read(reinterpret_cast<char*>(part.data()), static_cast<std::streamsize>(part.size()));
  auto etag = s3.upload_part(target.object, *upload_id, 1, part);
  ASSERT_TRUE(etag) << etag.error().to_string();

  const MultipartState resume{*upload_id, {{1, *etag, kMinPartSize}}};
  auto report = upload_file(s3, target, &resume);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->parts, 3);
  EXPECT_EQ(report->parts_reused, 1);
  EXPECT_EQ(report->bytes_sent, size - kMinPartSize);
  auto head = s3.head_object(target.object);
  ASSERT_TRUE(head && *head);
  EXPECT_EQ((*head)->size, size);
  EXPECT_TRUE((*head)->etag.ends_with("-3")) << (*head)->etag;
  auto again = upload_file(s3, target);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, UploadOutcome::already_present);
}

// The server stored part 2 but its reply was lost: the resume finds it by ListParts, does not
// send it again, and tells the observer (the journal) of it.
TEST_F(RgwClient, ResumeReportsAPartOnlyTheServerKnew) {
  struct Recorder : UploadObserver {
    std::vector<int> parts;
    void on_part_uploaded(const UploadedPart& part) override { parts.push_back(part.number); }
  };
  auto s3 = client();
  const size_t size = 2 * kMinPartSize + 100;
  const UploadTarget target{write_file("lost-reply.mcap", size), object("lost-reply.mcap"),
                            kMinPartSize};
  auto upload_id = s3.create_multipart_upload(target.object, "");
  ASSERT_TRUE(upload_id) << upload_id.error().to_string();
  std::ifstream in(target.path, std::ios::binary);
  std::vector<uint8_t> part(kMinPartSize);
  std::vector<std::string> etags;
  for (int number = 1; number <= 2; ++number) {
    in.read(reinterpret_cast<char*>(part.data()), static_cast<std::streamsize>(part.size()));
    auto etag = s3.upload_part(target.object, *upload_id, number, part);
    ASSERT_TRUE(etag) << etag.error().to_string();
    etags.push_back(*etag);
  }

  const MultipartState resume{*upload_id, {{1, etags[0], kMinPartSize}}};  // part 2 unknown
  Recorder journal;
  auto report = upload_file(s3, target, &resume, &journal);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->parts_reused, 2);
  EXPECT_EQ(report->bytes_sent, 100u);
  EXPECT_EQ(journal.parts, (std::vector<int>{2, 3})) << "part 2 found, part 3 sent";
}

TEST_F(RgwClient, ResumeOfAnAbortedUploadStartsANewOne) {
  auto s3 = client();
  const UploadTarget target{write_file("aborted.mcap", kMinPartSize + 10), object("aborted.mcap"),
                            kMinPartSize};
  auto upload_id = s3.create_multipart_upload(target.object, "");
  ASSERT_TRUE(upload_id);
  ASSERT_TRUE(s3.abort_multipart_upload(target.object, *upload_id));
  auto listed = s3.list_parts(target.object, *upload_id);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().http_status, 404);
  const MultipartState resume{*upload_id, {}};
  auto report = upload_file(s3, target, &resume);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->parts_reused, 0);
  EXPECT_EQ(report->parts, 2);
}

TEST_F(RgwClient, WrongSecretAndMissingBucketArePermanent) {
  auto wrong = client("not-the-secret-key-0123456789");
  const std::string path = write_file("denied.mcap", 10);
  auto denied = upload_file(wrong, {path, object("denied.mcap"), kMinPartSize});
  ASSERT_FALSE(denied);
  EXPECT_FALSE(denied.error().retryable()) << denied.error().to_string();
  EXPECT_EQ(denied.error().http_status, 403);
  EXPECT_EQ(denied.error().to_string().find("not-the-secret"), std::string::npos);

  auto s3 = client();
  auto missing = s3.put_object({"no-such-bucket-here", "k"}, {}, "");
  ASSERT_FALSE(missing);
  EXPECT_FALSE(missing.error().retryable());
  EXPECT_EQ(missing.error().code, "NoSuchBucket") << missing.error().to_string();
}

}  // namespace
}  // namespace mcaprec::upload
