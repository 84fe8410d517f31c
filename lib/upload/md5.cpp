#include "upload/md5.hpp"

#include <openssl/evp.h>

#include <vector>

namespace mcaprec::upload {

Md5Digest md5(std::span<const uint8_t> bytes) {
  Md5Stream stream;
  stream.add(bytes);
  return stream.finish();
}

std::string to_hex(const Md5Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : digest) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return hex;
}

std::string to_base64(const Md5Digest& digest) {
  std::string text(4 * ((digest.size() + 2) / 3), '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), digest.data(),
                                     static_cast<int>(digest.size()));
  text.resize(static_cast<size_t>(length));
  return text;
}

Md5Stream::Md5Stream() : context_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), EVP_md5(), nullptr);
}

Md5Stream::~Md5Stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_));
}

void Md5Stream::add(std::span<const uint8_t> bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), bytes.data(), bytes.size());
}

Md5Digest Md5Stream::finish() {
  Md5Digest digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), digest.data(), &length);
  return digest;
}

std::string multipart_etag(std::span<const Md5Digest> part_digests) {
  std::vector<uint8_t> joined;
  for (const Md5Digest& digest : part_digests)
    joined.insert(joined.end(), digest.begin(), digest.end());
  return to_hex(md5(joined)) + "-" + std::to_string(part_digests.size());
}

}  // namespace mcaprec::upload
