#include "mcap/verify.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/verify_internal.hpp"

namespace mcaprec::mcap {

using verify_detail::ChunkFacts;
using verify_detail::ChunkMessage;
using verify_detail::Verifier;

namespace verify_detail {

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

namespace {

std::string name_of(uint8_t opcode) {
  return opcode_name(opcode);
}

// Records that only belong in the summary section (or after it); meeting one in the data
// section means the data section ended without Data End.
bool is_summary_only(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kChunkIndex:
    case Opcode::kAttachmentIndex:
    case Opcode::kMetadataIndex:
    case Opcode::kStatistics:
    case Opcode::kSummaryOffset:
    case Opcode::kFooter:
      return true;
    default:
      return false;
  }
}

// The most a codec can expand its input: zstd turns a 4-byte RLE block into 128 KiB, an lz4
// sequence gains 255 output bytes per input byte at best.
constexpr uint64_t kZstdMaxRatio = 32768;
constexpr uint64_t kLz4MaxRatio = 256;

// What the zstd frames in `data` say about their decompressed size.
struct ZstdDeclaredSize {
  bool valid = true;   // the frames are well-formed as far as their headers go
  bool known = true;   // every frame declares its content size
  uint64_t total = 0;  // sum of the declared sizes
};

ZstdDeclaredSize zstd_declared_size(ByteView data) {
  ZstdDeclaredSize out;
  for (uint64_t pos = 0; pos < data.size();) {
    const uint8_t* frame = data.data() + pos;
    const size_t left = data.size() - pos;
    const unsigned long long declared = ZSTD_getFrameContentSize(frame, left);
    const size_t frame_size = ZSTD_findFrameCompressedSize(frame, left);
    if (declared == ZSTD_CONTENTSIZE_ERROR || ZSTD_isError(frame_size) || frame_size == 0) {
      out.valid = false;
      return out;
    }
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
      out.known = false;
    } else {
      out.total += declared;
    }
    pos += frame_size;
  }
  return out;
}

// Why `chunk.uncompressed_size` cannot be right, judged from the compressed bytes alone, or an
// empty string. A damaged size field must not make verification allocate gigabytes.
std::string implausible_size(const Chunk& chunk) {
  const uint64_t compressed = chunk.records.size();
  const uint64_t claimed = chunk.uncompressed_size;
  if (chunk.compression == "zstd") {
    const ZstdDeclaredSize declared = zstd_declared_size(chunk.records);
    if (!declared.valid) return "its records are not well-formed zstd frames";
    if (declared.known) {
      if (declared.total == claimed) return {};
      return "its zstd frames declare " + std::to_string(declared.total) +
             " uncompressed bytes but the chunk's uncompressed_size is " + std::to_string(claimed);
    }
    if (claimed / kZstdMaxRatio <= compressed) return {};
  } else if (chunk.compression == "lz4") {
    if (claimed / kLz4MaxRatio <= compressed) return {};
  } else {
    return {};  // the decompressor names unknown codecs
  }
  return "uncompressed_size " + std::to_string(claimed) + " is more than " +
         std::to_string(compressed) + " bytes of " + chunk.compression + " data can hold";
}

}  // namespace

void Verifier::add(uint64_t offset, std::string message, Severity severity) {
  ++(severity == Severity::kError ? report_.error_count : report_.warning_count);
  if (report_.findings.size() < options_.max_findings) {
    report_.findings.push_back({offset, std::move(message), severity});
  }
}

VerifyReport Verifier::run() {
  if (!check_frame_of_file()) return std::move(report_);
  walk_data_section();
  check_data_crc();
  if (have_footer_) {
    walk_summary_section();
    check_summary_crc();
  }
  if (summary_walked_ && !data_framing_broken_) {
    check_summary_offsets();
    check_summary_copies();
    check_chunk_indexes();
    check_attachment_indexes();
    check_metadata_indexes();
    check_statistics();
  }
  std::stable_sort(report_.findings.begin(), report_.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.offset < b.offset; });
  return std::move(report_);
}

