#pragma once
// Helpers for the pipeline tests: a scratch directory, a sink the test can stall, a pipeline
// running over it, and a reader that checks one finished file completely and returns what it
// holds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "failing_sink.hpp"
#include "mcap/reader.hpp"
#include "mcap/records.hpp"
#include "mcap/sink.hpp"
#include "mcap/verify.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "scratch_dir.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::pipeline::testing {

namespace fs = std::filesystem;

// The pipeline tests record into the shared scratch directory.
using test_support::ScratchDir;

// A gate the test opens and closes; sinks made by gated_sink_factory() wait in write() while
// it is closed, which stalls the ordered writer like a slow disk would.
class WriteGate {
 public:
  void close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
};

class GatedSink : public mcap::ByteSink {
 public:
  GatedSink(std::unique_ptr<mcap::ByteSink> inner, WriteGate& gate)
      : inner_(std::move(inner)), gate_(gate) {}
  mcap::Status write(mcap::ByteView data) override {
    gate_.pass();
    return inner_->write(data);
  }
  mcap::Status flush() override { return inner_->flush(); }
  mcap::Status sync() override { return inner_->sync(); }

 private:
  std::unique_ptr<mcap::ByteSink> inner_;
  WriteGate& gate_;
};

inline storage::SinkFactory gated_sink_factory(WriteGate& gate) {
  return [&gate](const std::string& path) -> mcap::Result<std::unique_ptr<mcap::ByteSink>> {
    auto inner = storage::file_sink_factory()(path);
    if (!inner) return inner.error();
    return std::unique_ptr<mcap::ByteSink>(new GatedSink(std::move(*inner), gate));
  };
}

// Opens files as the recorder does, the first one through a FailingSink with `faults` (which
// must outlive the pipeline); the ones after it are healthy.
inline storage::SinkFactory first_file_failing(test_support::DiskFaults& faults) {
  auto opened = std::make_shared<std::atomic<int>>(0);
  return
      [&faults, opened](const std::string& path) -> mcap::Result<std::unique_ptr<mcap::ByteSink>> {
        auto inner = storage::file_sink_factory()(path);
        if (!inner) return inner.error();
        if ((*opened)++ > 0) return std::move(*inner);
        return std::unique_ptr<mcap::ByteSink>(
            new test_support::FailingSink(std::move(*inner), faults));
      };
}

// A pipeline writing into a scratch directory through a disk the test can stall (gate.close())
// to fill queues and chunks in flight. The disk opens again when the run ends, so that a failed
// assertion leaving the test early does not keep the pipeline's destructor waiting forever for
// the stalled writer.
struct GatedRun {
  ScratchDir dir;
  WriteGate gate;
  std::unique_ptr<Pipeline> pipeline;  // null when it did not start (the failure is recorded)

  // Starts with `options`, but for the directory and the sink, which are the run's.
  explicit GatedRun(PipelineOptions options) {
    options.directory = dir.path();
    options.open_sink = gated_sink_factory(gate);
    auto started = Pipeline::start(options);
    EXPECT_TRUE(started.ok()) << started.error().to_string();
    if (started.ok()) pipeline = std::move(*started);
  }
  ~GatedRun() { gate.open(); }
};

struct ReadMessage {
  uint16_t channel_id = 0;
  uint32_t sequence = 0;
  mcap::Timestamp log_time = 0;
  mcap::Timestamp publish_time = 0;
  mcap::Bytes data;
  uint64_t chunk_offset = 0;  // file offset of the chunk it came from
};

// Everything a finished file holds, read with every check on.
struct FileContents {
  std::string error;  // empty when the file is complete and valid
  std::vector<ReadMessage> messages;
  std::map<uint16_t, mcap::Channel> channels;
  std::map<uint16_t, mcap::Schema> schemas;
  std::vector<mcap::Metadata> metadata;
  mcap::Summary summary;

  const mcap::Metadata* find_metadata(const std::string& name) const {
    for (const mcap::Metadata& m : metadata) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }
};

