// Summary section checks of the verifier: layout (grouping, Summary Offsets, Footer pointers,
// CRC) and every summary record against what the data section really holds.
#include <algorithm>

#include "mcap/crc32.hpp"
#include "mcap/verify_internal.hpp"

namespace mcaprec::mcap::verify_detail {

namespace {

std::string name_of(uint8_t opcode) {
  return opcode_name(opcode);
}

std::string text(uint64_t value) {
  return std::to_string(value);
}
std::string text(const std::string& value) {
  return "\"" + value + "\"";
}

std::string where_offset(const std::map<uint16_t, uint64_t>& offsets, uint16_t channel) {
  auto it = offsets.find(channel);
  return it == offsets.end() ? "none" : std::to_string(it->second);
}

}  // namespace

void Verifier::walk_summary_section() {
  uint64_t begin = summary_begin_;
  if (data_framing_broken_) {
    // Where the data section ends is unknown; the Footer is the only guide left.
    if (footer_.summary_start == 0 || footer_.summary_start > footer_offset_) return;
    begin = footer_.summary_start;
  }
  const ByteView region = file_.first(footer_offset_);
  std::optional<uint64_t> offsets_begin;
  uint64_t pos = begin;
  while (pos < footer_offset_) {
    auto frame = read_frame(region, pos);
    if (!frame) {
      add(frame.error().offset, "summary record framing broken: " + frame.error().message);
      return;  // a partial summary would make every later cross-check misleading
    }
    const uint8_t opcode = frame->opcode;
    if (opcode == static_cast<uint8_t>(Opcode::kSummaryOffset)) {
      if (!offsets_begin) offsets_begin = pos;
    } else {
      if (offsets_begin) {
        add(pos, name_of(opcode) + " record after the Summary Offset records");
      }
      if (summary_groups_.empty() || summary_groups_.back().opcode != opcode) {
        for (const SummaryGroup& group : summary_groups_) {
          if (group.opcode == opcode) {
            add(pos, "summary is not grouped by opcode: a second run of " + name_of(opcode) +
                         " records");
            break;
          }
        }
        summary_groups_.push_back({opcode, pos, 0, false});
      }
      summary_groups_.back().length += frame->size();
    }
    auto parsed = parse_record(*frame);
    if (!parsed) {
      add(pos, parsed.error().message);
    } else {
      on_summary_record(*frame, parsed.value());
    }
    pos += frame->size();
  }
  summary_walked_ = true;
  if (!data_framing_broken_) check_footer_pointers(offsets_begin);
}

void Verifier::on_summary_record(const RecordFrame& frame, Record& record) {
  const uint64_t at = frame.offset;
  std::visit(
      [&](auto& rec) {
        using T = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<T, Schema>) {
          auto [it, inserted] = summary_schemas_.emplace(rec.id, Placed<Schema>{at, rec});
          if (!inserted && !same_schema(it->second.record, rec)) {
            add(at, "Schema " + text(rec.id) + " appears twice in the summary, differently");
          }
        } else if constexpr (std::is_same_v<T, Channel>) {
          auto [it, inserted] = summary_channels_.emplace(rec.id, Placed<Channel>{at, rec});
          if (!inserted && !same_channel(it->second.record, rec)) {
            add(at, "Channel " + text(rec.id) + " appears twice in the summary, differently");
          }
          if (!statistics_) channels_before_statistics_.insert(rec.id);
        } else if constexpr (std::is_same_v<T, ChunkIndex>) {
          chunk_indexes_.push_back({at, std::move(rec)});
        } else if constexpr (std::is_same_v<T, AttachmentIndex>) {
          attachment_indexes_.push_back({at, std::move(rec)});
        } else if constexpr (std::is_same_v<T, MetadataIndex>) {
          metadata_indexes_.push_back({at, std::move(rec)});
        } else if constexpr (std::is_same_v<T, Statistics>) {
          if (statistics_) {
            add(at, "a second Statistics record");
          } else {
            statistics_ = Placed<Statistics>{at, std::move(rec)};
          }
        } else if constexpr (std::is_same_v<T, SummaryOffset>) {
          summary_offsets_.push_back({at, rec});
        } else if constexpr (std::is_same_v<T, UnknownRecord>) {
          // Records this library does not know are skipped, as readers must.
        } else {
          add(at, name_of(frame.opcode) + " record is not allowed in the summary section");
        }
      },
      record);
}

