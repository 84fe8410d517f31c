// Fuzz target: the MCAP datagram decoder (UDP). The input is a sequence of datagrams, each
// `u16 little-endian header, bytes`: the header's low 15 bits are the length (the last datagram
// takes what is left) and its top bit picks one of two senders.
//
// Besides memory safety, it checks that a datagram is all or nothing: a rejected datagram
// reports nothing and leaves its sender's registry as it was, so decoding only the accepted
// datagrams again, from scratch, must report exactly the same events.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/mcap_datagram_decoder.hpp"
#include "ingest/sender_channels.hpp"

namespace {

using mcaprec::fuzz::Digest;
namespace ingest = mcaprec::ingest;
namespace mcap = mcaprec::mcap;

class DigestEvents : public ingest::DecoderEvents {
 public:
  void on_schema(const mcap::Schema& s) override {
    digest.add_value(s.id);
    digest.add(s.data);
    ++count;
  }
  void on_channel(ingest::InBandChannelId id, const ingest::ChannelDefinition& d) override {
    digest.add_value(id);
    digest.add(d.topic);
    if (d.schema != nullptr) digest.add(d.schema->name);
    ++count;
  }
  void on_message(const mcap::Message& m) override {
    if (registry != nullptr && !registry->has_channel(ingest::InBandChannelId{m.channel_id})) {
      mcaprec::fuzz::fail("message reported on a channel the registry does not hold");
    }
    digest.add_value(m.channel_id);
    digest.add_value(m.log_time);
    digest.add(m.data);
    ++count;
  }

  Digest digest;
  size_t count = 0;
  const ingest::SenderChannels* registry = nullptr;
};

struct Datagram {
  mcap::ByteView bytes;
  int sender = 0;
};

std::vector<Datagram> split_datagrams(const uint8_t* data, size_t size) {
  std::vector<Datagram> out;
  size_t pos = 0;
  while (pos + 2 <= size) {
    const uint16_t header = static_cast<uint16_t>(data[pos] | (data[pos + 1] << 8));
    pos += 2;
    const size_t length = std::min<size_t>(header & 0x7fff, size - pos);
    out.push_back({mcap::ByteView(data + pos, length), header >> 15});
    pos += length;
  }
  return out;
}

ingest::DecoderLimits fuzz_limits() {
  ingest::DecoderLimits limits;
  limits.max_message_size = 4096;
  limits.max_channels = 16;
  limits.max_definition_bytes = 1 << 16;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Datagram> datagrams = split_datagrams(data, size);
  const ingest::DecoderLimits limits = fuzz_limits();
  ingest::McapDatagramDecoder decoder(limits);

  ingest::SenderChannels registries[2] = {ingest::SenderChannels(limits),
                                          ingest::SenderChannels(limits)};
  DigestEvents events;
  std::vector<bool> accepted;
  for (const Datagram& d : datagrams) {
    ingest::SenderChannels& registry = registries[d.sender];
    const size_t channels = registry.channel_count();
    const size_t schemas = registry.schema_count();
    const uint64_t bytes = registry.definition_bytes();
    const size_t count = events.count;
    events.registry = &registry;
    const ingest::DecodeStatus st = decoder.decode(d.bytes, registry, events);
    accepted.push_back(st.ok());
    if (!st.ok()) {
      if (events.count != count) mcaprec::fuzz::fail("a rejected datagram reported events");
      if (registry.channel_count() != channels || registry.schema_count() != schemas ||
          registry.definition_bytes() != bytes) {
        mcaprec::fuzz::fail("a rejected datagram changed its sender's registry");
      }
      if (st.error().offset > d.bytes.size()) mcaprec::fuzz::fail("error offset past the end");
    }
    if (registry.channel_count() > limits.max_channels) mcaprec::fuzz::fail("channel limit");
  }

  // The accepted datagrams alone, from scratch, give the same events.
  ingest::McapDatagramDecoder again(limits);
  ingest::SenderChannels fresh[2] = {ingest::SenderChannels(limits),
                                     ingest::SenderChannels(limits)};
  DigestEvents replay;
  for (size_t i = 0; i < datagrams.size(); ++i) {
    if (!accepted[i]) continue;
    replay.registry = &fresh[datagrams[i].sender];
    if (!again.decode(datagrams[i].bytes, fresh[datagrams[i].sender], replay).ok()) {
      mcaprec::fuzz::fail("an accepted datagram was rejected on replay");
    }
  }
  if (!(replay.digest == events.digest)) mcaprec::fuzz::fail("rejected datagrams left a trace");
  return 0;
}
