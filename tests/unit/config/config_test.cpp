// The configuration loader as a user meets it: the shipped files load, every mistake is
// reported with file, line and key path (all of them, not just the first), sizes and durations
// take units, and --check-config's output reads back to the same configuration.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/suggest.hpp"
#include "config/to_yaml.hpp"
#include "config/units.hpp"
#include "scratch_dir.hpp"

namespace mcaprec::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const fs::path kConfigDir = MCAPREC_CONFIG_DIR;

// A minimal valid file; tests append to it or replace parts of it.
constexpr const char* kOneSource =
    "sources:\n"
    "  - name: producers\n"
    "    transport: tcp\n"
    "    bind: 127.0.0.1:9410\n";

std::vector<std::string> error_lines(const std::string& yaml) {
  Result<Config> result = load_config_string(yaml, "test.yaml");
  std::vector<std::string> lines;
  for (const ConfigError& error : result.errors()) lines.push_back(error.to_string());
  return lines;
}

// The only error of `yaml`, as printed; fails the test when there is not exactly one.
std::string single_error(const std::string& yaml) {
  Result<Config> result = load_config_string(yaml, "test.yaml");
  EXPECT_FALSE(result.ok()) << "expected an error for:\n" << yaml;
  EXPECT_EQ(result.errors().size(), 1u) << result.error_text();
  return result.errors().empty() ? "" : result.errors().front().to_string();
}

Config load_ok(const std::string& yaml) {
  Result<Config> result = load_config_string(yaml, "test.yaml");
  EXPECT_TRUE(result.ok()) << result.error_text();
  return result.ok() ? result.value() : Config{};
}

