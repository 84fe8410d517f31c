#pragma once
// Little-endian primitives of the MCAP wire format: appending to a byte buffer and reading from
// a bounded view. Reads never go past the end of the view; they report failure instead.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "mcap/records.hpp"

namespace mcaprec::mcap {

inline void put_u8(Bytes& out, uint8_t v) {
  out.push_back(v);
}

template <class T>
inline void put_le(Bytes& out, T v) {
  static_assert(std::endian::native == std::endian::little, "big-endian hosts are not supported");
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

inline void put_bytes(Bytes& out, ByteView bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline void put_string(Bytes& out, const std::string& s) {
  put_le<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

template <class T>
inline void store_le(uint8_t* at, T v) {
  std::memcpy(at, &v, sizeof(T));
}

template <class T>
inline T load_le(const uint8_t* at) {
  T v;
  std::memcpy(&v, at, sizeof(T));
  return v;
}

// Sequential, bounds-checked reads from a view. After a failed read `failed()` stays true and
// every later read fails too, so a parser can check once at the end.
class ByteReader {
 public:
  explicit ByteReader(ByteView view) : view_(view) {}

  template <class T>
  bool le(T& v) {
    if (!need(sizeof(T))) return false;
    v = load_le<T>(view_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool string(std::string& s) {
    uint32_t n = 0;
    if (!le(n) || !need(n)) return false;
    s.assign(reinterpret_cast<const char*>(view_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool view(uint64_t n, ByteView& v) {
    if (!need(n)) return false;
    v = view_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  ByteView rest() {
    ByteView v = view_.subspan(pos_);
    pos_ = view_.size();
    return v;
  }
  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return view_.size() - pos_; }
  bool failed() const { return failed_; }

 private:
  bool need(uint64_t n) {
    if (failed_ || n > view_.size() - pos_) failed_ = true;
    return !failed_;
  }
  ByteView view_;
  uint64_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace mcaprec::mcap