// Leading magic, and Footer plus trailing magic as the last 37 bytes.
bool Verifier::check_frame_of_file() {
  const uint64_t size = file_.size();
  if (size < sizeof(kMagic) || std::memcmp(file_.data(), kMagic, sizeof(kMagic)) != 0) {
    add(0, "file does not start with the MCAP magic: not an MCAP file");
    return false;
  }
  const uint64_t trailer = kFooterRecordSize + sizeof(kMagic);
  if (size >= sizeof(kMagic) + trailer) {
    const uint64_t at = size - trailer;
    const uint8_t* p = file_.data() + at;
    const bool magic_ok = std::memcmp(p + kFooterRecordSize, kMagic, sizeof(kMagic)) == 0;
    const bool footer_ok = p[0] == static_cast<uint8_t>(Opcode::kFooter) &&
                           load_le<uint64_t>(p + 1) == kFooterRecordSize - kRecordPrefixSize;
    if (magic_ok && footer_ok) {
      footer_offset_ = at;
      footer_.summary_start = load_le<uint64_t>(p + 9);
      footer_.summary_offset_start = load_le<uint64_t>(p + 17);
      footer_.summary_crc = load_le<uint32_t>(p + 25);
      have_footer_ = true;
      return true;
    }
  }
  add(size,
      "file does not end with a Footer record and the MCAP magic: it is truncated or was never "
      "finished");
  return true;
}

void Verifier::walk_data_section() {
  const uint64_t limit = have_footer_ ? footer_offset_ : file_.size();
  const ByteView data = file_.first(limit);
  uint64_t pos = sizeof(kMagic);
  while (pos < limit) {
    auto frame = read_frame(data, pos);
    if (!frame) {
      add(frame.error().offset, "record framing broken: " + frame.error().message +
                                    "; the rest of the data section cannot be checked");
      data_framing_broken_ = true;
      close_chunk();
      return;
    }
    const uint8_t opcode = frame->opcode;
    if (!seen_header_) {
      seen_header_ = true;
      if (opcode != static_cast<uint8_t>(Opcode::kHeader)) {
        add(pos, "the first record is " + name_of(opcode) + ", not Header");
      }
    } else if (opcode == static_cast<uint8_t>(Opcode::kHeader)) {
      add(pos, "a second Header record");
    }
    if (opcode != static_cast<uint8_t>(Opcode::kMessageIndex)) close_chunk();
    if (is_summary_only(opcode)) {
      add(pos, "no Data End record: the data section runs into a " + name_of(opcode) + " record");
      summary_begin_ = pos;
      return;
    }
    auto parsed = parse_record(*frame);
    if (!parsed) {
      add(pos, parsed.error().message);
      if (opcode == static_cast<uint8_t>(Opcode::kChunk)) after_unreadable_chunk_ = true;
    } else if (opcode == static_cast<uint8_t>(Opcode::kDataEnd)) {
      data_end_offset_ = pos;
      data_end_crc_ = std::get<DataEnd>(parsed.value()).data_section_crc;
      summary_begin_ = pos + frame->size();
      return;
    } else {
      on_data_record(*frame, parsed.value());
    }
    pos += frame->size();
  }
  close_chunk();
  add(limit, have_footer_ ? "no Data End record before the Footer"
                          : "no Data End record: the file ends inside the data section");
  summary_begin_ = limit;
}

