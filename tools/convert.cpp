// mcaprec convert: rewrites any valid MCAP file with new chunking and compression. For now the
// plain Writer does the work; the recording pipeline will take over.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "mcap/compression.hpp"
#include "mcap/reader.hpp"
#include "mcap/writer.hpp"

namespace mcaprec::tool {
namespace {

namespace fs = std::filesystem;

constexpr const char kHelp[] =
    "Usage: mcaprec convert IN OUT [--compression zstd|lz4|none] [--level N] [--chunk-size SIZE]\n"
    "\n"
    "Reads IN (any valid MCAP file: chunked or not, indexed or not, any compression) and writes\n"
    "OUT with fresh chunks, message indexes and a complete summary. Schema and channel ids,\n"
    "messages, attachments and metadata are kept; records of unknown type are dropped.\n"
    "OUT is written as OUT.tmp and renamed when complete, so OUT is never a partial file.\n"
    "\n"
    "Options:\n"
    "  --compression C   chunk compression: zstd (default), lz4 or none\n"
    "  --level N         zstd level (default 1; higher is smaller and slower, up to 22)\n"
    "  --chunk-size SIZE uncompressed bytes per chunk (default 1MiB); B, KiB, MiB or GiB\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when IN cannot be read or OUT cannot be written, 2 on a\n"
    "usage error.\n";

const OptionSpec kOptions[] = {{"--compression", true}, {"--level", true}, {"--chunk-size", true}};

constexpr uint64_t kMaxChunkSize = uint64_t{1} << 30;

struct Counts {
  uint64_t messages = 0;
  uint64_t attachments = 0;
  uint64_t metadata = 0;
  uint64_t dropped_unknown = 0;
};

// Fills `options` from the command line; returns an error text for a bad value.
std::optional<std::string> writer_options(const ParsedArgs& parsed, mcap::WriterOptions& options) {
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
  return std::nullopt;
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

// Copies every record of `input` into a new file at `path`.
mcap::Status rewrite(mcap::ByteView input, const std::string& path, mcap::WriterOptions options,
                     Counts& counts) {
  mcap::StreamReader reader(input);
  auto first = reader.next();
  if (!first) return mcap::Error{first.error().offset, "input: " + first.error().message};
  if (*first) {
    if (auto* header = std::get_if<mcap::Header>(&(*first)->record)) {
      options.profile = header->profile;
    }
  }
  auto writer = mcap::Writer::create(path, options);
  if (!writer) return writer.error();
  mcap::Writer& out = **writer;

  bool data_section = true;
  while (data_section) {
    auto item = reader.next();
    if (!item) return mcap::Error{item.error().offset, "input: " + item.error().message};
    if (!*item) break;
    mcap::Status status;
    std::visit(
        [&](const auto& record) {
          using T = std::decay_t<decltype(record)>;
          if constexpr (std::is_same_v<T, mcap::Schema>) {
            // Id 0 means "no schema"; readers ignore such records.
            if (record.id != 0 && !out.has_schema(record.id)) status = out.add_schema(record);
          } else if constexpr (std::is_same_v<T, mcap::Channel>) {
            if (!out.has_channel(record.id)) status = out.add_channel(record);
          } else if constexpr (std::is_same_v<T, mcap::Message>) {
            status = out.write_message(record);
            ++counts.messages;
          } else if constexpr (std::is_same_v<T, mcap::Attachment>) {
            status = out.write_attachment(record);
            ++counts.attachments;
          } else if constexpr (std::is_same_v<T, mcap::Metadata>) {
            status = out.write_metadata(record);
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
      return mcap::Error{(*item)->offset, "record at input offset " +
                                              std::to_string((*item)->offset) + ": " +
                                              status.error().message};
    }
  }
  if (mcap::Status status = out.close(); !status) return status;
  return out.sink().sync();
}

int run_convert(std::span<const std::string> args) {
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("convert", *error);
  if (parsed.positional.size() != 2) return usage_error("convert", "expected IN and OUT");
  mcap::WriterOptions options;
  if (auto error = writer_options(parsed, options)) return usage_error("convert", *error);
  const std::string& in_path = parsed.positional[0];
  const std::string& out_path = parsed.positional[1];
  const std::string tmp_path = out_path + ".tmp";
  if (in_path == out_path || same_file(in_path, out_path) || same_file(in_path, tmp_path)) {
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
  Counts counts;
  mcap::Status status = rewrite(input->bytes(), tmp_path, options, counts);
  std::error_code error;
  if (status) {
    fs::rename(tmp_path, out_path, error);
    if (error) status = mcap::Error{0, "cannot rename " + tmp_path + ": " + error.message()};
  }
  if (!status) {
    fs::remove(tmp_path, error);
    std::fprintf(stderr, "mcaprec convert: %s -> %s failed: %s\n", in_path.c_str(),
                 out_path.c_str(), status.error().message.c_str());
    return kExitFailure;
  }
  sync_directory(fs::path(out_path).parent_path());
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const uint64_t in_bytes = input->bytes().size();
  const uint64_t out_bytes = fs::file_size(out_path, error);
  std::printf("converted %s -> %s: %llu messages, %s -> %s (ratio %s), %s s, %s MB/s\n",
              in_path.c_str(), out_path.c_str(), static_cast<unsigned long long>(counts.messages),
              human_size(in_bytes).c_str(), human_size(out_bytes).c_str(),
              out_bytes ? fixed(static_cast<double>(in_bytes) / out_bytes, 2).c_str() : "-",
              fixed(elapsed, 3).c_str(),
              fixed(elapsed > 0 ? static_cast<double>(in_bytes) / 1e6 / elapsed : 0.0, 1).c_str());
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