inline FileContents read_file(const std::string& path) {
  FileContents out;
  mcap::Result<mcap::MappedFile> mapped = mcap::MappedFile::open(path);
  if (!mapped) {
    out.error = mapped.error().to_string();
    return out;
  }
  const mcap::ByteView bytes = mapped->bytes();
  const mcap::VerifyReport report = mcap::verify_file(bytes);
  if (!report.ok()) {
    out.error = "verify: " +
                (report.findings.empty() ? std::string("?") : report.findings.front().to_string());
    return out;
  }
  mcap::Result<mcap::Summary> summary = mcap::read_summary(bytes);
  if (!summary) {
    out.error = "summary: " + summary.error().to_string();
    return out;
  }
  out.summary = *summary;
  mcap::StreamReader reader(bytes);
  for (;;) {
    auto item = reader.next();
    if (!item) {
      out.error = "stream: " + item.error().to_string();
      return out;
    }
    if (!item->has_value()) break;
    const mcap::Record& record = (*item)->record;
    if (const auto* schema = std::get_if<mcap::Schema>(&record)) {
      out.schemas[schema->id] = *schema;
    } else if (const auto* channel = std::get_if<mcap::Channel>(&record)) {
      if (channel->schema_id != 0 && out.schemas.count(channel->schema_id) == 0) {
        out.error = "channel " + std::to_string(channel->id) + " before its schema";
        return out;
      }
      out.channels[channel->id] = *channel;
    } else if (const auto* message = std::get_if<mcap::Message>(&record)) {
      if (out.channels.count(message->channel_id) == 0) {
        out.error = "message on channel " + std::to_string(message->channel_id) +
                    " before the channel's record";
        return out;
      }
      out.messages.push_back(ReadMessage{
          message->channel_id, message->sequence, message->log_time, message->publish_time,
          mcap::Bytes(message->data.begin(), message->data.end()), (*item)->offset});
    } else if (const auto* metadata = std::get_if<mcap::Metadata>(&record)) {
      out.metadata.push_back(*metadata);
    }
  }
  return out;
}

// A gated run with one channel "/sensor" (`policy`, `queue_bytes`) on 4 KiB chunks and queue
// segments, one compressor and no size limit: the tests that fill a queue.
struct SensorRun : GatedRun {
  ChannelHandle channel;

  SensorRun(OverflowPolicy policy, uint64_t queue_bytes, uint64_t memory_budget,
            std::chrono::nanoseconds chunk_max_age)
      : GatedRun(sensor_options(memory_budget, chunk_max_age)) {
    ChannelSpec spec;
    spec.topic = "/sensor";
    spec.queue_bytes = queue_bytes;
    spec.overflow = policy;
    channel = *pipeline->declare_channel(spec);
  }

  ChannelStats channel_stats() const { return pipeline->stats().channels.at(0); }

  // Opens the disk again, stops, and returns the one file's contents.
  FileContents finish() {
    gate.open();
    const mcap::Status stopped = pipeline->stop();
    EXPECT_TRUE(stopped.ok()) << stopped.error().to_string();
    const std::vector<std::string> files = dir.files(".mcap");
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? FileContents{} : read_file(files[0]);
  }

 private:
  static PipelineOptions sensor_options(uint64_t memory_budget,
                                        std::chrono::nanoseconds chunk_max_age) {
    PipelineOptions options;
    options.chunk_size = 4096;
    options.segment_bytes = 4096;
    options.chunk_max_age = chunk_max_age;
    options.compressor_threads = 1;
    options.memory_budget = memory_budget;
    options.max_bytes = 0;
    return options;
  }
};

// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

// What a run of push_numbered_and_stop() ended with.
struct NumberedRun {
  mcap::Status stopped;  // what stop() returned
  PipelineStats stats;   // after the stop
};

// Starts a pipeline with `options`, declares the channel "/t", pushes `count` messages numbered
// from 0 (log time, publish time and sequence = the number; test_support::payload() of
// `payload_bytes`), every one of which must be accepted, and stops it. For tests whose disk
// fails on the way.
inline NumberedRun push_numbered_and_stop(const PipelineOptions& options, uint32_t count,
                                          size_t payload_bytes) {
  auto pipeline = Pipeline::start(options);
  if (!pipeline.ok()) {
    ADD_FAILURE() << "pipeline did not start: " << pipeline.error().to_string();
    return {pipeline.error(), {}};
  }
  ChannelSpec spec;
  spec.topic = "/t";
  const ChannelHandle channel = *(*pipeline)->declare_channel(spec);
  for (uint32_t i = 0; i < count; ++i) {
    if (!(*pipeline)->push(channel, i, i, i, test_support::payload(i, payload_bytes)).ok()) {
      ADD_FAILURE() << "push " << i << " was refused";
      break;
    }
  }
  NumberedRun run;
  run.stopped = (*pipeline)->stop();
  run.stats = (*pipeline)->stats();
  return run;
}

}  // namespace mcaprec::pipeline::testing
