// mcaprec convert: rewrites any valid MCAP file with new chunking and compression. The input is
// read on this thread and every message goes through the recording pipeline, so chunks are
// compressed by a pool of threads while the next ones are read.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "mcap/bytes.hpp"
#include "mcap/compression.hpp"
#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"
#include "pipeline/pipeline.hpp"

namespace mcaprec::tool {
namespace {

namespace fs = std::filesystem;

constexpr const char kHelp[] =
    "Usage: mcaprec convert IN OUT [--compression zstd|lz4|none] [--level N] [--chunk-size SIZE]\n"
    "                              [--threads N]\n"
    "\n"
    "Reads IN (any valid MCAP file: chunked or not, indexed or not, any compression) and writes\n"
    "OUT with fresh chunks, message indexes and a complete summary, through the recording\n"
    "pipeline: chunks are compressed by N threads while IN is read. Messages, channels,\n"
    "schemas, attachments and metadata are kept; records of unknown type are dropped. Channel\n"
    "and schema ids are renumbered from 1 in order of first appearance (identical channels are\n"
    "merged). Each channel gets chunks of its own (the first 64 channels; later ones share\n"
    "chunks), so a topic that does not compress (camera frames) is stored raw without costing\n"
    "compression time while the others are compressed: messages are no longer interleaved\n"
    "across channels, and readers that order by log time see the same sequence. No message is\n"
    "ever dropped: if one could not be written the command fails.\n"
    "OUT is written as OUT.tmp and renamed when complete, so OUT is never a partial file.\n"
    "\n"
    "Options:\n"
    "  --compression C   chunk compression: zstd (default), lz4 or none\n"
    "  --level N         zstd level (default 1; higher is smaller and slower, up to 22)\n"
    "  --chunk-size SIZE uncompressed bytes per chunk (default 1MiB); B, KiB, MiB or GiB\n"
    "  --threads N       compressor threads (default 0: one per CPU)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when IN cannot be read or OUT cannot be written (or a\n"
    "message could not be kept), 2 on a usage error.\n";

const OptionSpec kOptions[] = {
    {"--compression", true}, {"--level", true}, {"--chunk-size", true}, {"--threads", true}};

constexpr uint64_t kMaxChunkSize = uint64_t{1} << 30;
constexpr int64_t kMaxThreads = 1024;
// Messages waiting to be sealed or compressed, when the input's largest message is not known
// beforehand. A single message must fit in half of it.
constexpr uint64_t kMemoryBudget = uint64_t{512} << 20;
// ... and the least when it is known (see fit_memory_to_input).
constexpr uint64_t kMinMemoryBudget = uint64_t{32} << 20;
// Channels that get chunks of their own; later ones share chunks. Each own group holds up to a
// chunk of unsealed messages, so their number is also bounded by the memory budget.
constexpr uint64_t kMaxOwnGroups = 64;

struct Counts {
  uint64_t messages = 0;
  uint64_t attachments = 0;
  uint64_t metadata = 0;
  uint64_t dropped_unknown = 0;
};

// Fills `options` from the command line; returns an error text for a bad value.
std::optional<std::string> pipeline_options(const ParsedArgs& parsed,
                                            pipeline::PipelineOptions& options) {
  if (auto it = parsed.options.find("--compression"); it != parsed.options.end()) {
    if (it->second == "zstd") {
      options.compression = mcap::Compression::kZstd;
    } else if (it->second == "lz4") {
      options.compression = mcap::Compression::kLz4;
    } else if (it->second == "none") {
      options.compression = mcap::Compression::kNone;
    } else {
      return "--compression must be zstd, lz4 or none, not '" + it->second + "'";
    }
  }
  if (auto it = parsed.options.find("--level"); it != parsed.options.end()) {
    auto level = parse_integer(it->second, -131072, 22);
    if (!level) return "--level must be an integer up to 22, not '" + it->second + "'";
    options.compression_level = static_cast<int>(*level);
  }
  if (auto it = parsed.options.find("--chunk-size"); it != parsed.options.end()) {
    auto size = parse_size(it->second);
    if (!size || *size == 0 || *size > kMaxChunkSize) {
      return "--chunk-size must be a size from 1B to 1GiB such as 512KiB or 4MiB, not '" +
             it->second + "'";
    }
    options.chunk_size = *size;
  }
  if (auto it = parsed.options.find("--threads"); it != parsed.options.end()) {
    auto threads = parse_integer(it->second, 0, kMaxThreads);
    if (!threads) {
      return "--threads must be an integer from 0 (one per CPU) to " + std::to_string(kMaxThreads) +
             ", not '" + it->second + "'";
    }
    options.compressor_threads = static_cast<unsigned>(*threads);
  }
  // A file, not a recording: no age-based seals (chunks are full), no rotation, no recorder
  // metadata, and a full queue slows the reader down instead of dropping.
  options.chunk_max_age = std::chrono::nanoseconds(0);
  options.recorder_metadata = false;
  options.default_overflow = pipeline::OverflowPolicy::kBlock;
  options.memory_budget = std::max(kMemoryBudget, 4 * options.chunk_size);
  options.default_queue_bytes = options.memory_budget / 2;
  return std::nullopt;
}

// An upper bound on the size of the largest Message record in `input`, found without
// decompressing anything: top-level Message records by their size, messages inside a chunk by
// the chunk's uncompressed size. nullopt when the top level cannot be walked (the conversion
// itself then reports what is wrong).
std::optional<uint64_t> largest_message_bound(mcap::ByteView input) {
  constexpr uint64_t kChunkUncompressedSizeAt = 16;  // after the start and end times
  if (input.size() < sizeof(mcap::kMagic)) return std::nullopt;
  uint64_t largest = 0;
  for (uint64_t pos = sizeof(mcap::kMagic); pos < input.size();) {
    auto frame = mcap::read_frame(input, pos);
    if (!frame) return std::nullopt;
    switch (static_cast<mcap::Opcode>(frame->opcode)) {
      case mcap::Opcode::kChunk:
        if (frame->content.size() < kChunkUncompressedSizeAt + 8) return std::nullopt;
        largest = std::max(
            largest, mcap::load_le<uint64_t>(frame->content.data() + kChunkUncompressedSizeAt));
        break;
      case mcap::Opcode::kMessage:
        largest = std::max(largest, frame->size());
        break;
      case mcap::Opcode::kDataEnd:
      case mcap::Opcode::kFooter:
        return largest;
      default:
        break;
    }
    pos += frame->size();
  }
  return largest;
}

// With the input's largest message known, the pipeline needs little memory: each channel's
// queue holds two chunks (or the largest message), the reader blocks when it is that far ahead
// of the compressors, and the same queue segments and chunk buffers are used over and over.
// A budget sized for the whole input instead lets the reader copy all of it into fresh memory
// first, paying a page fault and zeroing for every 4 KiB (about a fifth of convert's CPU time
// on a 200 MB input of camera frames, in the kernel).
void fit_memory_to_input(std::optional<uint64_t> largest_message,
                         pipeline::PipelineOptions& options) {
  if (!largest_message) return;
  options.default_queue_bytes = std::max(2 * options.chunk_size, *largest_message);
  options.memory_budget = std::max(kMinMemoryBudget, 4 * options.default_queue_bytes);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error) && !error;
}

// Makes the rename of a file in `directory` durable.
void sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The input's schemas and channels, and the pipeline channels they became.
class ChannelMap {
 public:
  explicit ChannelMap(uint64_t own_groups) : own_groups_left_(own_groups) {}

