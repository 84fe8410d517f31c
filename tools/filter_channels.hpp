#pragma once
// Channel and schema ids of `mcaprec filter`'s output. Each input's channels are mapped to
// output ids as they are first used: equal definitions (topic, encodings, metadata, schema)
// share one output channel, and an input id is kept in the output when it is free there, so
// that chunks of that input can be copied as they are.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "filter_merge.hpp"
#include "mcap/records.hpp"
#include "mcap/writer.hpp"

namespace mcaprec::tool {

class OutputIds {
 public:
  explicit OutputIds(mcap::Writer& writer) : writer_(writer) {}
  // The output id of `channel` (whose schema is `schema`, or null), declared on first use.
  mcap::Result<uint16_t> channel(const mcap::Channel& channel, const mcap::Schema* schema);

 private:
  mcap::Result<uint16_t> schema(const mcap::Schema& schema);

  mcap::Writer& writer_;
  std::map<std::string, uint16_t> schema_ids_;  // definition -> output id
  std::map<std::string, uint16_t> channel_ids_;
  std::set<uint16_t> schemas_used_;
  std::set<uint16_t> channels_used_;
};

// One input file's declarations and what became of each of its channels in the output.
class InputChannels {
 public:
  void add_schema(const mcap::Schema& schema);
  void add_channel(const mcap::Channel& channel) { channels_.try_emplace(channel.id, channel); }

  struct Mapped {
    std::optional<uint16_t> out_id;  // none when the selection leaves the topic out
    bool same_ids = false;           // the output keeps the input's channel and schema ids
  };
  // Fails for a message on a channel the file has not declared.
  mcap::Result<Mapped> map(uint16_t channel_id, const Selection& selection, OutputIds& ids);

 private:
  std::map<uint16_t, mcap::Schema> schemas_;
  std::map<uint16_t, mcap::Channel> channels_;
  std::map<uint16_t, Mapped> mapped_;
};

}  // namespace mcaprec::tool