void write_file(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

// --- the shipped files ---

TEST(ConfigFiles, DefaultRecordsLoopbackIntoRecordings) {
  Result<Config> result = load_config_file((kConfigDir / "default.yaml").string());
  ASSERT_TRUE(result.ok()) << result.error_text();
  const Config& config = *result;
  EXPECT_EQ(config.output.directory, "./recordings");
  ASSERT_TRUE(config.metrics.bind.has_value());
  EXPECT_EQ(config.metrics.bind->host, "127.0.0.1");

  bool tcp_mcap = false, udp_mcap = false, udp_raw = false;
  for (const Source& source : config.sources) {
    EXPECT_EQ(source.bind.host, "127.0.0.1") << source.name << " must listen on loopback only";
    tcp_mcap |= source.transport == Transport::kTcp && source.format == SourceFormat::kMcap;
    udp_mcap |= source.transport == Transport::kUdp && source.format == SourceFormat::kMcap;
    udp_raw |= source.transport == Transport::kUdp && source.format == SourceFormat::kRaw;
  }
  EXPECT_TRUE(tcp_mcap && udp_mcap && udp_raw);
}

TEST(ConfigFiles, EveryExampleLoads) {
  std::vector<fs::path> examples;
  for (const auto& entry : fs::directory_iterator(kConfigDir / "examples")) {
    if (entry.path().extension() == ".yaml") examples.push_back(entry.path());
  }
  ASSERT_GE(examples.size(), 3u);
  for (const fs::path& example : examples) {
    Result<Config> result = load_config_file(example.string());
    EXPECT_TRUE(result.ok()) << example << ":\n" << result.error_text();
  }
}

TEST(ConfigFiles, VehicleExampleHasMulticastLidarCameraCanAndChunkGroups) {
  Result<Config> result = load_config_file((kConfigDir / "examples" / "vehicle.yaml").string());
  ASSERT_TRUE(result.ok()) << result.error_text();
  const Config& config = *result;
  int multicast_lidars = 0, can_buses = 0;
  bool tcp_cameras = false;
  for (const Source& source : config.sources) {
    if (source.multicast && source.format == SourceFormat::kRaw) ++multicast_lidars;
    if (source.topic.rfind("/can/", 0) == 0 && source.format == SourceFormat::kRaw &&
        source.transport == Transport::kUdp) {
      ++can_buses;
    }
    tcp_cameras |= source.name == "cameras" && source.transport == Transport::kTcp;
  }
  EXPECT_EQ(multicast_lidars, 2);
  EXPECT_EQ(can_buses, 2);
  EXPECT_TRUE(tcp_cameras);
  EXPECT_EQ(channel_settings_for(config, "/can/bus1").chunk_group, "can");
  EXPECT_EQ(channel_settings_for(config, "/lidar/rear/packets").chunk_group, "lidar");
  EXPECT_EQ(channel_settings_for(config, "/camera/front/image").queue_bytes, 256 * kMiB);
  // A topic without an entry gets the pipeline's default queue and the shared group.
  EXPECT_EQ(channel_settings_for(config, "/diagnostics").queue_bytes, 32 * kMiB);
  EXPECT_EQ(channel_settings_for(config, "/diagnostics").chunk_group, "default");
  EXPECT_EQ(config.session.device_name, "test-vehicle-7");
  EXPECT_EQ(config.session.metadata.at("route"), "proving ground, loop B");
}

TEST(ConfigFiles, Ros2ExampleUsesTheRos2Profile) {
  Result<Config> result = load_config_file((kConfigDir / "examples" / "ros2.yaml").string());
  ASSERT_TRUE(result.ok()) << result.error_text();
  EXPECT_EQ(result->mcap.profile, "ros2");
  const Source& mcu = result->sources.at(1);
  EXPECT_EQ(mcu.message_encoding, "cdr");
  ASSERT_TRUE(mcu.schema.has_value());
  EXPECT_EQ(mcu.schema->data, "string data\n");
  EXPECT_NE(mcu.metadata.at("offered_qos_profiles").find("reliability: 1"), std::string::npos);
  EXPECT_TRUE(channel_settings_for(*result, "/tf_static").latch);
}

TEST(ConfigFiles, ShippedFilesRoundTripThroughToYaml) {
  std::vector<fs::path> files = {kConfigDir / "default.yaml"};
  for (const auto& entry : fs::directory_iterator(kConfigDir / "examples")) {
    files.push_back(entry.path());
  }
  for (const fs::path& file : files) {
    Result<Config> first = load_config_file(file.string());
    ASSERT_TRUE(first.ok()) << first.error_text();
    const std::string printed = to_yaml(*first);
    Result<Config> second = load_config_string(printed, "printed.yaml");
    ASSERT_TRUE(second.ok()) << file << " printed as:\n" << printed << second.error_text();
    EXPECT_EQ(*first, *second) << file << " printed as:\n" << printed;
    EXPECT_EQ(to_yaml(*second), printed);
  }
}

// --- defaults ---

TEST(ConfigDefaults, OneSourceGivesTheDocumentedDefaults) {
  const Config config = load_ok(kOneSource);
  EXPECT_EQ(config.output.directory, "./recordings");
  EXPECT_EQ(config.output.prefix, "rec");
  EXPECT_EQ(config.output.max_bytes, 2 * kGiB);
  EXPECT_EQ(config.output.max_duration, milliseconds(600'000));
  EXPECT_EQ(config.output.sync_interval, milliseconds(1000));
  EXPECT_EQ(config.output.max_total_bytes, 0u);
  EXPECT_EQ(config.output.min_free_bytes, 1 * kGiB);
  EXPECT_EQ(config.mcap.profile, "");
  EXPECT_EQ(config.mcap.compression, Compression::kZstd);
  EXPECT_EQ(config.mcap.compression_level, 1);
  EXPECT_EQ(config.mcap.chunk_size, 1 * kMiB);
  EXPECT_EQ(config.mcap.chunk_max_age, milliseconds(500));
  EXPECT_EQ(config.pipeline.compressor_threads, 0u);
  EXPECT_EQ(config.pipeline.ingest_threads, 1u);
  EXPECT_EQ(config.pipeline.memory_budget, 512 * kMiB);
  EXPECT_FALSE(config.metrics.bind.has_value()) << "metrics are off unless configured";
  EXPECT_EQ(config.logging.level, LogLevel::kInfo);
  const Source& source = config.sources.at(0);
  EXPECT_EQ(source.format, SourceFormat::kMcap);
  EXPECT_EQ(source.timestamp, TimestampSource::kSender);
  EXPECT_EQ(source.max_message_size, 16 * kMiB);
  EXPECT_EQ(source.receive_buffer, 0u);
}

TEST(ConfigDefaults, UdpAndRawSourcesGetTheirOwnDefaults) {
  const Config config = load_ok(
      "sources:\n"
      "  - {name: lidar, transport: udp, bind: '127.0.0.1:2368', format: raw, topic: /lidar}\n"
      "  - {name: feed, transport: udp, bind: '[::1]:2368', format: mcap, timestamp: receive}\n");
  const Source& lidar = config.sources.at(0);
  EXPECT_EQ(lidar.timestamp, TimestampSource::kReceive);
  EXPECT_EQ(lidar.max_message_size, 65535u);
  EXPECT_EQ(lidar.receive_buffer, 8 * kMiB);
  EXPECT_EQ(lidar.receive_batch, 32u);
  const Source& feed = config.sources.at(1);
  EXPECT_EQ(feed.bind.host, "::1");
  EXPECT_EQ(feed.timestamp, TimestampSource::kReceive);
  EXPECT_EQ(effective_overflow(channel_settings_for(config, "/lidar"), Transport::kUdp),
            Overflow::kDropNewest);
  EXPECT_EQ(effective_overflow(channel_settings_for(config, "/x"), Transport::kTcp),
            Overflow::kBlock);
}

TEST(ConfigDefaults, EmptySectionsAndNullValuesMeanDefaults) {
  const Config config = load_ok(std::string("output:\nmcap: {}\nchannels:\nmetrics:\n") +
                                "logging: {level: debug}\n" + kOneSource);
  EXPECT_EQ(config.output.prefix, "rec");
  EXPECT_TRUE(config.channels.empty());
  EXPECT_FALSE(config.metrics.bind.has_value());
  EXPECT_EQ(config.logging.level, LogLevel::kDebug);
}

// --- error reports: path, line, and what to write instead ---

TEST(ConfigErrors, UnknownKeySuggestsTheClosestKnownKey) {
  EXPECT_EQ(single_error(std::string("output:\n  prefix: run\n  max_byte: 1GiB\n") + kOneSource),
            "test.yaml:3: output.max_byte: unknown key, did you mean 'max_bytes'?");
  EXPECT_EQ(single_error(std::string(kOneSource) + "    formt: mcap\n"),
            "test.yaml:5: sources[0].formt: unknown key, did you mean 'format'?");
  const std::vector<std::string> errors = error_lines("source:\n  - name: x\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "test.yaml:1: source: unknown key, did you mean 'sources'?");
  EXPECT_EQ(errors[1],
            "test.yaml:1: sources: at least one source is required (see "
            "config/default.yaml)");
}

TEST(ConfigErrors, UnknownKeyWithNothingCloseListsTheKnownKeys) {
  const std::string error = single_error(std::string("metrics:\n  zzzzzzzz: 1\n") + kOneSource);
  EXPECT_EQ(error, "test.yaml:2: metrics.zzzzzzzz: unknown key (known keys here: bind)");
}

TEST(ConfigErrors, BadSizeNamesKeyLineAndHint) {
  EXPECT_EQ(single_error(std::string("pipeline:\n\n  memory_budget: 512MB\n") + kOneSource),
            "test.yaml:3: pipeline.memory_budget: 'MB' is not a size unit: sizes use binary "
            "units (1 MiB = 1048576 bytes); write 512MiB");
  EXPECT_EQ(single_error(std::string("output:\n  max_bytes: lots\n") + kOneSource),
            "test.yaml:2: output.max_bytes: 'lots' is not a size: it must start with a number");
}

TEST(ConfigErrors, BadDurationNamesKeyAndLine) {
  EXPECT_EQ(single_error(std::string("mcap:\n  chunk_max_age: 500\n") + kOneSource),
            "test.yaml:2: mcap.chunk_max_age: '500' needs a unit: ms, s, min or h (for example "
            "500ms or 500s)");
  EXPECT_EQ(single_error(std::string("output:\n  max_duration: 10m\n") + kOneSource),
            "test.yaml:2: output.max_duration: 'm' is ambiguous: write min for minutes or ms "
            "for milliseconds");
}

TEST(ConfigErrors, WrongKindOfValue) {
  EXPECT_EQ(single_error(std::string("output:\n  directory: [a, b]\n") + kOneSource),
            "test.yaml:2: output.directory: expected a text value, found a list");
  EXPECT_EQ(single_error(std::string("mcap: zstd\n") + kOneSource),
            "test.yaml:1: mcap: expected a mapping of keys, found the value 'zstd'");
  EXPECT_EQ(single_error(std::string("pipeline:\n  ingest_threads: two\n") + kOneSource),
            "test.yaml:2: pipeline.ingest_threads: 'two' is not a whole number");
  EXPECT_EQ(single_error(std::string("pipeline:\n  ingest_threads: 0\n") + kOneSource),
            "test.yaml:2: pipeline.ingest_threads: '0' is out of range: it must be from 1 to "
            "256");
  EXPECT_EQ(single_error(std::string("output:\n  max_bytes:\n") + kOneSource),
            "test.yaml:2: output.max_bytes: expected a size such as 64MiB, found no value");
}

TEST(ConfigErrors, AMisshapenListIsOneError) {
  EXPECT_EQ(single_error("sources:\n  - producers\n"),
            "test.yaml:2: sources[0]: expected a mapping of keys, found the value 'producers'");
  EXPECT_EQ(single_error("sources: 3\n"),
            "test.yaml:1: sources: expected a list (lines starting with '- '), found the value "
            "'3'");
  EXPECT_EQ(single_error(std::string(kOneSource) + "channels:\n  - /imu\n"),
            "test.yaml:6: channels[0]: expected a mapping of keys, found the value '/imu'");
}

TEST(ConfigErrors, BadChoiceListsTheChoicesAndSuggests) {
  EXPECT_EQ(single_error(std::string("mcap:\n  compression: lz5\n") + kOneSource),
            "test.yaml:2: mcap.compression: 'lz5' is not one of zstd, lz4 or none; did you mean "
            "'lz4'?");
  EXPECT_EQ(
      single_error(std::string(kOneSource) + "channels:\n  - topic: /a\n    overflow: drop_new\n"),
      "test.yaml:7: channels[0].overflow: 'drop_new' is not one of drop_newest, "
      "drop_oldest or block; did you mean 'drop_newest'?");
}

TEST(ConfigErrors, MissingRequiredKeysPointAtTheirSource) {
  const std::vector<std::string> errors = error_lines(
      "sources:\n"
      "  - name: a\n"
      "    transport: tcp\n"
      "    bind: 127.0.0.1:1\n"
      "  - name: b\n"
      "    bind: 127.0.0.1:2\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "test.yaml:5: sources[1].transport: missing; tcp or udp");
  EXPECT_EQ(single_error("output: {prefix: x}\n"),
            "test.yaml:1: sources: at least one source is required (see config/default.yaml)");
}

TEST(ConfigErrors, TopicRequiredForRawAndLengthPrefixed) {
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: lidar\n"
                         "    transport: udp\n"
                         "    bind: 127.0.0.1:2368\n"
                         "    format: raw\n"),
            "test.yaml:2: sources[0].topic: missing; a raw source needs the topic its messages "
            "are recorded on");
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: frames\n"
                         "    transport: tcp\n"
                         "    bind: 127.0.0.1:9000\n"
                         "    format: length_prefixed\n"
                         "    topic: ''\n"),
            "test.yaml:6: sources[0].topic: must not be empty");
  EXPECT_EQ(single_error(std::string(kOneSource) + "    topic: /x\n"),
            "test.yaml:5: sources[0].topic: only for raw and length_prefixed sources; this "
            "source is mcap (no format given), whose channels are declared in-band");
  EXPECT_EQ(single_error(std::string(kOneSource) + "    format: mcap\n"
                                                   "    topic: /x\n"
                                                   "    message_encoding: json\n"),
            "test.yaml:6: sources[0].topic: only for raw and length_prefixed sources (so are "
            "message_encoding); this source is mcap, whose channels are declared in-band");
}

TEST(ConfigErrors, FormatMustSuitTheTransport) {
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: a\n"
                         "    transport: tcp\n"
                         "    bind: 127.0.0.1:1\n"
                         "    format: raw\n"
                         "    topic: /a\n"),
            "test.yaml:5: sources[0].format: format raw needs transport udp: over tcp there are "
            "no message boundaries (use length_prefixed)");
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: a\n"
                         "    transport: udp\n"
                         "    bind: 127.0.0.1:1\n"
                         "    format: length_prefixed\n"
                         "    topic: /a\n"),
            "test.yaml:5: sources[0].format: format length_prefixed needs transport tcp (over "
            "udp, use raw: one datagram is one message)");
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: a\n"
                         "    transport: udp\n"
                         "    bind: 127.0.0.1:1\n"
                         "    max_connections: 4\n"),
            "test.yaml:5: sources[0].max_connections: only for tcp sources");
}

