#pragma once
// The benches write the sensor mix with the format library: topic i becomes channel i + 1, and
// each topic with a schema gets the next schema id.
#include <cstdint>
#include <vector>

#include "mcap/writer.hpp"
#include "synth/sensor_mix.hpp"

namespace mcaprec::bench {

inline mcap::Status declare_topics(mcap::Writer& writer,
                                   const std::vector<synth::TopicSpec>& topics) {
  uint16_t schema_id = 0;
  for (size_t i = 0; i < topics.size(); ++i) {
    const synth::TopicSpec& t = topics[i];
    uint16_t channel_schema = 0;
    if (!t.schema_name.empty()) {
      channel_schema = ++schema_id;
      mcap::Status status =
          writer.add_schema({channel_schema, t.schema_name, t.schema_encoding,
                             mcap::Bytes(t.schema_data.begin(), t.schema_data.end())});
      if (!status.ok()) return status;
    }
    mcap::Status status = writer.add_channel(
        {static_cast<uint16_t>(i + 1), channel_schema, t.topic, t.message_encoding, {}});
    if (!status.ok()) return status;
  }
  return {};
}

}  // namespace mcaprec::bench
