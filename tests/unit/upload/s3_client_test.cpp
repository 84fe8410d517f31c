// The S3 client's pieces that need no server: credentials, checksums, XML answers, URLs, the
// retryable/permanent split, and a refused connection. Against a real server: tests/s3.
#include "upload/s3_client.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "scratch_dir.hpp"
#include "upload/credentials.hpp"
#include "upload/file_upload.hpp"
#include "upload/md5.hpp"
#include "upload/s3_error.hpp"
#include "upload/s3_xml.hpp"

namespace mcaprec::upload {
namespace {

const std::string kSecret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(Credentials, ReadsTheDefaultProfile) {
  const std::string text =
      "[other]\naws_access_key_id = WRONG\n\n[default]\n# comment\naws_access_key_id = "
      "AKIDEXAMPLE\n"
      "aws_secret_access_key=" +
      kSecret + "\r\naws_session_token = token\n";
  auto credentials = parse_credentials(text, "creds");
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(credentials->secret_access_key, kSecret);
  EXPECT_EQ(credentials->session_token, "token");
}

TEST(Credentials, ErrorsNameTheFileAndKeyButNeverTheSecret) {
  auto no_key =
      parse_credentials("[default]\naws_secret_access_key = " + kSecret + "\n", "/etc/s3");
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().message, "/etc/s3: profile [default] has no aws_access_key_id");
  auto no_secret = parse_credentials("[default]\naws_access_key_id = AKID\n", "/etc/s3");
  ASSERT_FALSE(no_secret);
  EXPECT_EQ(no_secret.error().message, "/etc/s3: profile [default] has no aws_secret_access_key");
  auto no_profile =
      parse_credentials("[prod]\naws_secret_access_key = " + kSecret + "\n", "/etc/s3");
  ASSERT_FALSE(no_profile);
  EXPECT_EQ(no_profile.error().message.find(kSecret), std::string::npos);
  EXPECT_NE(no_profile.error().message.find("no profile [default]"), std::string::npos);
}

TEST(Credentials, SystemdCredentialDirectoryWinsWhenItHoldsTheFile) {
  test_support::ScratchDir dir("credentials");
  const auto passed = dir / "s3-credentials";
  std::ofstream(passed)
      << "[default]\naws_access_key_id = FROMSYSTEMD\naws_secret_access_key = x\n";
  EXPECT_EQ(credentials_path("/etc/mcaprec/s3-credentials", dir.path()), passed.string());
  EXPECT_EQ(credentials_path("/etc/mcaprec/other", dir.path()), "/etc/mcaprec/other");
  EXPECT_EQ(credentials_path("/etc/mcaprec/s3-credentials", ""), "/etc/mcaprec/s3-credentials");
  auto loaded = load_credentials("/etc/mcaprec/s3-credentials", dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->access_key_id, "FROMSYSTEMD");
  auto missing = load_credentials((dir / "absent").string(), "");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent: cannot read"), std::string::npos);
}

TEST(Md5, KnownDigestsAndTheirEncodings) {
  EXPECT_EQ(to_hex(md5(bytes_of(""))), "d41d8cd98f00b204e9800998ecf8427e");
  const Md5Digest fox = md5(bytes_of("The quick brown fox jumps over the lazy dog"));
  EXPECT_EQ(to_hex(fox), "9e107d9d372bb6826bd81d3542a419d6");
  EXPECT_EQ(to_base64(fox), "nhB9nTcrtoJr2B01QqQZ1g==");
  Md5Stream pieces;
  pieces.add(bytes_of("The quick brown fox "));
  pieces.add(bytes_of("jumps over the lazy dog"));
  EXPECT_EQ(pieces.finish(), fox);
}

TEST(Md5, MultipartEtagIsTheDigestOfThePartDigests) {
  const Md5Digest a = md5(bytes_of("a"));
  const Md5Digest b = md5(bytes_of("b"));
  std::string joined(reinterpret_cast<const char*>(a.data()), a.size());
  joined.append(reinterpret_cast<const char*>(b.data()), b.size());
  const std::vector<Md5Digest> parts{a, b};
  EXPECT_EQ(multipart_etag(parts), to_hex(md5(bytes_of(joined))) + "-2");
}

TEST(S3Xml, ErrorBodyUploadIdAndPartsPages) {
  const auto error = parse_error_body(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>");
  EXPECT_EQ(error.code, "NoSuchBucket");
  EXPECT_EQ(error.message, "gone");
  EXPECT_TRUE(parse_error_body("not xml").code.empty());
  EXPECT_EQ(parse_upload_id(
                "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Bucket>b</Bucket><Key>k</Key><UploadId>2~abc</UploadId>"
                "</InitiateMultipartUploadResult>"),
            "2~abc");
  EXPECT_FALSE(parse_upload_id("<Other/>"));
  auto page = parse_parts_page(
      "<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</"
      "NextPartNumberMarker>"
      "<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>"
      "<Part><ETag>\"bb\"</ETag><Size>7</Size><PartNumber>2</PartNumber></Part></ListPartsResult>");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_marker, 2);
  ASSERT_EQ(page->parts.size(), 2u);
  EXPECT_EQ(page->parts[0], (UploadedPart{1, "aa", 5242880}));
  EXPECT_EQ(page->parts[1], (UploadedPart{2, "bb", 7}));
  EXPECT_EQ(complete_multipart_body({{1, "aa", 0}}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3Error, RetryableOrPermanent) {
  EXPECT_EQ(classify_http_failure(503, "SlowDown"), FailureKind::retryable);
  EXPECT_EQ(classify_http_failure(500, "InternalError"), FailureKind::retryable);
  EXPECT_EQ(classify_http_failure(400, "BadDigest"), FailureKind::retryable);
  EXPECT_EQ(classify_http_failure(400, "RequestTimeout"), FailureKind::retryable);
  EXPECT_EQ(classify_http_failure(429, ""), FailureKind::retryable);
  EXPECT_EQ(classify_http_failure(403, "InvalidAccessKeyId"), FailureKind::permanent);
  EXPECT_EQ(classify_http_failure(403, "SignatureDoesNotMatch"), FailureKind::permanent);
  EXPECT_EQ(classify_http_failure(404, "NoSuchBucket"), FailureKind::permanent);
  EXPECT_EQ((S3Error{FailureKind::permanent, 404, "NoSuchBucket", "PUT b/k"}).to_string(),
            "permanent: 404 NoSuchBucket: PUT b/k");
}

TEST(S3Client, KeysAndQueryValuesAreEncoded) {
  EXPECT_EQ(encode_key("car-7/2026-12-06/rec_1.mcap"), "car-7/2026-12-06/rec_1.mcap");
  EXPECT_EQ(encode_key("a b+c"), "a%20b%2Bc");
  EXPECT_EQ(encode_query_value("2~a/b="), "2~a%2Fb%3D");
}

TEST(S3Client, RefusedConnectionIsRetryable) {
  S3Client client({"http://127.0.0.1:1", {}}, {"AKID", kSecret, ""});
  auto head = client.head_object({"bucket", "key"});
  ASSERT_FALSE(head);
  EXPECT_TRUE(head.error().retryable()) << head.error().to_string();
  EXPECT_EQ(head.error().http_status, 0);
  EXPECT_EQ(head.error().to_string().find(kSecret), std::string::npos);
}

TEST(S3Client, UntrustedCertificateFileIsPermanent) {
  SessionOptions session;
  session.ca_file = "/nonexistent/ca.pem";
  S3Client client({"https://127.0.0.1:1", session}, {"AKID", kSecret, ""});
  auto head = client.head_object({"bucket", "key"});
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().http_status, 0);
}

TEST(FileUpload, UnreadableFileIsAPermanentLocalError) {
  S3Client client({"http://127.0.0.1:1", {}}, {"AKID", kSecret, ""});
  auto result = upload_file(client, {"/nonexistent/file.mcap", {"b", "k"}, kMinPartSize});
  ASSERT_FALSE(result);
  EXPECT_FALSE(result.error().retryable());
  EXPECT_EQ(result.error().code, "LocalFile");
}

}  // namespace
}  // namespace mcaprec::upload