// The Footer must point at the summary right after Data End (indexed readers rely on it) and
// at the first Summary Offset record.
void Verifier::check_footer_pointers(std::optional<uint64_t> offsets_begin) {
  if (footer_.summary_start == 0) {
    if (summary_begin_ < footer_offset_) {
      add(footer_offset_, "Footer summary_start is 0, but " +
                              text(footer_offset_ - summary_begin_) +
                              " bytes of records follow Data End");
    }
  } else if (footer_.summary_start != summary_begin_) {
    add(footer_offset_, "Footer summary_start is " + text(footer_.summary_start) +
                            ", but the summary section starts right after Data End, at " +
                            text(summary_begin_));
  }
  const uint64_t actual = offsets_begin.value_or(0);
  if (footer_.summary_offset_start != actual) {
    add(footer_offset_,
        "Footer summary_offset_start is " + text(footer_.summary_offset_start) +
            (offsets_begin ? ", but the Summary Offset records start at " + text(actual)
                           : std::string(", but there are no Summary Offset records")));
  }
}

void Verifier::check_summary_crc() {
  if (footer_.summary_crc == 0) return;
  const uint64_t begin = footer_.summary_start != 0 ? footer_.summary_start : footer_offset_;
  if (begin > footer_offset_) {
    add(footer_offset_, "Footer summary_start " + text(begin) +
                            " lies beyond the Footer; the summary CRC cannot be checked");
    return;
  }
  // Covers the summary, the Summary Offsets and the Footer up to its summary_crc field.
  const uint64_t end = footer_offset_ + kRecordPrefixSize + 16;
  const uint32_t actual = crc32(file_.subspan(begin, end - begin));
  if (actual != footer_.summary_crc) {
    add(footer_offset_, "summary CRC mismatch: the Footer stores " + hex32(footer_.summary_crc) +
                            ", bytes [" + text(begin) + ", " + text(end) + ") give " +
                            hex32(actual));
  }
}

void Verifier::check_summary_offsets() {
  if (summary_offsets_.empty()) return;
  for (const auto& [at, offset] : summary_offsets_) {
    const std::string group_name = name_of(offset.group_opcode);
    auto group =
        std::find_if(summary_groups_.begin(), summary_groups_.end(),
                     [&](const SummaryGroup& g) { return g.opcode == offset.group_opcode; });
    if (group == summary_groups_.end()) {
      add(at, "Summary Offset for " + group_name + " records, but the summary has none");
      continue;
    }
    if (group->has_summary_offset) {
      add(at, "a second Summary Offset for the " + group_name + " group");
    }
    group->has_summary_offset = true;
    if (offset.group_start != group->start || offset.group_length != group->length) {
      add(at, "Summary Offset for the " + group_name + " group says start " +
                  text(offset.group_start) + ", length " + text(offset.group_length) +
                  ", but the group starts at " + text(group->start) + " with length " +
                  text(group->length));
    }
  }
  for (const SummaryGroup& group : summary_groups_) {
    if (!group.has_summary_offset) {
      add(group.start,
          "the " + name_of(group.opcode) + " group of the summary has no Summary Offset");
    }
  }
}