void Verifier::on_data_record(const RecordFrame& frame, Record& record) {
  if (frame.opcode != static_cast<uint8_t>(Opcode::kChunk) &&
      frame.opcode != static_cast<uint8_t>(Opcode::kMessageIndex)) {
    after_unreadable_chunk_ = false;
  }
  std::visit(
      [&](auto& rec) {
        using T = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<T, Header> || std::is_same_v<T, UnknownRecord>) {
          // Header placement is checked by the caller; unknown records are skipped by design.
        } else if constexpr (std::is_same_v<T, Schema>) {
          on_schema(frame.offset, rec);
        } else if constexpr (std::is_same_v<T, Channel>) {
          on_channel(frame.offset, rec);
        } else if constexpr (std::is_same_v<T, Message>) {
          on_message(frame.offset, rec);
          if (messages_outside_chunks_++ == 0) first_message_outside_chunks_ = frame.offset;
        } else if constexpr (std::is_same_v<T, Chunk>) {
          on_chunk(frame, rec);
        } else if constexpr (std::is_same_v<T, MessageIndex>) {
          on_message_index(frame, rec);
        } else if constexpr (std::is_same_v<T, Attachment>) {
          on_attachment(frame, rec);
        } else if constexpr (std::is_same_v<T, Metadata>) {
          ++report_.metadata_count;
          metadata_[frame.offset] = {frame.size(), rec.name};
        } else {
          add(frame.offset, name_of(frame.opcode) + " record is not allowed in the data section");
        }
      },
      record);
}

void Verifier::on_schema(uint64_t offset, const Schema& schema) {
  if (schema.id == 0) {
    add(offset, "Schema with id 0 (\"" + schema.name + "\"): readers ignore it");
    return;
  }
  auto [it, inserted] = schemas_.emplace(schema.id, schema);
  if (!inserted && !same_schema(it->second, schema)) {
    add(offset,
        "Schema " + std::to_string(schema.id) + " is declared again with different content");
  }
}

void Verifier::on_channel(uint64_t offset, const Channel& channel) {
  if (channel.schema_id != 0 && schemas_.count(channel.schema_id) == 0) {
    add(offset, "Channel " + std::to_string(channel.id) + " (" + channel.topic + ") uses schema " +
                    std::to_string(channel.schema_id) +
                    ", which no earlier Schema record declares");
  }
  auto [it, inserted] = channels_.emplace(channel.id, channel);
  if (!inserted && !same_channel(it->second, channel)) {
    add(offset,
        "Channel " + std::to_string(channel.id) + " is declared again with different content");
  }
}

void Verifier::on_message(uint64_t offset, const Message& message) {
  if (channels_.count(message.channel_id) == 0 &&
      reported_unknown_channels_.insert(message.channel_id).second) {
    add(offset, "Message on channel " + std::to_string(message.channel_id) +
                    ", which no earlier Channel record declares");
  }
  ++channel_message_counts_[message.channel_id];
  if (report_.message_count == 0) {
    message_start_ = message_end_ = message.log_time;
  } else {
    message_start_ = std::min(message_start_, message.log_time);
    message_end_ = std::max(message_end_, message.log_time);
  }
  ++report_.message_count;
}