  void add_schema(const mcap::Schema& schema) {
    // Id 0 means "no schema"; readers ignore such records.
    if (schema.id != 0) schemas_.try_emplace(schema.id, schema);
  }

  base::Status add_channel(pipeline::Pipeline& pipeline, const mcap::Channel& channel) {
    if (handles_.contains(channel.id)) return {};  // repeated in chunks or the summary
    pipeline::ChannelSpec spec;
    spec.topic = channel.topic;
    spec.message_encoding = channel.message_encoding;
    spec.metadata = channel.metadata;
    // Chunks of one channel each: the pipeline decides per group whether compressing pays, so
    // incompressible topics (camera frames) are stored raw without costing the codec's time
    // while the others are still compressed, and each compresses better alone.
    if (own_groups_left_ > 0) {
      --own_groups_left_;
      spec.chunk_group = "channel " + std::to_string(channel.id);
    }
    if (channel.schema_id != 0) {
      auto schema = schemas_.find(channel.schema_id);
      if (schema == schemas_.end()) {
        return base::Error{0, "channel " + std::to_string(channel.id) + " (" + channel.topic +
                                  ") refers to schema " + std::to_string(channel.schema_id) +
                                  ", which comes nowhere before it"};
      }
      spec.schema =
          pipeline::SchemaSpec{schema->second.name, schema->second.encoding, schema->second.data};
    }
    auto handle = pipeline.declare_channel(spec);
    if (!handle) return handle.error();
    handles_.emplace(channel.id, *handle);
    return {};
  }