TEST(ConfigErrors, DuplicateNamesAndBindsPointAtTheSecondAndMentionTheFirst) {
  const std::vector<std::string> errors = error_lines(
      "sources:\n"
      "  - name: cam\n"
      "    transport: tcp\n"
      "    bind: 0.0.0.0:9410\n"
      "  - name: cam\n"
      "    transport: tcp\n"
      "    bind: 127.0.0.1:9410\n"
      "  - name: cam_udp\n"
      "    transport: udp\n"
      "    bind: 127.0.0.1:9410\n"
      "metrics:\n"
      "  bind: localhost:9410\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0],
            "test.yaml:5: sources[1].name: 'cam' is already the name of sources[0] "
            "(line 2)");
  EXPECT_EQ(errors[1],
            "test.yaml:7: sources[1].bind: tcp 127.0.0.1:9410 overlaps sources[0] "
            "(0.0.0.0:9410, line 4)");
  // The UDP source on the same port does not collide: another transport.
  EXPECT_EQ(errors[2],
            "test.yaml:12: metrics.bind: localhost:9410 overlaps the tcp bind of "
            "sources[0] (0.0.0.0:9410, line 4)");
}

TEST(ConfigErrors, BindMustBeAnAddressLiteral) {
  EXPECT_EQ(single_error("sources:\n  - {name: a, transport: tcp, bind: 'recorder.local:9410'}\n"),
            "test.yaml:2: sources[0].bind: 'recorder.local' is not an IP address: the host must "
            "be an IPv4 or IPv6 literal or 'localhost' (names are not resolved)");
  EXPECT_EQ(single_error("sources:\n  - {name: a, transport: tcp, bind: '::1:9410'}\n"),
            "test.yaml:2: sources[0].bind: IPv6 addresses need brackets around them: write "
            "[::1]:9410");
  EXPECT_EQ(single_error("sources:\n  - {name: a, transport: tcp, bind: '127.0.0.1:70000'}\n"),
            "test.yaml:2: sources[0].bind: '70000' is not a port number (0 to 65535)");
}

TEST(ConfigErrors, BudgetsThatCannotHoldChunks) {
  EXPECT_EQ(single_error(std::string("mcap:\n  chunk_size: 64MiB\npipeline:\n"
                                     "  memory_budget: 128MiB\n") +
                         kOneSource),
            "test.yaml:4: pipeline.memory_budget: pipeline.memory_budget (128MiB) cannot hold 4 "
            "chunks of mcap.chunk_size (64MiB): one open chunk for each of the 1 chunk groups "
            "plus two in flight, and at least four; it needs 256MiB or more");
  // With the default budget the chunk size is the mistake.
  EXPECT_EQ(single_error(std::string("mcap:\n  chunk_size: 256MiB\n") + kOneSource),
            "test.yaml:2: mcap.chunk_size: pipeline.memory_budget (512MiB) cannot hold 4 chunks "
            "of mcap.chunk_size (256MiB): one open chunk for each of the 1 chunk groups plus two "
            "in flight, and at least four; it needs 1GiB or more");
  EXPECT_EQ(single_error(std::string("output:\n  max_bytes: 1MiB\n") + kOneSource),
            "test.yaml:2: output.max_bytes: output.max_bytes (1MiB) must be larger than "
            "mcap.chunk_size (1MiB): files rotate at chunk boundaries (0 = no size limit)");
  EXPECT_EQ(single_error(std::string("mcap:\n  chunk_size: 1KiB\n") + kOneSource),
            "test.yaml:2: mcap.chunk_size: 1KiB is outside 4KiB to 256MiB");
  // A raw source's queue must hold one of its messages.
  EXPECT_EQ(single_error("sources:\n"
                         "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, "
                         "topic: /a}\n"
                         "channels:\n"
                         "  - topic: /a\n"
                         "    queue_bytes: 16KiB\n"),
            "test.yaml:5: channels[0].queue_bytes: the queue of /a (16KiB) cannot hold one "
            "message of sources[0].max_message_size (65535B)");
}

TEST(ConfigErrors, MoreChunkGroupsNeedMoreBudget) {
  std::string yaml = std::string("mcap: {chunk_size: 16MiB}\npipeline: {memory_budget: 64MiB}\n") +
                     kOneSource + "channels:\n";
  for (int i = 0; i < 3; ++i) {
    yaml += "  - {topic: /t" + std::to_string(i) + ", chunk_group: g" + std::to_string(i) + "}\n";
  }
  EXPECT_NE(single_error(yaml).find("cannot hold 6 chunks"), std::string::npos);
}

