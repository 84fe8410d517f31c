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
// automotive_sensor_set() is a second, heavier set (see automotive_set.cpp): raw camera frames
// with sensor noise, float xyz+intensity point clouds and small structured messages, whose big
// payloads are generated once at construction so that sending them costs no CPU.
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

enum class PayloadKind {
  kLidarPacket,
  kCameraFrame,
  kPointCloud,
  kImu,
  kCan,
  kJsonDiagnostics,
  // The automotive set's kinds; their payloads are exactly payload_bytes long.
  kRawCameraFrame,   // raw rgb8 pixels of a smooth scene plus sensor noise
  kPointCloudXyzi,   // float x, y, z, intensity per point, from scans made at construction
  kRadarTargets,     // a header and float targets (range, azimuth, speed, cross-section)
  kGnssFix,          // position, covariance and status
  kUltrasonicRange,  // one range reading with its field of view and limits
};

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

// The automotive sensor set of issue 15 (after rosbag2's automotive.yaml): 30 topics, about
// 572.5 MB and 1,124 messages per second of log time. Sizes are decimal (3.75 MB = 3,750,000 B):
//   /lidar/0../lidar/3   160 kB @ 25 Hz   /lidar/top  640 kB @ 25 Hz   (float xyz+intensity)
//   /camera/0../camera/5 3.75 MB @ 24 Hz  (raw rgb8 1250x1000, noisy)
//   /radar/0../radar/4   1.6 kB @ 50 Hz   /gps 200 B @ 25 Hz   /imu 400 B @ 100 Hz
//   /ultrasonic/0../ultrasonic/11 150 B @ 40 Hz
std::vector<TopicSpec> automotive_sensor_set();

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
    Bytes scans;   // kPointCloudXyzi: whole scans made at construction, sent in turn
  };

  ByteView make_payload(size_t index, Timestamp log_time);
  ByteView lidar_packet(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView camera_frame(uint32_t bytes);
  ByteView point_cloud(TopicState& state, uint32_t bytes);
  ByteView imu(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView can_frame(TopicState& state);
  ByteView diagnostics(TopicState& state, Timestamp log_time);
  // The automotive kinds (automotive_set.cpp).
  void prepare_automotive(size_t index);
  ByteView raw_camera_frame(uint32_t bytes);
  ByteView point_cloud_xyzi(TopicState& state);
  ByteView radar_targets(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView gnss_fix(TopicState& state, uint32_t bytes, Timestamp log_time);
  ByteView ultrasonic_range(TopicState& state, uint32_t bytes, Timestamp log_time);
  uint64_t random();

  std::vector<TopicSpec> topics_;
  std::vector<TopicState> states_;
  uint64_t rng_;
  Bytes camera_pool_;  // random bytes that camera frames are cut from, never overlapping nearby
  uint64_t camera_offset_ = 0;
  std::vector<float> scene_;  // the static point cloud that noisy scans are made from
  Bytes raw_image_pool_;      // noisy raw pixels that raw camera frames are cut from
  uint64_t raw_image_offset_ = 0;
  uint32_t raw_row_bytes_ = 0;  // frames start on a row boundary of the pool
};

}  // namespace mcaprec::synth