  const pipeline::ChannelHandle* find(uint16_t channel_id) const {
    auto it = handles_.find(channel_id);
    return it == handles_.end() ? nullptr : &it->second;
  }

 private:
  uint64_t own_groups_left_;
  std::map<uint16_t, mcap::Schema> schemas_;
  std::map<uint16_t, pipeline::ChannelHandle> handles_;
};

// Feeds every record of `input` to `pipeline`.
base::Status feed(mcap::StreamReader& reader, pipeline::Pipeline& pipeline, uint64_t own_groups,
                  Counts& counts) {
  ChannelMap channels(own_groups);
  bool data_section = true;
  while (data_section) {
    auto item = reader.next();
    if (!item) return base::Error{item.error().offset, "input: " + item.error().message};
    if (!*item) break;
    base::Status status;
    std::visit(
        [&](const auto& record) {
          using T = std::decay_t<decltype(record)>;
          if constexpr (std::is_same_v<T, mcap::Schema>) {
            channels.add_schema(record);
          } else if constexpr (std::is_same_v<T, mcap::Channel>) {
            status = channels.add_channel(pipeline, record);
          } else if constexpr (std::is_same_v<T, mcap::Message>) {
            const pipeline::ChannelHandle* channel = channels.find(record.channel_id);
            if (channel == nullptr) {
              status = base::Error{0, "message on channel " + std::to_string(record.channel_id) +
                                          ", which is not declared before it"};
              return;
            }
            const pipeline::PushResult pushed = pipeline.push(
                *channel, record.log_time, record.publish_time, record.sequence, record.data);
            if (!pushed.ok()) {
              status = base::Error{0, "message of " + std::to_string(record.data.size()) +
                                          " bytes could not be kept (" +
                                          std::string(pipeline::drop_reason_name(pushed.reason())) +
                                          ")"};
              return;
            }
            ++counts.messages;
          } else if constexpr (std::is_same_v<T, mcap::Attachment>) {
            pipeline.write_attachment(record);
            ++counts.attachments;
          } else if constexpr (std::is_same_v<T, mcap::Metadata>) {
            pipeline.write_metadata(record);
            ++counts.metadata;
          } else if constexpr (std::is_same_v<T, mcap::DataEnd> ||
                               std::is_same_v<T, mcap::Footer>) {
            data_section = false;  // the input's summary is rebuilt, not copied
          } else if constexpr (std::is_same_v<T, mcap::UnknownRecord>) {
            ++counts.dropped_unknown;
          }
          // Chunks and their indexes are rebuilt: their content arrives record by record.
        },
        (*item)->record);
    if (!status) {
      return base::Error{(*item)->offset, "record at input offset " +
                                              std::to_string((*item)->offset) + ": " +
                                              status.error().message};
    }
  }
  return {};
}

// Every message the pipeline accepted must have reached the file.
base::Status check_nothing_dropped(const pipeline::PipelineStats& stats) {
  for (const pipeline::ChannelStats& channel : stats.channels) {
    for (size_t r = 0; r < pipeline::kDropReasonCount; ++r) {
      if (channel.dropped[r] == 0) continue;
      return base::Error{0, std::to_string(channel.dropped[r]) + " messages of " + channel.topic +
                                " were dropped (" +
                                std::string(pipeline::drop_reason_name(pipeline::DropReason(r))) +
                                ")"};
    }
  }
  return {};
}

// Copies every record of `input` into a new file at `path` (written as `path`.active first).
base::Status rewrite(mcap::ByteView input, const std::string& path,
                     pipeline::PipelineOptions options, Counts& counts,
                     pipeline::PipelineStats& stats) {
  mcap::StreamReader reader(input);
  auto first = reader.next();
  if (!first) return base::Error{first.error().offset, "input: " + first.error().message};
  if (*first) {
    if (auto* header = std::get_if<mcap::Header>(&(*first)->record)) {
      options.profile = header->profile;
    }
  }
  options.output_path = path;
  const uint64_t own_groups =
      std::min(kMaxOwnGroups, options.memory_budget / (2 * options.chunk_size));
  auto started = pipeline::Pipeline::start(std::move(options));
  if (!started) return started.error();
  pipeline::Pipeline& pipeline = **started;

  base::Status status = feed(reader, pipeline, own_groups, counts);
  if (!status) pipeline.cut_drain();  // the output is discarded anyway
  base::Status stopped = pipeline.stop();
  stats = pipeline.stats();
  if (!status) return status;
  if (!stopped) return stopped;
  return check_nothing_dropped(stats);
}

void remove_outputs(const std::string& tmp_path) {
  std::error_code error;
  fs::remove(tmp_path, error);
  fs::remove(tmp_path + ".active", error);
}

int run_convert(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("convert", *error);
  if (parsed.positional.size() != 2) return usage_error("convert", "expected IN and OUT");
  pipeline::PipelineOptions options;
  if (auto error = pipeline_options(parsed, options)) return usage_error("convert", *error);
  const std::string& in_path = parsed.positional[0];
  const std::string& out_path = parsed.positional[1];
  const std::string tmp_path = out_path + ".tmp";
  if (in_path == out_path || same_file(in_path, out_path) || same_file(in_path, tmp_path) ||
      same_file(in_path, tmp_path + ".active")) {
    std::fprintf(stderr, "mcaprec convert: refusing to write over the input file %s\n",
                 in_path.c_str());
    return kExitFailure;
  }

  auto input = mcap::MappedFile::open(in_path);
  if (!input) {
    std::fprintf(stderr, "mcaprec convert: %s\n", input.error().message.c_str());
    return kExitFailure;
  }
  const auto started = std::chrono::steady_clock::now();
  fit_memory_to_input(largest_message_bound(input->bytes()), options);
  Counts counts;
  pipeline::PipelineStats stats;
  base::Status status = rewrite(input->bytes(), tmp_path, options, counts, stats);
  std::error_code error;
  if (status) {
    fs::rename(tmp_path, out_path, error);
    if (error) status = base::Error{0, "cannot rename " + tmp_path + ": " + error.message()};
  }
  if (!status) {
    remove_outputs(tmp_path);
    std::fprintf(stderr, "mcaprec convert: %s -> %s failed: %s\n", in_path.c_str(),
                 out_path.c_str(), status.error().message.c_str());
    return kExitFailure;
  }
  sync_directory(fs::path(out_path).parent_path());
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const uint64_t in_bytes = input->bytes().size();
  const uint64_t out_bytes = fs::file_size(out_path, error);
  std::printf(
      "converted %s -> %s: %llu messages, %s -> %s (ratio %s), %s s, %s MB/s, %u compressor "
      "threads\n",
      in_path.c_str(), out_path.c_str(), static_cast<unsigned long long>(counts.messages),
      human_size(in_bytes).c_str(), human_size(out_bytes).c_str(),
      out_bytes ? fixed(static_cast<double>(in_bytes) / out_bytes, 2).c_str() : "-",
      fixed(elapsed, 3).c_str(),
      fixed(elapsed > 0 ? static_cast<double>(in_bytes) / 1e6 / elapsed : 0.0, 1).c_str(),
      stats.compression.threads);
  if (counts.dropped_unknown > 0) {
    std::fprintf(stderr, "mcaprec convert: dropped %llu records of unknown type\n",
                 static_cast<unsigned long long>(counts.dropped_unknown));
  }
  return kExitOk;
}

}  // namespace

const Command kConvertCommand = {"convert", "rewrite a recording with new compression and chunks",
                                 kHelp, run_convert};

}  // namespace mcaprec::tool
