// The automotive sensor set: the topics of automotive_sensor_set() and the payload generators of
// its kinds. The heavy payloads (raw frames, point clouds) are made once at construction and
// then only pointed at, so a producer streaming 500 MB/s spends its CPU on the socket alone.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "synth/sensor_mix.hpp"

namespace mcaprec::synth {

namespace {

constexpr uint32_t kRawWidth = 1250;  // rgb8: 1250 x 1000 x 3 = 3.75 MB per frame
constexpr uint32_t kRawChannels = 3;
constexpr uint32_t kRawSceneRows = 1000;
constexpr uint32_t kRawPoolFrames = 4;  // frames start anywhere in a pool of this many
constexpr uint32_t kScansPerLidar = 4;
constexpr uint32_t kLidarRings = 32;
constexpr uint32_t kRadarHeaderBytes = 16;
constexpr uint32_t kRadarTargetBytes = 6 * 4;

template <class T>
void put(uint8_t*& at, T value) {
  std::memcpy(at, &value, sizeof(T));
  at += sizeof(T);
}

void put_text(uint8_t*& at, const std::string& text) {
  put<uint32_t>(at, static_cast<uint32_t>(text.size()));
  std::memcpy(at, text.data(), text.size());
  at += text.size();
}

// Brightness of a simple street scene at a pixel: sky getting lighter towards the horizon,
// buildings as vertical bands, a darker road below. Smooth, like what a lens delivers.
double scene_brightness(uint32_t x, uint32_t y, uint32_t channel) {
  const double u = static_cast<double>(x) / kRawWidth;
  const double v = static_cast<double>(y) / kRawSceneRows;
  double level = 0;
  if (v < 0.35) {
    level = 150 + 70 * v / 0.35 + (channel == 2 ? 25 : 0);
  } else if (v < 0.6) {
    level = 90 + 50 * std::sin(9 * u + 3 * std::floor(u * 7)) + 20 * std::cos(40 * v);
  } else {
    level = 70 + 30 * (v - 0.6) + 15 * std::sin(3 * u);
  }
  return level + (channel == 0 ? 8 : 0);
}

}  // namespace

std::vector<TopicSpec> automotive_sensor_set() {
  std::vector<TopicSpec> topics;
  auto add = [&](std::string topic, double hz, uint32_t bytes, PayloadKind kind) {
    topics.push_back({std::move(topic), "", "", "", "", hz, bytes, kind});
  };
  for (int i = 0; i < 4; ++i) {
    add("/lidar/" + std::to_string(i), 25, 160'000, PayloadKind::kPointCloudXyzi);
  }
  add("/lidar/top", 25, 640'000, PayloadKind::kPointCloudXyzi);
  for (int i = 0; i < 6; ++i) {
    add("/camera/" + std::to_string(i), 24, 3'750'000, PayloadKind::kRawCameraFrame);
  }
  for (int i = 0; i < 5; ++i) {
    add("/radar/" + std::to_string(i), 50, 1'600, PayloadKind::kRadarTargets);
  }
  add("/gps", 25, 200, PayloadKind::kGnssFix);
  add("/imu", 100, 400, PayloadKind::kImu);
  for (int i = 0; i < 12; ++i) {
    add("/ultrasonic/" + std::to_string(i), 40, 150, PayloadKind::kUltrasonicRange);
  }
  return topics;
}

// Makes what topic `index` needs before the first message: the shared pool of noisy pixels for
// raw cameras, whole scans for point clouds.
void SensorMix::prepare_automotive(size_t index) {
  const TopicSpec& spec = topics_[index];
  if (spec.kind == PayloadKind::kRawCameraFrame && raw_image_pool_.empty()) {
    raw_row_bytes_ = kRawWidth * kRawChannels;
    // The scene once, then every pixel of the pool is the scene plus fresh noise.
    std::vector<uint8_t> scene(kRawSceneRows * raw_row_bytes_);
    for (uint32_t y = 0; y < kRawSceneRows; ++y) {
      for (uint32_t x = 0; x < kRawWidth; ++x) {
        for (uint32_t c = 0; c < kRawChannels; ++c) {
          scene[(y * kRawWidth + x) * kRawChannels + c] =
              static_cast<uint8_t>(std::clamp(scene_brightness(x, y, c), 0.0, 255.0));
        }
      }
    }
    const uint64_t rows = kRawPoolFrames * (spec.payload_bytes / raw_row_bytes_ + 1);
    raw_image_pool_.resize(rows * raw_row_bytes_);
    for (uint64_t at = 0; at < raw_image_pool_.size(); ++at) {
      // Shot and read noise at a high gain (dusk, a tunnel): a sum of four uniform 6-bit
      // values, close to a normal with a standard deviation of about 37 levels.
      const uint64_t bits = random();
      const int noise = static_cast<int>((bits & 63) + ((bits >> 6) & 63) + ((bits >> 12) & 63) +
                                         ((bits >> 18) & 63)) -
                        126;
      const int level = scene[at % scene.size()] + noise;
      raw_image_pool_[at] = static_cast<uint8_t>(std::clamp(level, 0, 255));
    }
  }
  if (spec.kind == PayloadKind::kPointCloudXyzi) {
    TopicState& state = states_[index];
    const uint32_t points = spec.payload_bytes / 16;
    const uint32_t per_ring = std::max<uint32_t>(1, points / kLidarRings);
    const double phase = static_cast<double>(random() % 1000) / 100.0;
    state.scans.assign(uint64_t{kScansPerLidar} * spec.payload_bytes, 0);
    uint8_t* at = state.scans.data();
    constexpr float kNoiseScale = 0.04f / 65536.0f;  // up to +-2 cm per coordinate
    for (uint32_t scan = 0; scan < kScansPerLidar; ++scan) {
      for (uint32_t p = 0; p < points; ++p) {
        const double azimuth = 2 * M_PI * (p % per_ring) / per_ring;
        const double elevation = (static_cast<double>(p / per_ring % kLidarRings) - 24.0) * 0.012;
        const double range = 5.0 + 25.0 * (0.5 + 0.5 * std::sin(5 * azimuth + phase));
        const uint64_t r = random();
        auto noise = [&](int axis) {
          return (static_cast<float>((r >> (16 * axis)) & 0xFFFF) - 32768.0f) * kNoiseScale;
        };
        put<float>(at,
                   static_cast<float>(range * std::cos(elevation) * std::cos(azimuth)) + noise(0));
        put<float>(at,
                   static_cast<float>(range * std::cos(elevation) * std::sin(azimuth)) + noise(1));
        put<float>(at, static_cast<float>(range * std::sin(elevation)) + noise(2));
        put<float>(at, static_cast<float>(10 * (p % per_ring * 8 / per_ring) + (r >> 60)));
      }
      at = state.scans.data() + uint64_t{scan + 1} * spec.payload_bytes;
    }
  }
}

ByteView SensorMix::raw_camera_frame(uint32_t bytes) {
  const uint64_t size = std::min<uint64_t>(bytes, raw_image_pool_.size());
  const uint64_t rows = raw_image_pool_.size() / raw_row_bytes_;
  const uint64_t frame_rows = (size + raw_row_bytes_ - 1) / raw_row_bytes_;
  raw_image_offset_ = random() % (rows - frame_rows + 1) * raw_row_bytes_;
  return ByteView(raw_image_pool_.data() + raw_image_offset_, size);
}

ByteView SensorMix::point_cloud_xyzi(TopicState& state) {
  const uint64_t scan_bytes = state.scans.size() / kScansPerLidar;
  return ByteView(state.scans.data() + state.sequence % kScansPerLidar * scan_bytes, scan_bytes);
}

// A header (stamp, sequence, target count) and targets of six floats, a few of them moving.
ByteView SensorMix::radar_targets(TopicState& state, uint32_t bytes, Timestamp log_time) {
  state.buffer.assign(bytes, 0);
  const uint32_t targets =
      bytes > kRadarHeaderBytes ? (bytes - kRadarHeaderBytes) / kRadarTargetBytes : 0;
  uint8_t* at = state.buffer.data();
  if (bytes < kRadarHeaderBytes) return state.buffer;
  put<uint64_t>(at, log_time);
  put<uint32_t>(at, state.sequence);
  put<uint32_t>(at, targets);
  for (uint32_t t = 0; t < targets; ++t) {
    const uint64_t r = random();
    put<float>(at, 2.0f + static_cast<float>(t) * 1.3f + static_cast<float>(r & 0xFF) / 256.0f);
    put<float>(at, -0.6f + static_cast<float>(t) * 0.018f);
    put<float>(at, 0.0f);
    put<float>(at, t % 7 == 0 ? static_cast<float>((r >> 8) & 0xFFF) / 100.0f - 20.0f : 0.0f);
    put<float>(at, static_cast<float>((r >> 20) & 0x3F) - 10.0f);
    put<float>(at, static_cast<float>((r >> 26) & 0x1F) + 8.0f);
  }
  return state.buffer;
}

// Latitude, longitude and altitude drifting slowly, a diagonal covariance, fix status.
ByteView SensorMix::gnss_fix(TopicState& state, uint32_t bytes, Timestamp log_time) {
  constexpr size_t kFieldsBytes = 8 + 4 + 13 + 1 + 2 + 3 * 8 + 9 * 8 + 1;
  state.buffer.assign(std::max<size_t>(bytes, kFieldsBytes), 0);
  uint8_t* at = state.buffer.data();
  const double t = static_cast<double>(state.sequence) * 0.04;
  const double jitter = static_cast<double>(random() & 0xFFFF) * 1e-9;
  put<uint64_t>(at, log_time);
  put_text(at, "gnss_link");
  put<int8_t>(at, 2);      // fix with ground augmentation
  put<uint16_t>(at, 0xF);  // every constellation
  put<double>(at, 48.137 + t * 1e-6 + jitter);
  put<double>(at, 11.575 + t * 2e-6 + jitter);
  put<double>(at, 519.0 + std::sin(t) * 0.2);
  for (int i = 0; i < 9; ++i) put<double>(at, i % 4 == 0 ? 0.04 + jitter : 0.0);
  put<uint8_t>(at, 2);  // covariance diagonal known
  return state.buffer;
}

// One reading: frame, radiation type, field of view, limits and the range itself.
ByteView SensorMix::ultrasonic_range(TopicState& state, uint32_t bytes, Timestamp log_time) {
  constexpr size_t kFieldsBytes = 8 + 4 + 13 + 1 + 4 * 5;
  state.buffer.assign(std::max<size_t>(bytes, kFieldsBytes), 0);
  uint8_t* at = state.buffer.data();
  put<uint64_t>(at, log_time);
  put_text(at, "ultrasonic_" + std::to_string(state.sequence % 2));
  put<uint8_t>(at, 0);  // ultrasound
  put<float>(at, 0.52f);
  put<float>(at, 0.15f);
  put<float>(at, 5.5f);
  put<float>(at, 0.8f + static_cast<float>(random() & 0x3FF) / 512.0f);
  put<float>(at, 0.0004f);
  return state.buffer;
}

}  // namespace mcaprec::synth
