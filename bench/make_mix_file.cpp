// Writes an uncompressed MCAP file of the synthetic sensor mix with the camera at a higher
// rate, so that incompressible frames dominate the bytes: the input of convert_vs_zstd.sh.
//
//   make_mix_file OUT SECONDS [CAMERA_HZ]    (CAMERA_HZ default 40: ~80 % of the payload)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "declare_topics.hpp"
#include "mcap/writer.hpp"
#include "storage/file_sink.hpp"
#include "synth/sensor_mix.hpp"

using namespace mcaprec;

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: make_mix_file OUT SECONDS [CAMERA_HZ]\n");
    return 2;
  }
  const std::string out = argv[1];
  const double seconds = std::atof(argv[2]);
  const double camera_hz = argc == 4 ? std::atof(argv[3]) : 40.0;
  if (seconds <= 0 || camera_hz <= 0) {
    std::fprintf(stderr, "make_mix_file: SECONDS and CAMERA_HZ must be positive\n");
    return 2;
  }

  std::vector<synth::TopicSpec> topics = synth::default_sensor_mix();
  for (synth::TopicSpec& t : topics) {
    if (t.kind == synth::PayloadKind::kCameraFrame) t.rate_hz = camera_hz;
  }
  synth::SensorMix mix(topics);

  mcap::WriterOptions options;
  options.compression = mcap::Compression::kNone;
  options.chunk_size = uint64_t{1} << 20;
  auto opened = storage::create_file_writer(out, options);
  if (!opened) {
    std::fprintf(stderr, "make_mix_file: %s\n", opened.error().to_string().c_str());
    return 1;
  }
  mcap::Writer& writer = **opened;
  mcap::Status status = bench::declare_topics(writer, topics);
  uint64_t messages = 0;
  uint64_t payload_bytes = 0;
  uint64_t camera_bytes = 0;
  synth::SyntheticMessage m = mix.next();
  const mcap::Timestamp end = m.log_time + static_cast<mcap::Timestamp>(seconds * 1e9);
  for (; status.ok() && m.log_time < end; m = mix.next()) {
    status = writer.write_message(
        {static_cast<uint16_t>(m.topic_index + 1), m.sequence, m.log_time, m.log_time, m.payload});
    ++messages;
    payload_bytes += m.payload.size();
    if (topics[m.topic_index].kind == synth::PayloadKind::kCameraFrame) {
      camera_bytes += m.payload.size();
    }
  }
  if (status.ok()) status = writer.close();
  if (!status.ok()) {
    std::fprintf(stderr, "make_mix_file: %s\n", status.error().to_string().c_str());
    return 1;
  }
  std::printf("%s: %llu messages, %llu payload bytes (camera %.1f %%)\n", out.c_str(),
              static_cast<unsigned long long>(messages),
              static_cast<unsigned long long>(payload_bytes),
              payload_bytes ? 100.0 * double(camera_bytes) / double(payload_bytes) : 0.0);
  return 0;
}
