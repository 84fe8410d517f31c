#pragma once
// What a producer declares about a channel before pushing to it: what the file records of it
// (no ids: the pipeline assigns them) plus where it is queued. Unlike mcap::Channel (the
// record) and ChannelEntry (a declared channel, with its file ids and queue), it is the
// pipeline's input; ingest::ChannelDefinition becomes one in SourceContext::declare.
#include <cstdint>
#include <optional>
#include <string>

#include "mcap/records.hpp"
#include "pipeline/overflow_policy.hpp"

namespace mcaprec::pipeline {

// A schema without its id (mcap::Schema has one): also what ingest keeps of a sender's schemas.
struct SchemaSpec {
  std::string name;      // e.g. "sensor_msgs/msg/Imu"
  std::string encoding;  // e.g. "ros2msg", "protobuf", "jsonschema"
  mcap::Bytes data;      // the schema itself

  bool operator==(const SchemaSpec&) const = default;
};

struct ChannelSpec {
  std::string topic;                       // required
  std::string message_encoding;            // e.g. "cdr", "protobuf", "json"
  std::optional<SchemaSpec> schema;        // none: the channel's schema id is 0
  mcap::KeyValueMap metadata;              // Channel.metadata
  std::string chunk_group;                 // "" or "default": the shared group
  uint64_t queue_bytes = 0;                // 0: PipelineOptions::default_queue_bytes
  std::optional<OverflowPolicy> overflow;  // none: PipelineOptions::default_overflow
  // The configured source declaring it (not part of the file: equal channels from several
  // sources share one file channel). Each source's handles follow that source's pauses.
  std::string source;
  // Recorded only around events: kept in the look-back ring, never in the continuous files.
  // Ignored (recorded always) when the pipeline has no event recording.
  bool on_event = false;
  // Latched (config `channels[].latch`): the last message written of each publisher starts
  // every later file again (latch_table.hpp). Fixed by the channel's first declaration.
  bool latch = false;
  // Who pushes through the handle this declaration returns (one sender, e.g. a connection):
  // latching keeps one message per publisher. Not part of the file; 0 for a single publisher.
  uint64_t publisher = 0;
  // Messages above this rate (by log time) are not recorded; millihertz, 0 = no limit. Like the
  // queue settings, the first declaration of a file channel sets it.
  uint64_t max_rate_millihertz = 0;
  // The declaring source does not record this topic: every push is counted not_recorded
  // (`excluded`). The channel is declared in the pipeline (so it has counts) but, carrying no
  // messages, never in a file.
  bool excluded = false;
};

}  // namespace mcaprec::pipeline