void Verifier::on_chunk(const RecordFrame& frame, const Chunk& chunk) {
  ++report_.chunk_count;
  ChunkFacts& facts = chunks_[frame.offset];
  facts.length = frame.size();
  facts.start = chunk.message_start_time;
  facts.end = chunk.message_end_time;
  facts.compression = chunk.compression;
  facts.compressed_size = chunk.records.size();
  facts.uncompressed_size = chunk.uncompressed_size;
  open_chunk_ = &facts;
  open_chunk_offset_ = frame.offset;
  open_chunk_decoded_ = false;
  chunk_messages_.clear();

  ByteView records;
  if (chunk.compression.empty()) {
    if (chunk.records.size() != chunk.uncompressed_size) {
      add(frame.offset, "uncompressed chunk holds " + std::to_string(chunk.records.size()) +
                            " record bytes but its uncompressed_size says " +
                            std::to_string(chunk.uncompressed_size));
      return;
    }
    records = chunk.records;
  } else if (chunk.uncompressed_size > options_.max_chunk_bytes) {
    add(frame.offset, "chunk claims " + std::to_string(chunk.uncompressed_size) +
                          " uncompressed bytes, more than the limit of " +
                          std::to_string(options_.max_chunk_bytes) + "; not decompressed");
    return;
  } else if (const std::string why = implausible_size(chunk); !why.empty()) {
    add(frame.offset, "chunk does not decompress: " + why);
    return;
  } else {
    Status status =
        decompressor_.decompress(chunk.compression, chunk.records, chunk.uncompressed_size,
                                 chunk_buffer_, options_.max_chunk_bytes);
    if (!status) {
      add(frame.offset, "chunk does not decompress: " + status.error().message);
      return;
    }
    records = chunk_buffer_;
  }
  if (chunk.uncompressed_crc != 0) {
    const uint32_t actual = crc32(records);
    if (actual != chunk.uncompressed_crc) {
      add(frame.offset, "chunk CRC mismatch: the record stores " + hex32(chunk.uncompressed_crc) +
                            ", its uncompressed records give " + hex32(actual));
    }
  }
  open_chunk_decoded_ = true;
  walk_chunk_records(frame.offset, chunk, records);
}

void Verifier::walk_chunk_records(uint64_t chunk_offset, const Chunk& chunk, ByteView records) {
  const auto where = [](uint64_t pos) { return "in chunk, records offset " + std::to_string(pos); };
  uint64_t pos = 0;
  Timestamp first = 0, last = 0;
  while (pos < records.size()) {
    auto frame = read_frame(records, pos);
    if (!frame) {
      add(chunk_offset,
          where(pos) + ": " + frame.error().message + "; the rest of the chunk cannot be checked");
      break;
    }
    auto parsed = parse_record(*frame);
    if (!parsed) {
      add(chunk_offset, where(pos) + ": " + parsed.error().message);
    } else if (auto* schema = std::get_if<Schema>(&parsed.value())) {
      on_schema(chunk_offset, *schema);
    } else if (auto* channel = std::get_if<Channel>(&parsed.value())) {
      on_channel(chunk_offset, *channel);
    } else if (auto* message = std::get_if<Message>(&parsed.value())) {
      if (chunk_messages_.empty()) {
        first = last = message->log_time;
      } else {
        first = std::min(first, message->log_time);
        last = std::max(last, message->log_time);
      }
      chunk_messages_.push_back({pos, message->channel_id, message->log_time, 0});
      channels_in_chunks_.insert(message->channel_id);
      on_message(chunk_offset, *message);
    } else if (!std::holds_alternative<UnknownRecord>(parsed.value())) {
      add(chunk_offset,
          where(pos) + ": " + name_of(frame->opcode) + " record is not allowed inside a chunk");
    }
    pos += frame->size();
  }
  const auto range = [](Timestamp a, Timestamp b) {
    return "[" + std::to_string(a) + ", " + std::to_string(b) + "]";
  };
  if (chunk_messages_.empty()) {
    if (chunk.message_start_time != 0 || chunk.message_end_time != 0) {
      add(chunk_offset, "chunk holds no messages but its time range is " +
                            range(chunk.message_start_time, chunk.message_end_time) +
                            " instead of [0, 0]");
    }
  } else if (first < chunk.message_start_time || last > chunk.message_end_time) {
    add(chunk_offset, "chunk messages span " + range(first, last) +
                          ", outside the chunk's time range " +
                          range(chunk.message_start_time, chunk.message_end_time));
  } else if (first != chunk.message_start_time || last != chunk.message_end_time) {
    warn(chunk_offset, "chunk time range " +
                           range(chunk.message_start_time, chunk.message_end_time) +
                           " is wider than its messages " + range(first, last));
  }
}

