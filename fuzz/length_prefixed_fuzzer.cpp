// Fuzz target: the length-prefixed frame decoder (TCP). Whole input versus varying pieces:
// same frames, same ending, no memory errors.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "ingest/length_prefixed_decoder.hpp"

namespace {

using mcaprec::fuzz::Digest;
namespace ingest = mcaprec::ingest;

class DigestFrames : public ingest::FrameEvents {
 public:
  void on_frame(mcaprec::mcap::ByteView payload) override { digest.add(payload); }
  Digest digest;
};

Digest run(const uint8_t* data, const std::vector<size_t>& sizes) {
  DigestFrames events;
  ingest::LengthPrefixedDecoder decoder(events, 1 << 16);
  events.digest.add_status(mcaprec::fuzz::feed_pieces(decoder, data, sizes));
  return events.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Digest whole = run(data, size == 0 ? std::vector<size_t>{} : std::vector<size_t>{size});
  const Digest split = run(data, mcaprec::fuzz::piece_sizes(data, size));
  if (!(whole == split)) mcaprec::fuzz::fail("pieces changed the frames");
  return 0;
}