// Summary copies of Schema and Channel records must be identical to the data-section ones, and
// present for everything indexed chunks use.
void Verifier::check_summary_copies() {
  for (const auto& [id, placed] : summary_schemas_) {
    auto it = schemas_.find(id);
    if (it == schemas_.end()) {
      add(placed.offset, "summary Schema " + text(id) + " is not declared in the data section");
    } else if (!same_schema(it->second, placed.record)) {
      add(placed.offset, "summary Schema " + text(id) + " differs from the data-section one");
    }
  }
  for (const auto& [id, placed] : summary_channels_) {
    auto it = channels_.find(id);
    if (it == channels_.end()) {
      add(placed.offset, "summary Channel " + text(id) + " is not declared in the data section");
    } else if (!same_channel(it->second, placed.record)) {
      add(placed.offset, "summary Channel " + text(id) + " differs from the data-section one");
    } else if (placed.record.schema_id != 0 &&
               summary_schemas_.count(placed.record.schema_id) == 0 &&
               schemas_.count(placed.record.schema_id) == 0) {
      add(placed.offset,
          "summary Channel " + text(id) + " uses unknown schema " + text(placed.record.schema_id));
    }
  }
  if (chunk_indexes_.empty()) return;
  std::set<uint16_t> missing_schemas;
  for (uint16_t id : channels_in_chunks_) {
    if (summary_channels_.count(id) == 0 && channels_.count(id) != 0) {
      warn(summary_begin_, "Channel " + text(id) +
                               " has messages in indexed chunks but is missing from the summary");
    }
    auto channel = channels_.find(id);
    if (channel != channels_.end() && channel->second.schema_id != 0 &&
        summary_schemas_.count(channel->second.schema_id) == 0) {
      missing_schemas.insert(channel->second.schema_id);
    }
  }
  for (uint16_t id : missing_schemas) {
    warn(summary_begin_,
         "Schema " + text(id) +
             " is used by messages in indexed chunks but is missing from the summary");
  }
  if (messages_outside_chunks_ > 0) {
    warn(first_message_outside_chunks_,
         text(messages_outside_chunks_) +
             " messages are outside chunks in a file with chunk indexes: indexed readers will "
             "not see them");
  }
}

void Verifier::check_chunk_indexes() {
  for (const auto& [at, index] : chunk_indexes_) {
    auto it = chunks_.find(index.chunk_start_offset);
    if (it == chunks_.end()) {
      add(at, "Chunk Index points at offset " + text(index.chunk_start_offset) +
                  ", where no Chunk record starts");
      continue;
    }
    ChunkFacts& chunk = it->second;
    const std::string prefix = "Chunk Index for the chunk at " + text(it->first) + ": ";
    if (++chunk.chunk_index_count > 1) add(at, prefix + "a second Chunk Index for this chunk");
    const auto compare = [&](const char* field, const auto& stored, const auto& actual) {
      if (stored != actual) {
        add(at, prefix + field + " is " + text(stored) + " but the chunk's is " + text(actual));
      }
    };
    compare("chunk_length", index.chunk_length, chunk.length);
    compare("message_start_time", index.message_start_time, chunk.start);
    compare("message_end_time", index.message_end_time, chunk.end);
    compare("compression", index.compression, chunk.compression);
    compare("compressed_size", index.compressed_size, chunk.compressed_size);
    compare("uncompressed_size", index.uncompressed_size, chunk.uncompressed_size);
    // An empty map and zero length declare "no message index"; anything else must be exact.
    if (index.message_index_offsets.empty() && index.message_index_length == 0) continue;
    compare("message_index_length", index.message_index_length, chunk.index_length);
    if (index.message_index_offsets != chunk.index_offsets) {
      std::set<uint16_t> channels;
      for (const auto& entry : index.message_index_offsets) channels.insert(entry.first);
      for (const auto& entry : chunk.index_offsets) channels.insert(entry.first);
      for (uint16_t channel : channels) {
        const std::string stored = where_offset(index.message_index_offsets, channel);
        const std::string actual = where_offset(chunk.index_offsets, channel);
        if (stored != actual) {
          add(at, prefix + "message index offset for channel " + text(channel) + " is " + stored +
                      " but its Message Index record is at " + actual);
        }
      }
    }
  }
  if (chunk_indexes_.empty()) return;
  for (const auto& [offset, chunk] : chunks_) {
    if (chunk.chunk_index_count == 0) add(offset, "chunk has no Chunk Index in the summary");
  }
}