TEST(ConfigErrors, CompressionLevelRangeDependsOnTheCodec) {
  EXPECT_EQ(single_error(std::string("mcap:\n  compression: lz4\n  compression_level: 13\n") +
                         kOneSource),
            "test.yaml:3: mcap.compression_level: 13 is not a lz4 compression level: it must be "
            "from 0 to 12");
  EXPECT_NE(single_error(std::string("mcap:\n  compression_level: 23\n") + kOneSource)
                .find("test.yaml:2: mcap.compression_level: 23 is not a zstd compression level"),
            std::string::npos);
  load_ok(std::string("mcap:\n  compression: zstd\n  compression_level: 19\n") + kOneSource);
  load_ok(std::string("mcap:\n  compression: none\n  compression_level: 99\n") + kOneSource);
}

TEST(ConfigErrors, ChannelTopicsAreUnique) {
  EXPECT_EQ(single_error(std::string(kOneSource) + "channels:\n"
                                                   "  - topic: /imu\n"
                                                   "  - topic: /gps\n"
                                                   "  - topic: /imu\n"),
            "test.yaml:8: channels[2].topic: '/imu' already has settings in channels[0] (line 6)");
}

TEST(ConfigErrors, ReceiveBatchIsForUdpAndAtMost1024) {
  const Config config = load_ok(
      "sources:\n"
      "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, topic: /a, "
      "receive_batch: 0}\n"
      "  - {name: b, transport: udp, bind: '127.0.0.1:2', format: raw, topic: /b, "
      "receive_batch: 1024}\n");
  EXPECT_EQ(config.sources.at(0).receive_batch, 0u);
  EXPECT_EQ(config.sources.at(1).receive_batch, 1024u);
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: a\n"
                         "    transport: tcp\n"
                         "    bind: 127.0.0.1:1\n"
                         "    receive_batch: 8\n"),
            "test.yaml:5: sources[0].receive_batch: only for udp sources");
  const std::string too_many = single_error(
      "sources:\n"
      "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, topic: /a, "
      "receive_batch: 1025}\n");
  EXPECT_EQ(too_many.rfind("test.yaml:2: sources[0].receive_batch: ", 0), 0u) << too_many;
}

TEST(ConfigErrors, CoalesceIsAUdpSwitchOnByDefault) {
  const Config config = load_ok(
      "sources:\n"
      "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, topic: /a}\n"
      "  - {name: b, transport: udp, bind: '127.0.0.1:2', format: raw, topic: /b, "
      "coalesce: false}\n");
  EXPECT_TRUE(config.sources.at(0).coalesce);
  EXPECT_FALSE(config.sources.at(1).coalesce);
  EXPECT_NE(to_yaml(config).find("coalesce: false"), std::string::npos);
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: a\n"
                         "    transport: tcp\n"
                         "    bind: 127.0.0.1:1\n"
                         "    coalesce: true\n"),
            "test.yaml:5: sources[0].coalesce: only for udp sources");
  const std::string not_boolean = single_error(
      "sources:\n"
      "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, topic: /a, "
      "coalesce: maybe}\n");
  EXPECT_EQ(not_boolean.rfind("test.yaml:2: sources[0].coalesce: ", 0), 0u) << not_boolean;
}

TEST(ConfigErrors, BlockingCannotSlowDownUdp) {
  EXPECT_EQ(single_error("sources:\n"
                         "  - {name: a, transport: udp, bind: '127.0.0.1:1', format: raw, "
                         "topic: /a}\n"
                         "channels:\n"
                         "  - topic: /a\n"
                         "    overflow: block\n"),
            "test.yaml:5: channels[0].overflow: block cannot slow down the UDP sender sources[0] "
            "(a); use drop_newest or drop_oldest");
}

TEST(ConfigErrors, MulticastNeedsAGroupAndAMatchingBind) {
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: lidar\n"
                         "    transport: udp\n"
                         "    bind: 127.0.0.1:2368\n"
                         "    multicast: {group: 239.1.1.1}\n"),
            "test.yaml:4: sources[0].bind: a multicast source must bind 0.0.0.0:2368 or the "
            "group 239.1.1.1:2368; bound to 127.0.0.1 it would never see the group's datagrams");
  EXPECT_EQ(single_error("sources:\n"
                         "  - name: lidar\n"
                         "    transport: udp\n"
                         "    bind: 0.0.0.0:2368\n"
                         "    multicast: {group: 10.1.1.1}\n"),
            "test.yaml:5: sources[0].multicast.group: '10.1.1.1' is not a multicast address "
            "(224.0.0.0/4 or ff00::/8)");
  // Two multicast sources may share a port when they join different groups.
  load_ok(
      "sources:\n"
      "  - {name: a, transport: udp, bind: '0.0.0.0:2368', multicast: {group: 239.0.0.1}}\n"
      "  - {name: b, transport: udp, bind: '0.0.0.0:2368', multicast: {group: 239.0.0.2}}\n");
}

TEST(ConfigErrors, AllowedSendersAreCheckedItemByItem) {
  const std::vector<std::string> errors = error_lines(std::string(kOneSource) +
                                                      "    allowed_senders:\n"
                                                      "      - 10.0.0.0/8\n"
                                                      "      - 10.1.2.3/8\n"
                                                      "      - everyone\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0],
            "test.yaml:7: sources[0].allowed_senders[1]: '10.1.2.3/8' has bits set "
            "below its /8 prefix; did you mean 10.0.0.0/8?");
  EXPECT_EQ(errors[1],
            "test.yaml:8: sources[0].allowed_senders[2]: 'everyone' is not an "
            "address range: write an IPv4 or IPv6 address with an optional /prefix, "
            "such as 10.0.0.0/8");
}

TEST(ConfigErrors, SchemaAndEncodingsMustAgree) {
  const std::string raw_source =
      "sources:\n"
      "  - name: imu\n"
      "    transport: tcp\n"
      "    bind: 127.0.0.1:9000\n"
      "    format: length_prefixed\n"
      "    topic: /imu\n";
  EXPECT_EQ(single_error(raw_source + "    message_encoding: protobuf\n"),
            "test.yaml:7: sources[0].message_encoding: 'protobuf' messages need a schema: add "
            "schema: {name, encoding, data}");
  EXPECT_EQ(single_error(raw_source + "    message_encoding: cdr\n"
                                      "    schema: {name: Imu, encoding: protobuf, data: x}\n"),
            "test.yaml:8: sources[0].schema.encoding: 'protobuf' schemas do not describe 'cdr' "
            "messages; use ros2msg or ros2idl or omgidl");
  EXPECT_EQ(single_error("mcap: {profile: ros2}\n" + raw_source +
                         "    message_encoding: cdr\n"
                         "    schema: {name: std_msgs/msg/String, encoding: ros2msg, data: x}\n"),
            "test.yaml:3: sources[0].metadata: mcap.profile ros2 requires channel metadata "
            "offered_qos_profiles (a YAML list of QoS policies; may be \"\")");
}

