#pragma once
// Helpers for the network listener tests: sources on 127.0.0.1 (ports chosen by the kernel), a
// UDP sender, MCAP records as bytes, and a real pipeline with an ingest server on top whose file
// is read back.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "ingest/ingest_server.hpp"
#include "mcap/records.hpp"
#include "mcap/serialize.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"
#include "tcp_client.hpp"

namespace mcaprec::ingest::testing {

// A UDP source named `name` on 127.0.0.1 with a 4 MiB receive buffer; a raw one publishes on
// "/<name>" with the receive time.
inline config::Source udp_source(const std::string& name, config::SourceFormat format) {
  config::Source source;
  source.name = name;
  source.transport = config::Transport::kUdp;
  source.bind = config::Endpoint{"127.0.0.1", 0};
  source.format = format;
  source.receive_buffer = 4 * config::kMiB;
  if (format == config::SourceFormat::kRaw) {
    source.topic = "/" + name;
    source.message_encoding = "raw";
    source.timestamp = config::TimestampSource::kReceive;
  }
  return source;
}

using test_support::loopback;

// The port a source is bound to, from its stats' "host:port".
inline uint16_t port_of(const SourceStats& stats) {
  return static_cast<uint16_t>(std::stoi(stats.bind.substr(stats.bind.rfind(':') + 1)));
}

inline mcap::Bytes record(const mcap::Record& r) {
  mcap::Bytes out;
  mcap::append_record(out, r);
  return out;
}

// Sends to 127.0.0.1:port; send_batch() hands the kernel equal datagrams in one call (GSO).
class UdpSender {
 public:
  explicit UdpSender(uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)), to_(loopback(port)) {}
  ~UdpSender() { ::close(fd_); }

  void send(const mcap::Bytes& datagram) {
    ASSERT_EQ(::sendto(fd_, datagram.data(), datagram.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to_), sizeof(to_)),
              static_cast<ssize_t>(datagram.size()));
  }

  // Every datagram but the last must have the same size; the last may be shorter.
  void send_batch(const std::vector<mcap::Bytes>& datagrams) {
    const int segment = static_cast<int>(datagrams.front().size());
    ASSERT_EQ(setsockopt(fd_, IPPROTO_UDP, UDP_SEGMENT, &segment, sizeof(segment)), 0);
    mcap::Bytes joined;
    for (const mcap::Bytes& d : datagrams) joined.insert(joined.end(), d.begin(), d.end());
    send(joined);
    const int off = 0;
    ASSERT_EQ(setsockopt(fd_, IPPROTO_UDP, UDP_SEGMENT, &off, sizeof(off)), 0);
  }

 private:
  int fd_;
  sockaddr_in to_;
};

// A configuration with just these sources and channels, read by `ingest_threads` threads.
inline config::Config ingest_config(std::vector<config::Source> sources,
                                    std::vector<config::ChannelSettings> channels,
                                    uint32_t ingest_threads) {
  config::Config config;
  config.sources = std::move(sources);
  config.channels = std::move(channels);
  config.pipeline.ingest_threads = ingest_threads;
  return config;
}

// Chunks of `chunk_size` (queue segments of `segment_bytes`; 0 = chosen from it) sealed after
// 20 ms, one compressor, no size limit.
inline pipeline::PipelineOptions small_chunk_options(uint64_t chunk_size, size_t segment_bytes) {
  pipeline::PipelineOptions options;
  options.chunk_size = chunk_size;
  options.segment_bytes = segment_bytes;
  options.chunk_max_age = std::chrono::milliseconds(20);
  options.compressor_threads = 1;
  options.max_bytes = 0;
  return options;
}

// A pipeline writing into a scratch directory, and an ingest server for `config`'s sources on
// top of it. Through the gate (Disk::kGated, or kStalled: closed once the pipeline started),
// the test can stall the disk; it opens again when the recording ends.
class IngestRecording {
 public:
  enum class Disk { kDirect, kGated, kStalled };

  IngestRecording(config::Config config, pipeline::PipelineOptions options,
                  const IngestOptions& ingest, Disk disk)
      : config_(std::move(config)) {
    options.directory = dir_.path();
    if (disk != Disk::kDirect) options.open_sink = pipeline::testing::gated_sink_factory(gate_);
    auto started = pipeline::Pipeline::start(options);
    EXPECT_TRUE(started.ok()) << started.error().to_string();
    pipeline_ = std::move(*started);
    if (disk == Disk::kStalled) gate_.close();
    auto server = IngestServer::start_tuned(config_, *pipeline_, ingest);
    EXPECT_TRUE(server.ok()) << server.error().to_string();
    if (server.ok()) server_ = std::move(*server);
  }
  ~IngestRecording() {
    gate_.open();
    if (server_) server_->stop();
    if (pipeline_) (void)pipeline_->stop();
  }

  IngestServer& server() { return *server_; }
  pipeline::Pipeline& pipeline() { return *pipeline_; }
  pipeline::testing::WriteGate& gate() { return gate_; }
  SourceStats source(size_t index) const { return server_->stats().at(index); }
  uint16_t port(size_t index) const { return port_of(source(index)); }
  uint64_t error_count(size_t index, const std::string& reason) const {
    const SourceStats stats = source(index);
    auto it = stats.errors.find(reason);
    return it == stats.errors.end() ? 0 : it->second;
  }

  // Stops listening and recording; returns the one file's contents.
  pipeline::testing::FileContents finish() {
    gate_.open();
    server_->stop();
    const mcap::Status stopped = pipeline_->stop();
    EXPECT_TRUE(stopped.ok()) << stopped.error().to_string();
    const std::vector<std::string> files = dir_.files(".mcap");
    EXPECT_EQ(files.size(), 1u);
    pipeline::testing::FileContents contents = files.empty()
                                                   ? pipeline::testing::FileContents{}
                                                   : pipeline::testing::read_file(files.front());
    EXPECT_EQ(contents.error, "");
    return contents;
  }

 private:
  pipeline::testing::ScratchDir dir_;
  pipeline::testing::WriteGate gate_;
  config::Config config_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<IngestServer> server_;
};

}  // namespace mcaprec::ingest::testing