void Verifier::check_attachment_indexes() {
  for (const auto& [at, index] : attachment_indexes_) {
    auto it = attachments_.find(index.offset);
    if (it == attachments_.end()) {
      add(at, "Attachment Index points at offset " + text(index.offset) +
                  ", where no Attachment record starts");
      continue;
    }
    AttachmentFacts& attachment = it->second;
    const std::string prefix = "Attachment Index for the attachment at " + text(it->first) + ": ";
    if (++attachment.index_count > 1) add(at, prefix + "a second index for this attachment");
    const auto compare = [&](const char* field, const auto& stored, const auto& actual) {
      if (stored != actual) {
        add(at,
            prefix + field + " is " + text(stored) + " but the attachment's is " + text(actual));
      }
    };
    compare("length", index.length, attachment.length);
    compare("log_time", index.log_time, attachment.log_time);
    compare("create_time", index.create_time, attachment.create_time);
    compare("data_size", index.data_size, attachment.data_size);
    compare("name", index.name, attachment.name);
    compare("media_type", index.media_type, attachment.media_type);
  }
  if (attachment_indexes_.empty()) return;
  for (const auto& [offset, attachment] : attachments_) {
    if (attachment.index_count == 0) {
      add(offset, "attachment \"" + attachment.name + "\" has no Attachment Index in the summary");
    }
  }
}

void Verifier::check_metadata_indexes() {
  for (const auto& [at, index] : metadata_indexes_) {
    auto it = metadata_.find(index.offset);
    if (it == metadata_.end()) {
      add(at, "Metadata Index points at offset " + text(index.offset) +
                  ", where no Metadata record starts");
      continue;
    }
    MetadataFacts& metadata = it->second;
    const std::string prefix = "Metadata Index for the metadata at " + text(it->first) + ": ";
    if (++metadata.index_count > 1) add(at, prefix + "a second index for this metadata record");
    if (index.length != metadata.length) {
      add(at, prefix + "length is " + text(index.length) + " but the record's is " +
                  text(metadata.length));
    }
    if (index.name != metadata.name) {
      add(at,
          prefix + "name is " + text(index.name) + " but the record's is " + text(metadata.name));
    }
  }
  if (metadata_indexes_.empty()) return;
  for (const auto& [offset, metadata] : metadata_) {
    if (metadata.index_count == 0) {
      add(offset, "metadata \"" + metadata.name + "\" has no Metadata Index in the summary");
    }
  }
}

void Verifier::check_statistics() {
  if (!statistics_) return;
  const uint64_t at = statistics_->offset;
  const Statistics& stats = statistics_->record;
  const auto compare = [&](const std::string& field, uint64_t stored, uint64_t actual) {
    if (stored != actual) {
      add(at, "Statistics " + field + " is " + text(stored) + " but the file has " + text(actual));
    }
  };
  const bool any = report_.message_count > 0;
  compare("message_count", stats.message_count, report_.message_count);
  compare("schema_count", stats.schema_count, schemas_.size());
  compare("channel_count", stats.channel_count, channels_.size());
  compare("attachment_count", stats.attachment_count, report_.attachment_count);
  compare("metadata_count", stats.metadata_count, report_.metadata_count);
  compare("chunk_count", stats.chunk_count, report_.chunk_count);
  compare("message_start_time", stats.message_start_time, any ? message_start_ : 0);
  compare("message_end_time", stats.message_end_time, any ? message_end_ : 0);
  if (stats.channel_message_counts.empty()) return;
  std::set<uint16_t> channels;
  for (const auto& entry : stats.channel_message_counts) channels.insert(entry.first);
  for (const auto& entry : channel_message_counts_) channels.insert(entry.first);
  for (uint16_t channel : channels) {
    auto stored = stats.channel_message_counts.find(channel);
    auto actual = channel_message_counts_.find(channel);
    compare("message count of channel " + text(channel),
            stored == stats.channel_message_counts.end() ? 0 : stored->second,
            actual == channel_message_counts_.end() ? 0 : actual->second);
    if (stored != stats.channel_message_counts.end() &&
        channels_before_statistics_.count(channel) == 0) {
      warn(at, "Statistics counts channel " + text(channel) +
                   ", but no summary Channel record for it comes before the Statistics record");
    }
  }
}

}  // namespace mcaprec::mcap::verify_detail
