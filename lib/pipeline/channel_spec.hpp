#pragma once
// What a producer declares about a channel before pushing to it.
#include <cstdint>
#include <optional>
#include <string>

#include "mcap/records.hpp"
#include "pipeline/types.hpp"

namespace mcaprec::pipeline {

struct SchemaSpec {
  std::string name;      // e.g. "sensor_msgs/msg/Imu"
  std::string encoding;  // e.g. "ros2msg", "protobuf", "jsonschema"
  mcap::Bytes data;      // the schema itself
};

struct ChannelSpec {
  std::string topic;                       // required
  std::string message_encoding;            // e.g. "cdr", "protobuf", "json"
  std::optional<SchemaSpec> schema;        // none: the channel's schema id is 0
  mcap::KeyValueMap metadata;              // Channel.metadata
  std::string chunk_group;                 // "" or "default": the shared group
  uint64_t queue_bytes = 0;                // 0: PipelineOptions::default_queue_bytes
  std::optional<OverflowPolicy> overflow;  // none: PipelineOptions::default_overflow
};

}  // namespace mcaprec::pipeline
