#include "synth/sensor_mix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace mcaprec::synth {

namespace {

constexpr uint32_t kLidarBlockBytes =
    100;  // flag (2) + azimuth (2) + 32 x (distance 2, intensity 1)
constexpr uint32_t kLidarLasers = 32;
constexpr uint32_t kLidarBlocks = 12;
constexpr uint64_t kMinCameraPool = uint64_t{16} << 20;

constexpr const char* kDiagnosticsSchema =
    R"({"type":"object","properties":{"stamp":{"type":"integer"},"hardware_id":{"type":"string"},)"
    R"("level":{"type":"integer"},"name":{"type":"string"},"message":{"type":"string"},)"
    R"("values":{"type":"object"}}})";

template <class T>
void put(uint8_t*& at, T value) {
  std::memcpy(at, &value, sizeof(T));
  at += sizeof(T);
}

}  // namespace

std::vector<TopicSpec> default_sensor_mix() {
  return {
      {"/lidar/packets", "", "", "", "", 1800, kLidarBlocks * kLidarBlockBytes + 6,
       PayloadKind::kLidarPacket},
      {"/camera/image", "", "", "", "", 10, 500'000, PayloadKind::kCameraFrame},
      {"/lidar/points", "", "", "", "", 10, 20'000 * 12, PayloadKind::kPointCloud},
      {"/imu", "", "", "", "", 400, 100, PayloadKind::kImu},
      {"/can", "", "", "", "", 5000, 16, PayloadKind::kCan},
      {"/diagnostics", "json", "diagnostics", "jsonschema", kDiagnosticsSchema, 10, 300,
       PayloadKind::kJsonDiagnostics},
  };
}

SensorMix::SensorMix(std::vector<TopicSpec> topics, uint64_t seed, Timestamp start_time)
    : topics_(std::move(topics)), states_(topics_.size()), rng_(seed) {
  uint64_t largest_frame = 0;
  for (size_t i = 0; i < topics_.size(); ++i) {
    const TopicSpec& spec = topics_[i];
    TopicState& state = states_[i];
    if (spec.rate_hz > 0) {
      state.period_ns = std::max<uint64_t>(1, std::llround(1e9 / spec.rate_hz));
      // Stagger the first messages so that topics do not all fire at the same instant.
      state.next_time = start_time + random() % state.period_ns;
    } else {
      state.next_time = std::numeric_limits<Timestamp>::max();
    }
    if (spec.kind == PayloadKind::kCameraFrame) {
      largest_frame = std::max<uint64_t>(largest_frame, spec.payload_bytes);
    }
    if (spec.kind == PayloadKind::kPointCloud && scene_.empty()) {
      // A ground plane plus a few walls around the vehicle, as a spinning lidar would see it.
      const size_t points = spec.payload_bytes / 12;
      scene_.resize(points * 3);
      for (size_t p = 0; p < points; ++p) {
        const double angle = 2 * M_PI * static_cast<double>(p) / static_cast<double>(points);
        const double range = 4.0 + 30.0 * (0.5 + 0.5 * std::sin(7 * angle)) + (p % 16) * 0.5;
        scene_[3 * p] = static_cast<float>(range * std::cos(angle));
        scene_[3 * p + 1] = static_cast<float>(range * std::sin(angle));
        scene_[3 * p + 2] = static_cast<float>(-1.8 + (p % 16) * 0.15);
      }
    }
    prepare_automotive(i);
  }
  if (largest_frame > 0) {
    // Cameras send already-encoded frames: random bytes are a fair stand-in. Consecutive frames
    // come from different parts of a pool much larger than any compression window.
    camera_pool_.resize(std::max(kMinCameraPool, 8 * largest_frame));
    for (size_t at = 0; at + 8 <= camera_pool_.size(); at += 8) {
      const uint64_t r = random();
      std::memcpy(camera_pool_.data() + at, &r, 8);
    }
  }
}

uint64_t SensorMix::random() {
  // splitmix64: fast, and good enough to defeat compressors.
  uint64_t z = (rng_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SensorMix::nominal_bytes_per_second() const {
  double total = 0;
  for (const TopicSpec& spec : topics_) total += spec.rate_hz * spec.payload_bytes;
  return total;
}

SyntheticMessage SensorMix::next() {
  size_t index = 0;
  for (size_t i = 1; i < states_.size(); ++i) {
    if (states_[i].next_time < states_[index].next_time) index = i;
  }
  TopicState& state = states_[index];
  SyntheticMessage message;
  message.topic_index = index;
  message.sequence = state.sequence++;
  message.log_time = state.next_time;
  message.payload = make_payload(index, message.log_time);
  state.next_time += state.period_ns;
  return message;
}

ByteView SensorMix::make_payload(size_t index, Timestamp log_time) {
  const TopicSpec& spec = topics_[index];
  TopicState& state = states_[index];
  switch (spec.kind) {
    case PayloadKind::kLidarPacket:
      return lidar_packet(state, spec.payload_bytes, log_time);
    case PayloadKind::kCameraFrame:
      return camera_frame(spec.payload_bytes);
    case PayloadKind::kPointCloud:
      return point_cloud(state, spec.payload_bytes);
    case PayloadKind::kImu:
      return imu(state, spec.payload_bytes, log_time);
    case PayloadKind::kCan:
      return can_frame(state);
    case PayloadKind::kJsonDiagnostics:
      return diagnostics(state, log_time);
    case PayloadKind::kRawCameraFrame:
      return raw_camera_frame(spec.payload_bytes);
    case PayloadKind::kPointCloudXyzi:
      return point_cloud_xyzi(state);
    case PayloadKind::kRadarTargets:
      return radar_targets(state, spec.payload_bytes, log_time);
    case PayloadKind::kGnssFix:
      return gnss_fix(state, spec.payload_bytes, log_time);
    case PayloadKind::kUltrasonicRange:
      return ultrasonic_range(state, spec.payload_bytes, log_time);
  }
  return {};
}

// Firing blocks of a 32-laser spinning lidar: distances follow the scene smoothly with a few
// millimetres of noise, intensities take few values, so the packet compresses moderately.
ByteView SensorMix::lidar_packet(TopicState& state, uint32_t bytes, Timestamp log_time) {
  state.buffer.assign(bytes, 0);
  const uint32_t blocks = std::min(kLidarBlocks, bytes > 6 ? (bytes - 6) / kLidarBlockBytes : 0);
  uint8_t* at = state.buffer.data();
  for (uint32_t b = 0; b < blocks; ++b) {
    const uint32_t azimuth = (state.sequence * kLidarBlocks + b) * 20 % 36000;  // 0.01 degree
    put<uint8_t>(at, 0xFF);
    put<uint8_t>(at, 0xEE);
    put<uint16_t>(at, static_cast<uint16_t>(azimuth));
    const uint64_t noise = random();
    for (uint32_t laser = 0; laser < kLidarLasers; ++laser) {
      const uint32_t wall = 2000 + (azimuth / 7) % 3000 + laser * 40;  // 2 mm units
      const uint32_t jitter = (noise >> (2 * laser)) & 0x3;
      put<uint16_t>(at, static_cast<uint16_t>(wall + jitter));
      put<uint8_t>(at, static_cast<uint8_t>(20 + (laser % 8) * 10 + (jitter & 1)));
    }
  }
  if (bytes >= 6 && blocks == kLidarBlocks) {
    put<uint32_t>(at, static_cast<uint32_t>(log_time / 1000 % 3'600'000'000ULL));
    put<uint8_t>(at, 0x37);  // return mode: strongest
    put<uint8_t>(at, 0x28);  // product id
  }
  return state.buffer;
}

ByteView SensorMix::camera_frame(uint32_t bytes) {
  const uint64_t size = std::min<uint64_t>(bytes, camera_pool_.size());
  if (camera_offset_ + size > camera_pool_.size()) camera_offset_ = 0;
  ByteView frame(camera_pool_.data() + camera_offset_, size);
  camera_offset_ += size + random() % 4096;
  return frame;
}

// The static scene seen again with up to +-2 cm of noise per coordinate.
ByteView SensorMix::point_cloud(TopicState& state, uint32_t bytes) {
  const size_t points = std::min<size_t>(bytes / 12, scene_.size() / 3);
  state.buffer.resize(bytes);
  std::fill(state.buffer.begin() + points * 12, state.buffer.end(), 0);
  uint8_t* at = state.buffer.data();
  constexpr float kNoiseScale = 0.04f / 65536.0f;
  for (size_t p = 0; p < points; ++p) {
    const uint64_t r = random();
    for (int axis = 0; axis < 3; ++axis) {
      const float noise =
          (static_cast<float>((r >> (16 * axis)) & 0xFFFF) - 32768.0f) * kNoiseScale;
      put<float>(at, scene_[3 * p + axis] + noise);
    }
  }
  return state.buffer;
}

// Stamp, orientation quaternion, angular velocity and linear acceleration as doubles.
ByteView SensorMix::imu(TopicState& state, uint32_t bytes, Timestamp log_time) {
  constexpr size_t kImuFieldsBytes = 8 + 4 * 8 + 3 * 8 + 3 * 8 + 4;
  state.buffer.assign(std::max<size_t>(bytes, kImuFieldsBytes), 0);
  uint8_t* at = state.buffer.data();
  const double t = static_cast<double>(state.sequence) * 0.0025;
  auto noise = [this] { return (static_cast<double>(random() & 0xFFFF) - 32768.0) * 1e-7; };
  put<uint64_t>(at, log_time);
  put<double>(at, std::cos(t * 0.05));
  put<double>(at, 0.0);
  put<double>(at, 0.0);
  put<double>(at, std::sin(t * 0.05));
  for (int i = 0; i < 3; ++i) put<double>(at, 0.01 * std::sin(t + i) + noise());
  for (int i = 0; i < 3; ++i) put<double>(at, (i == 2 ? 9.81 : 0.2 * std::cos(t + i)) + noise());
  put<uint32_t>(at, state.sequence);
  return state.buffer;
}

// Classic CAN frames from a handful of ECUs: id, length, flags, 8 data bytes of slow signals.
ByteView SensorMix::can_frame(TopicState& state) {
  static constexpr uint32_t kIds[] = {0x0C4, 0x0F1, 0x1A0, 0x1F5, 0x280, 0x2B0, 0x3E9, 0x4F0};
  state.buffer.assign(16, 0);
  uint8_t* at = state.buffer.data();
  const uint32_t n = state.sequence;
  put<uint32_t>(at, kIds[n % 8]);
  put<uint8_t>(at, 8);
  at += 3;                                                          // flags and padding
  put<uint16_t>(at, static_cast<uint16_t>(n / 8));                  // rolling counter
  put<uint16_t>(at, static_cast<uint16_t>(1500 + (n / 64) % 500));  // speed-like
  put<uint16_t>(at, static_cast<uint16_t>(random() & 0x03FF));      // noisy sensor
  put<uint16_t>(at, static_cast<uint16_t>(n % 8 * 1000));
  return state.buffer;
}

ByteView SensorMix::diagnostics(TopicState& state, Timestamp log_time) {
  static constexpr const char* kNames[] = {"lidar_driver", "camera_driver", "gnss", "can_bridge",
                                           "storage"};
  static constexpr const char* kMessages[] = {"OK", "OK", "OK", "frame rate low", "OK"};
  const uint32_t n = state.sequence;
  char text[512];
  const int length = std::snprintf(
      text, sizeof text,
      R"({"stamp":%llu,"hardware_id":"ecu-%u","level":%d,"name":"%s","message":"%s",)"
      R"("values":{"temperature_c":%.1f,"voltage_v":%.2f,"uptime_s":%llu,"cpu_load":%.2f,)"
      R"("dropped_frames":%u,"firmware":"4.2.%u"}})",
      static_cast<unsigned long long>(log_time), n % 5, n % 5 == 3 ? 1 : 0, kNames[n % 5],
      kMessages[n % 5], 40.0 + static_cast<double>(random() % 100) / 10.0,
      12.0 + static_cast<double>(random() % 100) / 100.0,
      static_cast<unsigned long long>(log_time / 1'000'000'000ULL % 100000),
      static_cast<double>(random() % 100) / 100.0, n / 50, n % 5);
  const size_t size = length < 0 ? 0 : std::min<size_t>(length, sizeof text - 1);
  state.buffer.assign(text, text + size);
  return state.buffer;
}

}  // namespace mcaprec::synth
