#pragma once
// Shared by the fuzz targets: a digest of everything a decoder reported, and deterministic
// piece boundaries derived from the input, so that a failing input replays exactly.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "ingest/decode_error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::fuzz {

// FNV-1a over everything reported; equal digests mean equal event sequences in practice.
class Digest {
 public:
  void add(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001b3ULL;
    ++items_;
  }
  void add(mcap::ByteView bytes) { add(bytes.data(), bytes.size()); }
  void add(const std::string& text) { add(text.data(), text.size()); }
  template <class T>
  void add_value(T value) {
    add(&value, sizeof(value));
  }
  void add_status(const ingest::DecodeStatus& status) {
    add_value(status.ok());
    if (!status.ok()) {
      add_value(status.error().reason);
      add_value(status.error().offset);
      add(status.error().message);
    }
  }
  bool operator==(const Digest&) const = default;

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
  uint64_t items_ = 0;
};

// Piece sizes covering `size` bytes: a mix of single bytes, small and large pieces, chosen by
// a generator seeded from the input itself.
inline std::vector<size_t> piece_sizes(const uint8_t* data, size_t size) {
  uint64_t state = 0x9e3779b97f4a7c15ULL ^ size;
  for (size_t i = 0; i < size && i < 64; ++i) state = (state ^ data[i]) * 0x100000001b3ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::vector<size_t> out;
  for (size_t left = size; left > 0;) {
    const uint64_t r = next();
    size_t n = r % 4 == 0 ? 1 : r % 4 == 1 ? 1 + (r >> 8) % 16 : 1 + (r >> 8) % 4096;
    if (n > left) n = left;
    out.push_back(n);
    left -= n;
  }
  return out;
}

// Feeds `data` to `decoder` in `sizes` pieces, each copied into its own buffer that is freed
// after the call, so that a view kept past the call is a use after free.
template <class Decoder>
ingest::DecodeStatus feed_pieces(Decoder& decoder, const uint8_t* data,
                                 const std::vector<size_t>& sizes) {
  size_t pos = 0;
  for (size_t n : sizes) {
    std::vector<uint8_t> piece(data + pos, data + pos + n);
    ingest::DecodeStatus st = decoder.feed(piece);
    pos += n;
    if (!st.ok()) return st;
  }
  return decoder.finish();
}

// Writes `data` into the decoder's read space as a socket would (each piece of `sizes` in as
// many reads as the space asks), committing each read. Whenever an event paused the decoder,
// `events.release_held()` consumes the views it held before decoding resumes, so that a view
// the decoder no longer keeps valid is read after the fact (and caught by ASan or the digest).
// While a payload is handed off to the events, the reads go to `events.fill()` instead, as
// TcpSession reads into queue segments.
template <class Decoder, class Events>
ingest::DecodeStatus read_pieces(Decoder& decoder, Events& events, const uint8_t* data,
                                 const std::vector<size_t>& sizes) {
  auto read_all = [&]() -> ingest::DecodeStatus {
    size_t pos = 0;
    for (size_t n : sizes) {
      for (size_t done = 0; done < n;) {
        if (decoder.handed_off() > 0) {
          const size_t k = std::min<uint64_t>(decoder.handed_off(), n - done);
          events.fill(data + pos + done, k);
          done += k;
          decoder.payload_read(k);
          continue;
        }
        const std::span<uint8_t> space = decoder.read_space();
        const size_t k = space.size() < n - done ? space.size() : n - done;
        std::memcpy(space.data(), data + pos + done, k);
        done += k;
        if (ingest::DecodeStatus st = decoder.commit(k); !st.ok()) return st;
        while (decoder.paused()) {
          events.release_held();
          if (ingest::DecodeStatus st = decoder.resume(); !st.ok()) return st;
        }
      }
      pos += n;
    }
    return {};
  };
  const ingest::DecodeStatus status = read_all();
  // Held before an error or the end: still reported, as the session pushes them.
  events.release_held();
  if (!status.ok()) return status;
  events.holding = false;  // finish() does not stop at a pause
  return decoder.finish();
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace mcaprec::fuzz