void Verifier::on_message_index(const RecordFrame& frame, const MessageIndex& index) {
  if (open_chunk_ == nullptr) {
    if (!after_unreadable_chunk_) {
      add(frame.offset, "Message Index record that does not follow a chunk");
    }
    return;
  }
  const std::string channel = std::to_string(index.channel_id);
  if (!open_chunk_->index_offsets.emplace(index.channel_id, frame.offset).second) {
    add(frame.offset, "second Message Index record for channel " + channel +
                          " after the chunk at " + std::to_string(open_chunk_offset_));
  }
  open_chunk_->index_length += frame.size();
  if (!open_chunk_decoded_) return;

  uint64_t bad = 0;
  std::string first_problem;
  const auto note = [&](std::string problem) {
    if (bad++ == 0) first_problem = std::move(problem);
  };
  for (const auto& [log_time, offset] : index.records) {
    const std::string entry =
        "entry (" + std::to_string(log_time) + ", " + std::to_string(offset) + ")";
    auto it =
        std::lower_bound(chunk_messages_.begin(), chunk_messages_.end(), offset,
                         [](const ChunkMessage& m, uint64_t value) { return m.offset < value; });
    if (it == chunk_messages_.end() || it->offset != offset) {
      note(entry + " points at no Message record in the chunk");
    } else if (it->channel_id != index.channel_id) {
      note(entry + " points at a message on channel " + std::to_string(it->channel_id));
    } else if (it->log_time != log_time) {
      note(entry + " has the wrong time: the message's log_time is " +
           std::to_string(it->log_time));
    } else if (it->times_indexed++ > 0) {
      note(entry + " indexes a message a second time");
    }
  }
  if (bad > 0) {
    add(frame.offset,
        "Message Index for channel " + channel + ": " + first_problem +
            (bad > 1 ? " (and " + std::to_string(bad - 1) + " more bad entries)" : std::string()));
  }
}

// Ends the Message Index run of the open chunk: every message must have been indexed, unless
// the chunk has no message index at all.
void Verifier::close_chunk() {
  if (open_chunk_ != nullptr && open_chunk_decoded_ && open_chunk_->index_length > 0) {
    std::map<uint16_t, uint64_t> unindexed;
    for (const ChunkMessage& m : chunk_messages_) {
      if (m.times_indexed == 0) ++unindexed[m.channel_id];
    }
    for (const auto& [channel, count] : unindexed) {
      const bool has_record = open_chunk_->index_offsets.count(channel) != 0;
      add(open_chunk_offset_,
          std::to_string(count) + " messages on channel " + std::to_string(channel) +
              " are missing from the chunk's message index" +
              (has_record ? "" : " (no Message Index record for that channel)"));
    }
  }
  open_chunk_ = nullptr;
  chunk_messages_.clear();
}

void Verifier::on_attachment(const RecordFrame& frame, const Attachment& attachment) {
  ++report_.attachment_count;
  attachments_[frame.offset] = {frame.size(),           attachment.log_time, attachment.create_time,
                                attachment.data.size(), attachment.name,     attachment.media_type};
  if (attachment.crc == 0) return;
  const uint32_t actual = crc32(frame.content.first(attachment_crc_covered_length(attachment)));
  if (actual != attachment.crc) {
    add(frame.offset, "attachment \"" + attachment.name + "\" CRC mismatch: the record stores " +
                          hex32(attachment.crc) + ", its bytes give " + hex32(actual));
  }
}

void Verifier::check_data_crc() {
  if (!data_end_offset_ || data_end_crc_ == 0) return;
  const uint32_t actual = crc32(file_.first(*data_end_offset_));
  if (actual != data_end_crc_) {
    add(*data_end_offset_, "data section CRC mismatch: Data End stores " + hex32(data_end_crc_) +
                               ", bytes [0, " + std::to_string(*data_end_offset_) + ") give " +
                               hex32(actual));
  }
}

}  // namespace verify_detail

VerifyReport verify_file(ByteView file, const VerifyOptions& options) {
  return Verifier(file, options).run();
}

}  // namespace mcaprec::mcap