TEST(ConfigErrors, SchemaDataCanComeFromAFileNextToTheConfig) {
  test_support::ScratchDir dir;
  write_file(dir / "imu.bin", std::string("\x0a\x03imu\x00", 6));
  const fs::path config_path = dir / "mcaprecd.yaml";
  write_file(config_path,
             "sources:\n"
             "  - name: imu\n"
             "    transport: tcp\n"
             "    bind: 127.0.0.1:9000\n"
             "    format: length_prefixed\n"
             "    topic: /imu\n"
             "    message_encoding: protobuf\n"
             "    schema: {name: demo.Imu, encoding: protobuf, data_file: imu.bin}\n");
  Result<Config> result = load_config_file(config_path.string());
  ASSERT_TRUE(result.ok()) << result.error_text();
  EXPECT_EQ(result->sources[0].schema->data, std::string("\x0a\x03imu\x00", 6));
  // The printed form names the file rather than the bytes, and reads back the same.
  const std::string printed = to_yaml(*result);
  EXPECT_NE(printed.find("data_file: imu.bin"), std::string::npos) << printed;
  write_file(config_path, printed);
  Result<Config> again = load_config_file(config_path.string());
  ASSERT_TRUE(again.ok()) << again.error_text();
  EXPECT_EQ(*again, *result);

  fs::remove(dir / "imu.bin");
  Result<Config> missing = load_config_file(config_path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error_text().find("sources[0].schema.data_file: cannot read"),
            std::string::npos)
      << missing.error_text();
}

TEST(ConfigErrors, DuplicateKeysAreReported) {
  EXPECT_EQ(single_error(std::string("output:\n  prefix: a\n  prefix: b\n") + kOneSource),
            "test.yaml:3: output.prefix: written twice (first on line 2)");
}

TEST(ConfigErrors, YamlSyntaxErrorsCarryTheirLine) {
  const std::string error = single_error("output:\n  prefix: [a, b\nsources: []\n");
  EXPECT_EQ(error.rfind("test.yaml:3: not valid YAML: ", 0), 0u) << error;
  EXPECT_EQ(single_error(std::string(kOneSource) + "---\nsources: []\n"),
            "test.yaml:5: only one YAML document is allowed; '---' starts a second one");
  // yaml-cpp alone would loop forever on the first and read the second as an empty file.
  EXPECT_EQ(single_error(", sources: []\n"),
            "test.yaml:1: not valid YAML: unexpected character where a value should start (a "
            "stray ',' or similar)");
  EXPECT_EQ(single_error("- a\n, b\n"),
            "test.yaml:2: not valid YAML: unexpected character where a value should start (a "
            "stray ',' or similar)");
}

TEST(ConfigErrors, EveryProblemIsReportedInLineOrder) {
  const std::vector<std::string> errors = error_lines(
      "output:\n"
      "  max_bytes: 2GB\n"
      "mcap:\n"
      "  compression: gzip\n"
      "  chunk_age: 1s\n"
      "sources:\n"
      "  - name: a\n"
      "    transport: tcp\n"
      "    bind: 127.0.0.1:1\n"
      "    idle_timeout: forever\n");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].rfind("test.yaml:2: output.max_bytes: ", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1].rfind("test.yaml:4: mcap.compression: ", 0), 0u) << errors[1];
  EXPECT_EQ(errors[2].rfind("test.yaml:5: mcap.chunk_age: unknown key, did you mean "
                            "'chunk_max_age'?",
                            0),
            0u)
      << errors[2];
  EXPECT_EQ(errors[3].rfind("test.yaml:10: sources[0].idle_timeout: ", 0), 0u) << errors[3];
}

TEST(ConfigErrors, UnreadableFileNamesThePath) {
  Result<Config> result = load_config_file("/nonexistent/mcaprecd.yaml");
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_EQ(result.errors()[0].to_string().rfind("/nonexistent/mcaprecd.yaml: cannot read", 0), 0u)
      << result.error_text();
}

// --- the output directory is the daemon's business, never the loader's ---

TEST(ConfigOutputDirectory, LoadingNeverCreatesOrTouchesIt) {
  test_support::ScratchDir dir;
  const fs::path output = dir / "recordings" / "nested";
  const std::string output_key = "output:\n  directory: " + output.string() + "\n";
  load_ok(output_key + kOneSource);
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(dir / "recordings"));
  EXPECT_FALSE(load_config_string(output_key + "sources: 3\n", "bad.yaml").ok());
  EXPECT_FALSE(fs::exists(dir / "recordings"));

  // An existing directory is left exactly as it was, even when the file is invalid.
  fs::create_directories(output);
  write_file(output / "old.mcap", "x");
  const auto before = fs::last_write_time(output);
  EXPECT_FALSE(load_config_string(output_key + "sources: 3\n", "bad.yaml").ok());
  load_ok(output_key + kOneSource);
  EXPECT_EQ(fs::last_write_time(output), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(output), fs::directory_iterator()), 1);
}

TEST(ConfigOutputDirectory, APathThatIsAFileIsRefused) {
  test_support::ScratchDir dir;
  write_file(dir / "taken", "x");
  EXPECT_EQ(single_error("output:\n  directory: " + (dir / "taken").string() + "\n" + kOneSource),
            "test.yaml:2: output.directory: '" + (dir / "taken").string() +
                "' exists and is not a directory");
}

// --- sizes and durations ---

TEST(ConfigUnits, SizesParseWithBinaryUnits) {
  EXPECT_EQ(parse_size("4096").value, 4096u);
  EXPECT_EQ(parse_size("0").value, 0u);
  EXPECT_EQ(parse_size("12B").value, 12u);
  EXPECT_EQ(parse_size("64KiB").value, 64u * 1024);
  EXPECT_EQ(parse_size("64 MiB").value, 64u << 20);
  EXPECT_EQ(parse_size("2GiB").value, uint64_t{2} << 30);
  EXPECT_EQ(parse_size("1.5GiB").value, uint64_t{3} << 29);
  EXPECT_EQ(parse_size("3TiB").value, uint64_t{3} << 40);
  EXPECT_EQ(parse_size("16777216TiB").value, std::nullopt);
}

TEST(ConfigUnits, SizeGarbageIsRefusedWithAReason) {
  EXPECT_EQ(parse_size("64MB").error,
            "'MB' is not a size unit: sizes use binary units (1 MiB = 1048576 bytes); write "
            "64MiB");
  EXPECT_EQ(parse_size("1 KB").error,
            "'KB' is not a size unit: sizes use binary units (1 KiB = 1024 bytes); write 1KiB");
  EXPECT_EQ(parse_size("64mib").error,
            "unknown size unit 'mib' (units are case-sensitive); did you mean 'MiB'?");
  EXPECT_EQ(parse_size("-1MiB").error, "sizes cannot be negative");
  EXPECT_EQ(parse_size("").error, "expected a size, found nothing");
  EXPECT_EQ(parse_size("MiB").error, "'MiB' is not a size: it must start with a number");
  EXPECT_EQ(parse_size("0.1KiB").error, "'0.1KiB' is not a whole number of bytes");
  EXPECT_EQ(parse_size("64 bytes").error,
            "unknown size unit 'bytes' in '64 bytes'; use B, KiB, MiB, GiB or TiB");
  EXPECT_EQ(parse_size("99999999999999999999").error, "'99999999999999999999' is too large");
  EXPECT_EQ(parse_size("1.").error, "'1.' is not a size: a digit must follow '.'");
}

