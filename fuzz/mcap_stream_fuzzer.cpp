// Fuzz target: the MCAP stream decoder (TCP). The input is decoded as a single piece, in pieces
// of varying sizes, and read into a small read buffer with messages held across pauses and
// larger payloads handed off (as TcpSession does); all must report exactly the same events and
// end the same way, and none may crash, leak or read freed memory.
#include <cstddef>
#include <cstdint>
#include <vector>

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
  void on_channel(ingest::InBandChannelId id, const ingest::ChannelDefinition& d) override {
    digest.add_value(id);
    digest.add(d.topic);
    digest.add(d.message_encoding);
    digest.add_value(d.metadata.size());
    if (d.schema != nullptr) digest.add(d.schema->data);
  }
  // Messages go to their own digest: held ones are added when the decoder resumes, after
  // events that followed them.
  void on_message(const mcap::Message& m) override {
    // As TcpSession: every third message is refused and held, with the messages after it, and
    // the decoder paused; the views are read only when it resumes.
    if (!holding || (held.empty() && ++count % 3 != 0)) {
      add_message(m);
      return;
    }
    held.push_back(m);
    decoder->pause();
  }
  void add_message(const mcap::Message& m) {
    messages.add_value(m.channel_id);
    messages.add_value(m.sequence);
    messages.add_value(m.log_time);
    messages.add_value(m.publish_time);
    messages.add(m.data);
  }
  void release_held() {
    for (const mcap::Message& m : held) add_message(m);
    held.clear();
  }
  // Hand-off: the payload's part received is copied, the rest comes through fill().
  bool on_large_message(const mcap::Message& m, uint64_t payload_size) override {
    if (!holding) return false;
    if (!held.empty()) mcaprec::fuzz::fail("a payload offered while messages are held");
    taken = m;
    taken_size = payload_size;
    taken_payload.assign(m.data.begin(), m.data.end());
    return true;
  }
  void fill(const uint8_t* bytes, size_t size) {
    taken_payload.insert(taken_payload.end(), bytes, bytes + size);
    if (taken_payload.size() > taken_size) mcaprec::fuzz::fail("a payload read past its end");
    if (taken_payload.size() < taken_size) return;
    taken.data = taken_payload;
    add_message(taken);
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
  Digest messages;
  bool holding = false;
  ingest::McapStreamDecoder* decoder = nullptr;
  std::vector<mcap::Message> held;  // views into the paused decoder's buffer or chunk
  mcap::Message taken;              // the handed-off message, its payload in taken_payload
  std::vector<uint8_t> taken_payload;
  uint64_t taken_size = 0;
  uint64_t count = 0;
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

struct Outcome {
  Digest events;
  Digest messages;
  bool operator==(const Outcome&) const = default;
};

Outcome run(const uint8_t* data, const std::vector<size_t>& sizes) {
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
  return {events.digest, events.messages};
}

Outcome read(const uint8_t* data, size_t size, const std::vector<size_t>& sizes) {
  DigestEvents events;
  // A small buffer, so that growing and moving the incomplete record happen all the time.
  // Payloads from a few bytes on are handed off, so that hand-offs meet every record.
  ingest::McapStreamDecoder decoder(events, fuzz_limits(), 16 + size % 200, 1 + size % 61);
  events.decoder = &decoder;
  events.holding = true;
  events.digest.add_status(mcaprec::fuzz::read_pieces(decoder, events, data, sizes));
  return {events.digest, events.messages};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Outcome whole = run(data, size == 0 ? std::vector<size_t>{} : std::vector<size_t>{size});
  const std::vector<size_t> sizes = mcaprec::fuzz::piece_sizes(data, size);
  const Outcome split = run(data, sizes);
  if (!(whole == split)) mcaprec::fuzz::fail("pieces changed what the stream decoder reported");
  if (!(whole == read(data, size, sizes))) {
    mcaprec::fuzz::fail("reads changed what the stream decoder reported");
  }
  return 0;
}
