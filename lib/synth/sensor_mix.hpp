#pragma once
// A deterministic, seeded stream of synthetic vehicle sensor traffic: the workload of the
// benchmarks and of `mcaprec send`. Each topic has a rate and a payload generator that imitates
// the compressibility of the real thing:
//
//   /lidar/packets     ~1.2 KB Velodyne-style firing blocks at a high rate: moderately compressible
//   /camera/image      ~500 KB encoded frames: incompressible (taken from a large random pool)
//   /lidar/points      point clouds of float x,y,z with sensor noise: poorly compressible
//   /imu               ~100 B at a few hundred Hz
//   /can               16 B frames at several kHz
//   /diagnostics       JSON text at a low rate: very compressible
//
// Messages come out in log-time order across topics. Payload views point into buffers the
// generator owns and reuses, so steady-state generation allocates nothing; a view stays valid
// until the next call to next().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mcap/records.hpp"

namespace mcaprec::synth {

using mcap::Bytes;
using mcap::ByteView;
using mcap::Timestamp;

enum class PayloadKind { kLidarPacket, kCameraFrame, kPointCloud, kImu, kCan, kJsonDiagnostics };

struct TopicSpec {
  std::string topic;
  std::string message_encoding;  // "" for opaque binary
  std::string schema_name;       // empty: the channel has no schema
  std::string schema_encoding;
  std::string schema_data;
  double rate_hz = 0;          // messages per second of log time
  uint32_t payload_bytes = 0;  // nominal size; the exact size depends on the kind
  PayloadKind kind = PayloadKind::kImu;
};

// The default mix: about 9.7 MB and 7,230 messages per second of log time.
std::vector<TopicSpec> default_sensor_mix();

struct SyntheticMessage {
  size_t topic_index = 0;  // into SensorMix::topics()
  uint32_t sequence = 0;   // per topic, from 0
  Timestamp log_time = 0;
  ByteView payload;  // valid until the next call to next()
};

class SensorMix {
 public:
  static constexpr Timestamp kDefaultStartTime = 1'763'700'000'000'000'000ULL;

  explicit SensorMix(std::vector<TopicSpec> topics = default_sensor_mix(), uint64_t seed = 1,
                     Timestamp start_time = kDefaultStartTime);

  const std::vector<TopicSpec>& topics() const { return topics_; }

  // The next message in log-time order (ties go to the lower topic index). Never ends.
  SyntheticMessage next();

  // Payload bytes per second of log time that the mix produces, from rates and nominal sizes.
  double nominal_bytes_per_second() const;

 private:
  struct TopicState {
    Timestamp next_time = 0;
    uint64_t period_ns = 0;
    uint32_t sequence = 0;
    Bytes buffer;  // reused payload storage
  };

  ByteView make_payload(size_t index, Timestamp log_time);
  ByteView lidar_packet(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView camera_frame(uint32_t bytes);
  ByteView point_cloud(TopicState& state, uint32_t bytes);
  ByteView imu(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView can_frame(TopicState& state);
  ByteView diagnostics(TopicState& state, Timestamp log_time);
  uint64_t random();

  std::vector<TopicSpec> topics_;
  std::vector<TopicState> states_;
  uint64_t rng_;
  Bytes camera_pool_;  // random bytes that camera frames are cut from, never overlapping nearby
  uint64_t camera_offset_ = 0;
  std::vector<float> scene_;  // the static point cloud that noisy scans are made from
};

}  // namespace mcaprec::synth