TEST(ConfigUnits, DurationsParseWithUnits) {
  EXPECT_EQ(parse_duration("500ms").value, milliseconds(500));
  EXPECT_EQ(parse_duration("1s").value, milliseconds(1000));
  EXPECT_EQ(parse_duration("1.5s").value, milliseconds(1500));
  EXPECT_EQ(parse_duration("10min").value, milliseconds(600'000));
  EXPECT_EQ(parse_duration("2 h").value, milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("0").value, milliseconds(0));
}

TEST(ConfigUnits, DurationGarbageIsRefusedWithAReason) {
  EXPECT_EQ(parse_duration("0.5ms").error, "'0.5ms' is not a whole number of milliseconds");
  EXPECT_EQ(parse_duration("10 seconds").error, "'seconds' is not a duration unit; write s");
  EXPECT_EQ(parse_duration("100us").error,
            "'us' is below the millisecond resolution of durations; write ms");
  EXPECT_EQ(parse_duration("5 fortnights").error,
            "unknown duration unit 'fortnights' in '5 fortnights'; use ms, s, min or h");
  EXPECT_EQ(parse_duration("-1s").error, "durations cannot be negative");
}

TEST(ConfigUnits, FormatPicksTheLargestExactUnit) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1536), "1536B");
  EXPECT_EQ(format_size(uint64_t{2} << 30), "2GiB");
  EXPECT_EQ(format_size(3 * kMiB), "3MiB");
  EXPECT_EQ(format_duration(milliseconds(600'000)), "10min");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(7'200'000)), "2h");
  for (uint64_t bytes : {uint64_t{1}, uint64_t{1023}, kGiB + 1, ~uint64_t{0}}) {
    EXPECT_EQ(parse_size(format_size(bytes)).value, bytes);
  }
}

TEST(ConfigSuggest, ClosestMatchFindsTyposOnly) {
  const std::vector<std::string_view> keys = {"max_bytes", "max_duration", "max_total_bytes",
                                              "directory"};
  EXPECT_EQ(closest_match("max_byte", keys), "max_bytes");
  EXPECT_EQ(closest_match("max_bytse", keys), "max_bytes");
  EXPECT_EQ(closest_match("Directory", keys), "directory");
  EXPECT_EQ(closest_match("colour", keys), std::nullopt);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
}

// --- the printed effective configuration ---

TEST(ConfigToYaml, PrintsEveryKeyWithItsEffectiveValue) {
  const Config config = load_ok(kOneSource);
  const std::string printed = to_yaml(config);
  for (const char* expected : {"directory: ./recordings",  "max_bytes: 2GiB",
                               "max_duration: 10min",      "sync_interval: 1s",
                               "max_total_bytes: 0",       "min_free_bytes: 1GiB",
                               "compression: zstd",        "compression_level: 1",
                               "chunk_size: 1MiB",         "chunk_max_age: 500ms",
                               "compressor_threads: 0",    "memory_budget: 512MiB",
                               "queue_bytes: 16MiB",       "shutdown_timeout: 10s",
                               "bind: \"127.0.0.1:9410\"", "timestamp: sender",
                               "max_message_size: 16MiB",  "max_connections: 64",
                               "idle_timeout: 0",          "level: info"}) {
    EXPECT_NE(printed.find(expected), std::string::npos) << expected << " in:\n" << printed;
  }
}

TEST(ConfigToYaml, AwkwardValuesRoundTrip) {
  Config config;
  config.output.directory = "/data/with space/and: colon";
  config.output.prefix = "null";
  config.output.min_free_bytes = 0;
  config.mcap.profile = "~";
  config.mcap.compression = Compression::kLz4;
  config.mcap.compression_level = 0;
  config.output.max_bytes = 1536 * kKiB + 7;
  config.pipeline.memory_budget = 3 * kGiB / 2;
  Source source;
  source.name = "frames";
  source.transport = Transport::kTcp;
  source.bind = {"::1", 9000};
  source.format = SourceFormat::kLengthPrefixed;
  source.topic = "/frames: \"quoted\"";
  source.message_encoding = "json";
  source.timestamp = TimestampSource::kReceive;
  source.max_message_size = 1 * kMiB;
  source.schema = SourceSchema{"Frame", "jsonschema", "{\n  \"type\": \"object\"\n}\n", ""};
  source.metadata = {{"note", "two\nlines"}, {"trailing", "space "}, {"tab", "a\tb"}};
  source.allowed_senders = {parse_cidr("10.0.0.0/8").value.value(),
                            parse_cidr("fd00::/8").value.value()};
  config.sources.push_back(source);
  Source multicast;
  multicast.name = "lidar";
  multicast.transport = Transport::kUdp;
  multicast.bind = {"0.0.0.0", 2368};
  multicast.multicast = Multicast{"239.0.0.1", "eth0"};
  multicast.receive_buffer = 8 * kMiB;
  multicast.receive_batch = 64;
  multicast.max_message_size = 1200;
  config.sources.push_back(multicast);
  config.channels.push_back({"/frames: \"quoted\"", "frames", 4 * kMiB, Overflow::kDropOldest});
  config.channels.push_back(
      {"/other", "default", 16 * kMiB, std::nullopt, Record::kAlways, false, 2'500});
  Source selective;
  selective.name = "selective";
  selective.bind = {"127.0.0.1", 9411};
  selective.max_message_size = 16 * kMiB;
  ASSERT_FALSE(selective.topics.add("^/perception/").has_value());
  ASSERT_FALSE(selective.exclude_topics.add("debug$").has_value());
  config.sources.push_back(selective);
  config.metrics.bind = Endpoint{"localhost", 0};
  config.logging.level = LogLevel::kWarn;
  config.session.device_id = "007";
  config.session.device_name = "Test Car: 7";
  config.session.metadata = {{"test case", "brake #3"}, {"route", "null"}, {"note", "a\nb"}};

  const std::string printed = to_yaml(config);
  Result<Config> loaded = load_config_string(printed, "printed.yaml");
  ASSERT_TRUE(loaded.ok()) << printed << loaded.error_text();
  EXPECT_EQ(*loaded, config) << printed;
}

TEST(ConfigTest, ControlAndRecordingStart) {
  const Config defaults = load_ok(kOneSource);
  EXPECT_EQ(defaults.control.socket, "/run/mcaprec/control.sock");
  EXPECT_FALSE(defaults.control.bind);
  EXPECT_EQ(defaults.recording.start, RecordingStart::kRecording);
  const Config set =
      load_ok(std::string(kOneSource) + "recording:\n  start: paused\ncontrol:\n  socket: \"\"\n");
  EXPECT_EQ(set.recording.start, RecordingStart::kPaused);
  EXPECT_EQ(set.control.socket, "");

  EXPECT_NE(single_error(std::string(kOneSource) + "recording:\n  start: later\n")
                .find("recording.start: 'later' is not one of recording or paused"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "control:\n  bind: 127.0.0.1:9465\n")
                .find("control.bind needs control.token_file"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) +
                         "control:\n  bind: 0.0.0.0:9465\n  token_file: /etc/hostname\n")
                .find("control.bind: 0.0.0.0:9465 is not a loopback address"),
            std::string::npos);
  EXPECT_NE(
      single_error(std::string(kOneSource) + "control:\n  socket: /" + std::string(120, 'a') + "\n")
          .find("a Unix socket path may have at most 107"),
      std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "control:\n  socket: /etc/hostname\n")
                .find("exists and is not a socket"),
            std::string::npos);
}

}  // namespace
}  // namespace mcaprec::config

// --- event recording ---

