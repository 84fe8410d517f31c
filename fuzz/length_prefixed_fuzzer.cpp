// Fuzz target: the length-prefixed frame decoder (TCP). Whole input, varying pieces fed, and
// varying reads into a small read buffer with frames held across pauses and larger frames
// handed off (as TcpSession does): same frames, same ending, no memory errors.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "ingest/length_prefixed_decoder.hpp"

namespace {

using mcaprec::fuzz::Digest;
namespace ingest = mcaprec::ingest;

constexpr uint64_t kMaxFrame = 1 << 16;

class DigestFrames : public ingest::FrameEvents {
 public:
  void on_frame(mcaprec::mcap::ByteView payload) override {
    // As TcpSession: every third frame is refused and held, with the frames after it, and the
    // decoder paused; the views are read only when it resumes.
    if (!holding || (held.empty() && ++count % 3 != 0)) {
      digest.add(payload);
      return;
    }
    held.push_back(payload);
    decoder->pause();
  }
  void release_held() {
    for (mcaprec::mcap::ByteView view : held) digest.add(view);
    held.clear();
  }
  // Hand-off: the frame's part received is copied, the rest comes through fill().
  bool on_large_frame(mcaprec::mcap::ByteView received, uint64_t frame_size) override {
    if (!holding) return false;
    if (!held.empty()) mcaprec::fuzz::fail("a frame offered while frames are held");
    taken_size = frame_size;
    taken.assign(received.begin(), received.end());
    return true;
  }
  void fill(const uint8_t* bytes, size_t size) {
    taken.insert(taken.end(), bytes, bytes + size);
    if (taken.size() > taken_size) mcaprec::fuzz::fail("a frame read past its end");
    if (taken.size() == taken_size) digest.add(taken);
  }
  Digest digest;
  bool holding = false;
  ingest::LengthPrefixedDecoder* decoder = nullptr;
  std::vector<mcaprec::mcap::ByteView> held;
  std::vector<uint8_t> taken;  // a handed-off frame
  uint64_t taken_size = 0;
  uint64_t count = 0;
};

Digest run(const uint8_t* data, const std::vector<size_t>& sizes) {
  DigestFrames events;
  ingest::LengthPrefixedDecoder decoder(events, kMaxFrame);
  events.digest.add_status(mcaprec::fuzz::feed_pieces(decoder, data, sizes));
  return events.digest;
}

Digest read(const uint8_t* data, size_t size, const std::vector<size_t>& sizes) {
  DigestFrames events;
  // A small buffer, so that growing and moving the incomplete frame happen all the time.
  // Frames from a few bytes on are handed off, so that hand-offs meet every boundary.
  ingest::LengthPrefixedDecoder decoder(events, kMaxFrame, 16 + size % 200, 1 + size % 61);
  events.decoder = &decoder;
  events.holding = true;
  events.digest.add_status(mcaprec::fuzz::read_pieces(decoder, events, data, sizes));
  if (decoder.buffer_capacity() > kMaxFrame + 216) mcaprec::fuzz::fail("buffer beyond the limit");
  return events.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Digest whole = run(data, size == 0 ? std::vector<size_t>{} : std::vector<size_t>{size});
  const std::vector<size_t> sizes = mcaprec::fuzz::piece_sizes(data, size);
  const Digest split = run(data, sizes);
  if (!(whole == split)) mcaprec::fuzz::fail("pieces changed the frames");
  if (!(whole == read(data, size, sizes))) mcaprec::fuzz::fail("reads changed the frames");
  return 0;
}
