#include "mcap/crc32.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string_view>

using namespace mcaprec::mcap;

namespace {
ByteView view(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

TEST(Crc32, MatchesTheIeeeCheckValue) {
  EXPECT_EQ(crc32(view("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32(view("")), 0u);
}

TEST(Crc32, UpdateContinuesAcrossPieces) {
  EXPECT_EQ(crc32_update(crc32(view("12345")), view("6789")), 0xCBF43926u);
}

TEST(Crc32, CombineEqualsCrcOfConcatenation) {
  std::mt19937_64 rng(7);
  Bytes all(100000);
  for (auto& b : all) b = static_cast<uint8_t>(rng());
  const uint32_t whole = crc32(all);
  for (size_t split : {size_t{0}, size_t{1}, size_t{13}, size_t{4096}, size_t{99999}, all.size()}) {
    ByteView a(all.data(), split), b(all.data() + split, all.size() - split);
    EXPECT_EQ(crc32_combine(crc32(a), crc32(b), b.size()), whole) << "split at " << split;
  }
}