namespace mcaprec::config {
namespace {

TEST(ConfigEvents, AbsentMeansOffAndDefaultsAreTheDocumentedOnes) {
  EXPECT_FALSE(load_ok(kOneSource).events.has_value());
  const Config config =
      load_ok(std::string(kOneSource) + "events:\n  triggers:\n    - {topic: /stop, name: stop}\n");
  ASSERT_TRUE(config.events.has_value());
  const Events& events = *config.events;
  EXPECT_EQ(events.look_back, std::chrono::seconds(30));
  EXPECT_EQ(events.memory_bytes, 256 * kMiB);
  EXPECT_EQ(events.spool_bytes, 8 * kGiB);
  EXPECT_EQ(events.max_total_bytes, 0u);
  EXPECT_EQ(events.signal_event, "manual");
  ASSERT_EQ(events.triggers.size(), 1u);
  EXPECT_EQ(events.triggers[0].before, std::chrono::seconds(30));  // events.before
  EXPECT_EQ(events.triggers[0].after, std::chrono::seconds(10));   // events.after
  EXPECT_EQ(events.triggers[0].min_interval, milliseconds(0));
}

TEST(ConfigEvents, OnEventChannelsNeedAnEventsSection) {
  EXPECT_EQ(
      single_error(std::string(kOneSource) + "channels:\n  - {topic: /camera, record: on_event}\n"),
      "test.yaml:6: channels[0].record: on_event needs an `events:` section (the "
      "look-back ring that keeps it)");
  const Config config = load_ok(std::string(kOneSource) +
                                "events: {}\nchannels:\n  - {topic: /camera, record: on_event}\n");
  EXPECT_EQ(config.channels[0].record, Record::kOnEvent);
}

TEST(ConfigEvents, MistakesNameTheKeyAndTheFix) {
  EXPECT_EQ(
      single_error(std::string(kOneSource) + "events:\n  look_back: 10s\n  triggers:\n"
                                             "    - {topic: /stop, name: stop, before: 20s}\n"),
      "test.yaml:8: events.triggers[0].before: before (20s) is longer than "
      "events.look_back (10s): the ring would not hold it; raise look_back or shorten "
      "before");
  EXPECT_EQ(single_error(std::string(kOneSource) +
                         "events:\n  triggers:\n    - {topic: /stop, name: 'a b'}\n"),
            "test.yaml:7: events.triggers[0].name: 'a b' cannot be an event name: use letters, "
            "digits, '_', '-' or '.'");
  EXPECT_EQ(error_lines(std::string(kOneSource) + "events:\n  triggers:\n    - {name: x}\n").size(),
            1u);
  EXPECT_EQ(single_error(std::string(kOneSource) + "events:\n  memory_bytes: 1KiB\n"),
            "test.yaml:6: events.memory_bytes: events.memory_bytes (1KiB) must hold at least "
            "one chunk (mcap.chunk_size 1MiB)");
}

// --- topic selection and rate limits ---

TEST(ConfigSelection, TopicPatternsAndMaxRateLoad) {
  const Config config = load_ok(std::string(kOneSource) +
                                "    topics: ['^/perception/', '^/vehicle/']\n"
                                "    exclude_topics: ['/debug/']\n"
                                "channels:\n"
                                "  - {topic: /imu, max_rate: 100Hz}\n"
                                "  - {topic: /map, max_rate: 0.5Hz}\n");
  const Source& source = config.sources.at(0);
  EXPECT_TRUE(topic_selected(source, "/perception/objects"));
  EXPECT_TRUE(topic_selected(source, "/vehicle/speed"));
  EXPECT_FALSE(topic_selected(source, "/perception/debug/raw"));
  EXPECT_FALSE(topic_selected(source, "/camera/front"));
  EXPECT_EQ(config.channels.at(0).max_rate_millihertz, 100'000u);
  EXPECT_EQ(config.channels.at(1).max_rate_millihertz, 500u);
  EXPECT_TRUE(topic_selected(load_ok(kOneSource).sources.at(0), "/anything"));
}

TEST(ConfigSelection, ABadRegexNamesItsSourceAndPattern) {
  EXPECT_EQ(
      single_error(std::string(kOneSource) + "    exclude_topics: ['^/ok', '(/unclosed']\n"),
      "test.yaml:5: sources[0].exclude_topics[1]: source 'producers': '(/unclosed' is not "
      "a valid regular expression (" +
          [] {
            try {
              std::regex bad("(/unclosed");
            } catch (const std::regex_error& error) {
              return std::string(error.what());
            }
            return std::string();
          }() +
          ")");
}

TEST(ConfigSelection, TopicSelectionIsForMcapSourcesOnly) {
  EXPECT_EQ(single_error("sources:\n"
                         "  - {name: raw, transport: udp, bind: '127.0.0.1:9000', format: raw,\n"
                         "     topic: /t, topics: ['^/t']}\n"),
            "test.yaml:3: sources[0].topics: only for mcap sources (a raw source has one topic)");
}

TEST(ConfigSelection, MaxRateNeedsAUnitAndAPositiveValue) {
  EXPECT_EQ(single_error(std::string(kOneSource) + "channels:\n  - {topic: /imu, max_rate: 10}\n"),
            "test.yaml:6: channels[0].max_rate: '10' needs the unit Hz or kHz (for example 10Hz)");
  EXPECT_EQ(single_error(std::string(kOneSource) + "channels:\n  - {topic: /imu, max_rate: 0Hz}\n"),
            "test.yaml:6: channels[0].max_rate: '0Hz' is not a rate above 0 with at most 3 "
            "decimals in Hz");
  EXPECT_EQ(format_rate_millihertz(2'500), "2.5Hz");
  EXPECT_EQ(format_rate_millihertz(1'000'000), "1000Hz");
}

// --- session metadata ---

TEST(ConfigSession, DeviceAndFreeMetadataLoad) {
  const Config config = load_ok(std::string(kOneSource) +
                                "session:\n"
                                "  device_id: car-7\n"
                                "  device_name: Test Car 7\n"
                                "  metadata: {driver: ann, route: A9, test case: 12, night:}\n");
  EXPECT_EQ(config.session.device_id, "car-7");
  EXPECT_EQ(config.session.device_name, "Test Car 7");
  EXPECT_EQ(config.session.metadata,
            (std::map<std::string, std::string>{
                {"driver", "ann"}, {"route", "A9"}, {"test case", "12"}, {"night", ""}}));
  const Config none = load_ok(kOneSource);
  EXPECT_TRUE(none.session.empty());
  EXPECT_NE(to_yaml(none).find("session:\n  device_id: \"\"\n  device_name: \"\"\n  metadata: {}"),
            std::string::npos)
      << to_yaml(none);
}

TEST(ConfigSession, MistakesNameTheKey) {
  EXPECT_EQ(single_error(std::string(kOneSource) + "session:\n  device: car-7\n"),
            "test.yaml:6: session.device: unknown key, did you mean 'device_id'?");
  EXPECT_EQ(single_error(std::string(kOneSource) + "session:\n  device_id: [a, b]\n"),
            "test.yaml:6: session.device_id: expected a text value, found a list");
  EXPECT_EQ(single_error(std::string(kOneSource) +
                         "session:\n  metadata:\n    driver: ann\n    device_id: car-7\n"),
            "test.yaml:8: session.metadata.device_id: is a key of its own: write "
            "session.device_id");
  EXPECT_EQ(single_error(std::string(kOneSource) + "session:\n  metadata:\n    crew: [a, b]\n"),
            "test.yaml:7: session.metadata: metadata names and values must be text");
  EXPECT_EQ(single_error(std::string(kOneSource) + "session:\n  metadata:\n    '': x\n"),
            "test.yaml:7: session.metadata.: a metadata key must not be empty");
  EXPECT_EQ(single_error(std::string(kOneSource) + "session:\n  metadata: [driver]\n"),
            "test.yaml:6: session.metadata: expected a mapping of names to text, found a list");
}

}  // namespace
}  // namespace mcaprec::config

namespace mcaprec::config {
namespace {

TEST(ConfigLatch, LatchIsABooleanOffByDefaultAndPrinted) {
  const Config config = load_ok(std::string(kOneSource) +
                                "channels:\n  - {topic: /tf_static, latch: true}\n"
                                "  - {topic: /imu}\n");
  EXPECT_TRUE(config.channels[0].latch);
  EXPECT_FALSE(config.channels[1].latch);
  EXPECT_FALSE(channel_settings_for(config, "/other").latch);
  EXPECT_NE(to_yaml(config).find("latch: true"), std::string::npos);
  EXPECT_EQ(load_ok(to_yaml(config)), config);
}

TEST(ConfigLatch, MistakesNameTheKey) {
  const std::string not_boolean =
      single_error(std::string(kOneSource) + "channels:\n  - {topic: /tf_static, latch: yes}\n");
  EXPECT_EQ(not_boolean.rfind("test.yaml:6: channels[0].latch: ", 0), 0u) << not_boolean;
  EXPECT_EQ(
      single_error(std::string(kOneSource) +
                   "channels:\n  - {topic: /tf_static, latch: true, overflow: drop_oldest}\n"),
      "test.yaml:6: channels[0].overflow: a latched channel cannot use drop_oldest; use "
      "drop_newest or block");
  EXPECT_EQ(
      single_error(std::string(kOneSource) +
                   "events: {}\nchannels:\n  - {topic: /tf, latch: true, record: on_event}\n"),
      "test.yaml:7: channels[0].record: a latched channel is recorded always (latch "
      "repeats it in the continuous files)");
}

}  // namespace
}  // namespace mcaprec::config

// --- fleet upload ---

namespace mcaprec::config {
namespace {

constexpr const char* kUploadKeys =
    "upload:\n  endpoint: http://127.0.0.1:7480\n  bucket: recordings\n"
    "  credentials_file: /etc/mcaprec/s3-credentials\n";

TEST(ConfigUpload, AbsentMeansOffAndDefaultsAreTheDocumentedOnes) {
  EXPECT_FALSE(load_ok(kOneSource).upload.has_value());
  const Config config = load_ok(std::string(kOneSource) + kUploadKeys);
  ASSERT_TRUE(config.upload.has_value());
  const Upload& upload = *config.upload;
  EXPECT_EQ(upload.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(upload.region, "us-east-1");
  EXPECT_EQ(upload.bucket, "recordings");
  EXPECT_EQ(upload.key_template, "{device_id}/{date}/{file}");
  EXPECT_EQ(upload.credentials_file, "/etc/mcaprec/s3-credentials");
  EXPECT_EQ(upload.ca_file, "");
  EXPECT_EQ(upload.part_size, 16 * kMiB);
  EXPECT_EQ(upload.max_bandwidth, 0u);
  EXPECT_FALSE(upload.delete_after_upload);
}

TEST(ConfigUpload, FleetExampleLoads) {
  Result<Config> result =
      load_config_file((kConfigDir / "examples" / "fleet-upload.yaml").string());
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(result.value().upload.has_value());
  EXPECT_EQ(result.value().upload->part_size, 32 * kMiB);
  EXPECT_EQ(result.value().upload->region, "eu-central-1");
}

TEST(ConfigUpload, RequiredKeysAreNamed) {
  const std::vector<std::string> errors =
      error_lines(std::string(kOneSource) + "upload: {region: x}\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("upload.endpoint: missing"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("upload.bucket: missing"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("upload.credentials_file: missing"), std::string::npos) << errors[2];
}

TEST(ConfigUpload, MistakesNameTheKeyAndTheFix) {
  const std::string base = std::string(kOneSource) + kUploadKeys;
  EXPECT_NE(single_error(base + "  part_size: 1MiB\n")
                .find("upload.part_size: must be between 5MiB and 5GiB"),
            std::string::npos);
  EXPECT_NE(single_error(base + "  key_template: \"{device_id}/x\"\n")
                .find("upload.key_template: must contain {file}"),
            std::string::npos);
  EXPECT_NE(single_error(base + "  key_template: \"{vehicle}/{file}\"\n")
                .find("upload.key_template: '{vehicle}' is not a placeholder"),
            std::string::npos);
  EXPECT_NE(single_error(base + "  ca_file: /nonexistent/ca.pem\n").find("upload.ca_file:"),
            std::string::npos);
  EXPECT_NE(
      single_error(base + "  delete_after_upload: maybe\n").find("upload.delete_after_upload"),
      std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) +
                         "upload:\n  endpoint: s3.example\n  bucket: b\n  credentials_file: c\n")
                .find("upload.endpoint: 's3.example' must start with https://"),
            std::string::npos);
  EXPECT_NE(single_error(base + "  bukcet: x\n").find("upload.bukcet"), std::string::npos);
  EXPECT_NE(single_error(base + "  max_bandwidth: 1000\n")
                .find("upload.max_bandwidth: must be 0 (no limit) or at least 8KiB"),
            std::string::npos);
}

}  // namespace
}  // namespace mcaprec::config

namespace mcaprec::config {
namespace {

// --- on_finalize ---

TEST(ConfigOnFinalize, DefaultsToNoCommandAndOneMinute) {
  const Config config = load_ok(kOneSource);
  EXPECT_TRUE(config.on_finalize.empty());
  EXPECT_EQ(config.on_finalize_timeout, std::chrono::seconds(60));
}

TEST(ConfigOnFinalize, ReadsTheWordsAndTheTimeout) {
  const Config config = load_ok(std::string(kOneSource) +
                                "on_finalize: [/bin/sh, -c, 'cp \"$1\" /backup/', sh]\n"
                                "on_finalize_timeout: 5s\n");
  EXPECT_EQ(config.on_finalize,
            (std::vector<std::string>{"/bin/sh", "-c", "cp \"$1\" /backup/", "sh"}));
  EXPECT_EQ(config.on_finalize_timeout, std::chrono::seconds(5));
  // Printed so that it loads back the same.
  EXPECT_EQ(load_ok(to_yaml(config)), config);
  // A bare name is looked up in $PATH, like the shell does.
  EXPECT_EQ(load_ok(std::string(kOneSource) + "on_finalize: [true]\n").on_finalize,
            (std::vector<std::string>{"true"}));
}

TEST(ConfigOnFinalize, MistakesNameTheKey) {
  EXPECT_NE(single_error(std::string(kOneSource) + "on_finalize: /usr/local/bin/ship\n")
                .find("on_finalize: expected a list of words, the program first"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "on_finalize: [/bin/sh, {a: b}]\n")
                .find("on_finalize[1]: expected a word"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "on_finalize: [/nonexistent/ship]\n")
                .find("on_finalize[0]: '/nonexistent/ship' is not an executable file"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "on_finalize: [no-such-program-mcaprec]\n")
                .find("is not an executable file in $PATH"),
            std::string::npos);
  EXPECT_NE(single_error(std::string(kOneSource) + "on_finalize_timeout: 0s\n")
                .find("on_finalize_timeout: must be more than 0"),
            std::string::npos);
}

}  // namespace
}  // namespace mcaprec::config
