#include "mcap/crc32.hpp"

#include <isa-l/crc.h>

#include <array>

namespace mcaprec::mcap {

uint32_t crc32_update(uint32_t crc, ByteView data) {
  return crc32_gzip_refl(crc, data.data(), data.size());
}

namespace {

constexpr uint32_t kPolynomial = 0xEDB88320u;

// Product of two polynomials modulo the CRC polynomial, in the reflected bit order where the
// top bit is x^0.
constexpr uint32_t multiply_mod(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return product;
}

// kPowers[k] = x^(2^k) mod P, so that x^(8n) is a product over the set bits of 8n.
constexpr std::array<uint32_t, 64> make_powers() {
  std::array<uint32_t, 64> powers{};
  uint32_t p = 1u << 30;  // x^1
  for (auto& entry : powers) {
    entry = p;
    p = multiply_mod(p, p);
  }
  return powers;
}
constexpr std::array<uint32_t, 64> kPowers = make_powers();

}  // namespace

uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  // Appending B shifts A's remainder by 8 * length_b bit positions: multiply by x^(8n) mod P.
  uint32_t shift = 1u << 31;  // x^0
  unsigned k = 3;             // 8n = n << 3
  for (uint64_t n = length_b; n != 0; n >>= 1, ++k) {
    if (n & 1) shift = multiply_mod(kPowers[k % 64], shift);
  }
  return multiply_mod(shift, crc_a) ^ crc_b;
}

}  // namespace mcaprec::mcap
