// Fuzz target: the MCAP stream decoder (TCP). The input is decoded once as a single piece and
// once in pieces of varying sizes; both must report exactly the same events and end the same
// way, and neither may crash, leak or read freed memory.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/mcap_stream_decoder.hpp"

namespace {

using mcaprec::fuzz::Digest;
namespace ingest = mcaprec::ingest;
namespace mcap = mcaprec::mcap;

class DigestEvents : public ingest::DecoderEvents {
 public:
  void on_header(const mcap::Header& h) override {
    digest.add(h.profile);
    digest.add(h.library);
  }
  void on_schema(const mcap::Schema& s) override {
    digest.add_value(s.id);
    digest.add(s.data);
  }
  void on_channel(uint16_t id, const ingest::ChannelDefinition& d) override {
    digest.add_value(id);
    digest.add(d.topic);
    digest.add(d.message_encoding);
    digest.add_value(d.metadata.size());
    if (d.schema != nullptr) digest.add(d.schema->data);
  }
  void on_message(const mcap::Message& m) override {
    digest.add_value(m.channel_id);
    digest.add_value(m.sequence);
    digest.add_value(m.log_time);
    digest.add_value(m.publish_time);
    digest.add(m.data);
  }
  void on_metadata(const mcap::Metadata& m) override {
    digest.add(m.name);
    for (const auto& [k, v] : m.metadata) {
      digest.add(k);
      digest.add(v);
    }
  }
  void on_attachment(const mcap::Attachment& a) override {
    digest.add(a.name);
    digest.add(a.data);
  }
  void on_end() override { digest.add_value(uint8_t{0xEE}); }

  Digest digest;
};

// Small limits keep the fuzzer's memory low and let it reach the limit checks.
ingest::DecoderLimits fuzz_limits() {
  ingest::DecoderLimits limits;
  limits.max_message_size = 1 << 16;
  limits.max_channels = 32;
  limits.max_chunk_bytes = 1 << 20;
  limits.max_definition_bytes = 1 << 18;
  return limits;
}

Digest run(const uint8_t* data, const std::vector<size_t>& sizes) {
  DigestEvents events;
  ingest::McapStreamDecoder decoder(events, fuzz_limits());
  const ingest::DecodeStatus status = mcaprec::fuzz::feed_pieces(decoder, data, sizes);
  events.digest.add_status(status);
  // A failed decoder stays failed with the same error.
  if (!status.ok()) {
    const uint8_t more = 0;
    const ingest::DecodeStatus again = decoder.feed(mcap::ByteView(&more, 1));
    if (again.ok() || again.error().offset != status.error().offset) {
      mcaprec::fuzz::fail("an error did not stick");
    }
  }
  return events.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Digest whole = run(data, size == 0 ? std::vector<size_t>{} : std::vector<size_t>{size});
  const Digest split = run(data, mcaprec::fuzz::piece_sizes(data, size));
  if (!(whole == split)) mcaprec::fuzz::fail("pieces changed what the stream decoder reported");
  return 0;
}
