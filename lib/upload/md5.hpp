#pragma once
// MD5, as S3 uses it: Content-MD5 (base64 of the digest) on every body we send, ETags (hex) in
// answers, and a multipart object's ETag (MD5 of the parts' digests, "-" part count).
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace mcaprec::upload {

using Md5Digest = std::array<uint8_t, 16>;

Md5Digest md5(std::span<const uint8_t> bytes);
std::string to_hex(const Md5Digest& digest);
std::string to_base64(const Md5Digest& digest);

// MD5 over many pieces (a file read in blocks).
class Md5Stream {
 public:
  Md5Stream();
  ~Md5Stream();
  Md5Stream(const Md5Stream&) = delete;
  Md5Stream& operator=(const Md5Stream&) = delete;
  void add(std::span<const uint8_t> bytes);
  Md5Digest finish();

 private:
  void* context_;  // EVP_MD_CTX, kept out of the header
};

// The ETag S3 gives an object completed from parts with these digests: hex MD5 of their
// concatenation, then "-N".
std::string multipart_etag(std::span<const Md5Digest> part_digests);

}  // namespace mcaprec::upload
