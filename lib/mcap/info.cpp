#include "mcap/info.hpp"

#include <algorithm>
#include <cstring>

#include "mcap/reader.hpp"

namespace mcaprec::mcap {

namespace {

// Why a summary that was read correctly still cannot answer everything `info` shows, or an
// empty string when it can.
std::string summary_shortcoming(const Summary& summary) {
  if (!summary.statistics) return "the summary has no Statistics record";
  const Statistics& stats = *summary.statistics;
  if (stats.message_count > 0 && stats.channel_message_counts.empty()) {
    return "the Statistics record has no per-channel message counts";
  }
  for (const auto& [channel, count] : stats.channel_message_counts) {
    if (count > 0 && summary.channels.count(channel) == 0) {
      return "the summary has no Channel record for channel " + std::to_string(channel);
    }
  }
  if (stats.chunk_count != summary.chunk_indexes.size()) {
    return "the summary indexes " + std::to_string(summary.chunk_indexes.size()) + " of " +
           std::to_string(stats.chunk_count) + " chunks";
  }
  if (stats.attachment_count != summary.attachment_indexes.size()) {
    return "the summary indexes " + std::to_string(summary.attachment_indexes.size()) + " of " +
           std::to_string(stats.attachment_count) + " attachments";
  }
  if (stats.metadata_count != summary.metadata_indexes.size()) {
    return "the summary indexes " + std::to_string(summary.metadata_indexes.size()) + " of " +
           std::to_string(stats.metadata_count) + " metadata records";
  }
  return {};
}

std::vector<CompressionInfo> compression_of(const std::vector<ChunkIndex>& chunks) {
  std::vector<CompressionInfo> out;
  for (const ChunkIndex& chunk : chunks) {
    auto it = std::find_if(out.begin(), out.end(), [&](const CompressionInfo& c) {
      return c.compression == chunk.compression;
    });
    if (it == out.end()) {
      out.push_back({chunk.compression, 0, 0, 0});
      it = out.end() - 1;
    }
    ++it->chunk_count;
    it->compressed_bytes += chunk.compressed_size;
    it->uncompressed_bytes += chunk.uncompressed_size;
  }
  std::sort(out.begin(), out.end(), [](const CompressionInfo& a, const CompressionInfo& b) {
    return a.compression < b.compression;
  });
  return out;
}

std::vector<ChannelInfo> channels_of(const std::map<uint16_t, Channel>& channels,
                                     const std::map<uint16_t, Schema>& schemas,
                                     const std::map<uint16_t, uint64_t>& counts) {
  std::vector<ChannelInfo> out;
  for (const auto& [id, channel] : channels) {
    ChannelInfo info;
    info.id = id;
    info.topic = channel.topic;
    info.message_encoding = channel.message_encoding;
    info.schema_id = channel.schema_id;
    if (auto schema = schemas.find(channel.schema_id); schema != schemas.end()) {
      info.schema_name = schema->second.name;
      info.schema_encoding = schema->second.encoding;
    }
    if (auto count = counts.find(id); count != counts.end()) info.message_count = count->second;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const ChannelInfo& a, const ChannelInfo& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.id < b.id;
  });
  return out;
}

void fill_indexes(FileInfo& info, const std::vector<AttachmentIndex>& attachments,
                  const std::vector<MetadataIndex>& metadata) {
  for (const AttachmentIndex& a : attachments) {
    info.attachments.push_back({a.name, a.media_type, a.data_size, a.log_time});
  }
  for (const MetadataIndex& m : metadata) {
    info.metadata.push_back(m.name);
    info.metadata_offsets.push_back(m.offset);
  }
}

void fill_counts(FileInfo& info, const Statistics& stats) {
  info.message_count = stats.message_count;
  info.message_start_time = stats.message_start_time;
  info.message_end_time = stats.message_end_time;
}

}  // namespace

Result<FileInfo> gather_info(ByteView file) {
  FileInfo info;
  info.file_size = file.size();
  if (file.size() < sizeof(kMagic) || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return Error{0, "not an MCAP file: it does not start with the MCAP magic"};
  }

  auto summary = read_summary(file);
  if (summary.ok()) {
    info.scan_reason = summary_shortcoming(*summary);
    if (info.scan_reason.empty()) {
      const Statistics& stats = *summary->statistics;
      info.header = summary->header;
      fill_counts(info, stats);
      info.chunk_count = stats.chunk_count;
      info.schema_count = stats.schema_count;
      info.compression = compression_of(summary->chunk_indexes);
      info.channels =
          channels_of(summary->channels, summary->schemas, stats.channel_message_counts);
      fill_indexes(info, summary->attachment_indexes, summary->metadata_indexes);
      return info;
    }
  } else {
    info.scan_reason = summary.error().message;
  }

  info.scanned = true;
  const ScanReport report = scan(file);
  if (report.valid_end <= sizeof(kMagic)) {
    const Error& why = report.stopped ? *report.stopped : Error{sizeof(kMagic), "no Header"};
    return Error{why.offset, "not a readable MCAP file: " + why.message};
  }
  if (!report.complete && report.stopped) info.incomplete = report.stopped;
  info.header = report.header;
  fill_counts(info, report.statistics);
  info.chunk_count = report.chunk_indexes.size();
  info.schema_count = report.schemas.size();
  info.compression = compression_of(report.chunk_indexes);
  info.channels =
      channels_of(report.channels, report.schemas, report.statistics.channel_message_counts);
  fill_indexes(info, report.attachment_indexes, report.metadata_indexes);
  return info;
}

}  // namespace mcaprec::mcap
