#include "mcap/writer.hpp"

#include <algorithm>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {

std::string default_library_name() {
  return "mcaprec/" MCAPREC_VERSION;
}

Result<std::unique_ptr<Writer>> Writer::open(std::unique_ptr<ByteSink> sink,
                                             WriterOptions options) {
  if (!sink) return Error{0, "writer needs a sink"};
  if (options.use_chunks && options.chunk_size == 0) {
    return Error{0, "chunk_size must be greater than 0"};
  }
  std::unique_ptr<Writer> writer(new Writer(std::move(sink), std::move(options)));
  if (Status s = writer->append(ByteView(kMagic, sizeof(kMagic))); !s) return s.error();
  Header header{writer->options_.profile, writer->options_.library};
  if (Status s = writer->append_record_now(header); !s) return s.error();
  return writer;
}

namespace {

// Chunk index room reserved when a writer opens: a 2 GiB file of 1 MiB chunks fits, so a
// recording grows these vectors rarely if ever (about 460 KiB of address space, mostly never
// touched).
constexpr size_t kReservedChunkIndexes = 2048;
constexpr size_t kReservedMessageIndexOffsets = 8 * kReservedChunkIndexes;

}  // namespace

Writer::Writer(std::unique_ptr<ByteSink> sink, WriterOptions options)
    : sink_(std::move(sink)), options_(std::move(options)) {
  if (options_.chunk_indexes) {
    chunk_index_entries_.reserve(kReservedChunkIndexes);
    chunk_message_index_offsets_.reserve(kReservedMessageIndexOffsets);
  }
}

Writer::~Writer() {
  // A writer dropped without close() still leaves a complete file when it can.
  if (!closed_ && !failed_) (void)close();
}

Status Writer::usable() const {
  if (failed_) return Error{offset_, "writer failed earlier: " + failure_};
  if (closed_) return Error{offset_, "writer is closed"};
  return {};
}

Status Writer::fail(Error error) {
  failed_ = true;
  failure_ = error.to_string();
  return error;
}

Status Writer::append(ByteView bytes) {
  if (Status s = sink_->write(bytes); !s) return fail(s.error());
  offset_ += bytes.size();
  if (options_.data_section_crc) data_crc_ = crc32_update(data_crc_, bytes);
  return {};
}

Status Writer::append_record_now(const Record& record) {
  scratch_.clear();
  append_record(scratch_, record);
  return append(scratch_);
}

void Writer::note_message(uint16_t channel_id, Timestamp log_time, uint64_t count) {
  if (stats_.message_count == 0) {
    stats_.message_start_time = log_time;
    stats_.message_end_time = log_time;
  } else {
    stats_.message_start_time = std::min(stats_.message_start_time, log_time);
    stats_.message_end_time = std::max(stats_.message_end_time, log_time);
  }
  stats_.message_count += count;
  stats_.channel_message_counts[channel_id] += count;
}

Status Writer::add_schema(const Schema& schema) {
  if (Status s = usable(); !s) return s;
  if (schema.id == 0) return Error{offset_, "schema id 0 is reserved for \"no schema\""};
  auto [it, inserted] = schemas_.try_emplace(schema.id, schema);
  if (inserted && checkpoint_) schemas_since_checkpoint_.push_back(schema.id);
  if (!inserted) {
    const Schema& known = it->second;
    if (known.name != schema.name || known.encoding != schema.encoding ||
        known.data != schema.data) {
      return Error{offset_, "schema " + std::to_string(schema.id) +
                                " was already added with different content"};
    }
  }
  stats_.schema_count = static_cast<uint16_t>(schemas_.size());
  if (options_.use_chunks) {
    chunk_.add_record(schema);
    return {};
  }
  return append_record_now(schema);
}

Status Writer::add_channel(const Channel& channel) {
  if (Status s = usable(); !s) return s;
  if (channel.schema_id != 0 && schemas_.count(channel.schema_id) == 0) {
    return Error{offset_, "channel " + std::to_string(channel.id) + " (\"" + channel.topic +
                              "\") refers to unknown schema " + std::to_string(channel.schema_id)};
  }
  auto [it, inserted] = channels_.try_emplace(channel.id, channel);
  if (inserted && checkpoint_) channels_since_checkpoint_.push_back(channel.id);
  if (!inserted) {
    const Channel& known = it->second;
    if (known.schema_id != channel.schema_id || known.topic != channel.topic ||
        known.message_encoding != channel.message_encoding || known.metadata != channel.metadata) {
      return Error{offset_, "channel " + std::to_string(channel.id) +
                                " was already added with different content"};
    }
  }
  stats_.channel_count = static_cast<uint32_t>(channels_.size());
  if (options_.use_chunks) {
    chunk_.add_record(channel);
    return {};
  }
  return append_record_now(channel);
}

Status Writer::write_message(const Message& message) {
  if (Status s = usable(); !s) return s;
  if (channels_.count(message.channel_id) == 0) {
    return Error{offset_, "message on unknown channel " + std::to_string(message.channel_id)};
  }
  note_message(message.channel_id, message.log_time, 1);
  if (!options_.use_chunks) return append_record_now(message);
  chunk_.add_message(message);
  if (chunk_.size() >= options_.chunk_size) return flush_chunk();
  return {};
}

// Written in three parts so that a large attachment is never copied: fields, data, CRC.
Status Writer::write_attachment(const Attachment& attachment) {
  if (Status s = flush_chunk(); !s) return s;
  const uint64_t at = offset_;
  const uint64_t covered = attachment_crc_covered_length(attachment);
  scratch_.clear();
  put_u8(scratch_, static_cast<uint8_t>(Opcode::kAttachment));
  put_le<uint64_t>(scratch_, covered + 4);
  put_le(scratch_, attachment.log_time);
  put_le(scratch_, attachment.create_time);
  put_string(scratch_, attachment.name);
  put_string(scratch_, attachment.media_type);
  put_le<uint64_t>(scratch_, attachment.data.size());
  uint32_t crc = 0;
  if (options_.attachment_crc) {
    crc = crc32_update(crc32(ByteView(scratch_).subspan(kRecordPrefixSize)), attachment.data);
  }
  if (Status s = append(scratch_); !s) return s;
  if (Status s = append(attachment.data); !s) return s;
  uint8_t crc_bytes[4];
  store_le(crc_bytes, crc);
  if (Status s = append(ByteView(crc_bytes, 4)); !s) return s;
  attachment_indexes_.push_back(AttachmentIndex{at, offset_ - at, attachment.log_time,
                                                attachment.create_time, attachment.data.size(),
                                                attachment.name, attachment.media_type});
  ++stats_.attachment_count;
  return {};
}

Status Writer::write_metadata(const Metadata& metadata) {
  if (Status s = flush_chunk(); !s) return s;
  const uint64_t at = offset_;
  if (Status s = append_record_now(metadata); !s) return s;
  metadata_indexes_.push_back(MetadataIndex{at, offset_ - at, metadata.name});
  ++stats_.metadata_count;
  return {};
}

Status Writer::write_encoded_chunk(const EncodedChunk& chunk) {
  if (Status s = flush_chunk(); !s) return s;
  for (const auto& [channel_id, count] : chunk.message_counts) {
    if (channels_.count(channel_id) == 0) {
      return Error{offset_,
                   "encoded chunk holds messages on unknown channel " + std::to_string(channel_id)};
    }
  }
  if (chunk.bytes.empty()) return {};
  if (Status s = append_chunk(chunk); !s) return s;
  for (const auto& [channel_id, count] : chunk.message_counts) {
    note_message(channel_id, chunk.message_start_time, count);
  }
  if (chunk.message_count > 0) {
    stats_.message_end_time = std::max(stats_.message_end_time, chunk.message_end_time);
  }
  return {};
}

Status Writer::flush_chunk() {
  if (Status s = usable(); !s) return s;
  if (chunk_.empty()) return {};
  ChunkEncodeOptions encode;
  encode.compression = options_.compression;
  encode.level = options_.compression_level;
  encode.chunk_crc = options_.chunk_crc;
  encode.message_indexes = options_.message_indexes;
  encode.data_crc = options_.data_section_crc;
  if (Status s = encode_chunk(chunk_, encode, compressor_, encoded_); !s) {
    return fail(Error{offset_, "cannot encode chunk: " + s.error().message});
  }
  chunk_.clear();
  return append_chunk(encoded_);
}

// Appends chunk bytes whose CRC the encoder already computed, so they are never read twice.
Status Writer::append_chunk(const EncodedChunk& chunk) {
  const uint64_t at = offset_;
  chunk_views(chunk, gathered_);
  if (Status s = sink_->write_gathered(gathered_); !s) return fail(s.error());
  offset_ += chunk.file_size();
  if (options_.data_section_crc) {
    data_crc_ = crc32_combine(data_crc_, chunk.crc, chunk.file_size());
  }
  if (options_.chunk_indexes) {
    ChunkIndexEntry& index = chunk_index_entries_.emplace_back();
    index.message_start_time = chunk.message_start_time;
    index.message_end_time = chunk.message_end_time;
    index.chunk_start_offset = at;
    index.chunk_length = chunk.chunk_record_size;
    index.message_index_length = chunk.message_index_length;
    index.compression = chunk.compression;
    index.compressed_size = chunk.compressed_size;
    index.uncompressed_size = chunk.uncompressed_size;
    index.offsets_begin = chunk_message_index_offsets_.size();
    for (const auto& [channel_id, relative] : chunk.message_index_offsets) {
      chunk_message_index_offsets_.emplace_back(channel_id, at + relative);
    }
    index.offsets_end = chunk_message_index_offsets_.size();
  }
  ++stats_.chunk_count;
  return {};
}

Status Writer::close() {
  if (closed_) return {};
  if (Status s = flush_chunk(); !s) return s;
  data_end_offset_ = offset_;
  data_crc_before_end_ = data_crc_;
  const DataEnd data_end{options_.data_section_crc ? data_crc_ : 0};
  if (Status s = append_record_now(data_end); !s) return s;
  if (Status s = write_summary(); !s) return s;
  closed_ = true;
  if (Status s = sink_->flush(); !s) return fail(s.error());
  return {};
}

Status Writer::flush() {
  if (Status s = usable(); !s) return s;
  if (Status s = sink_->flush(); !s) return fail(s.error());
  return {};
}

void Writer::checkpoint() {
  schemas_since_checkpoint_.clear();
  channels_since_checkpoint_.clear();
  // Assigned field by field into the one checkpoint kept: copying the statistics' channel map
  // onto the previous copy reuses its nodes, so a checkpoint per chunk does not allocate.
  if (!checkpoint_) checkpoint_ = Checkpoint{};
  checkpoint_->offset = offset_;
  checkpoint_->data_crc = data_crc_;
  checkpoint_->chunk_indexes = chunk_index_entries_.size();
  checkpoint_->attachment_indexes = attachment_indexes_.size();
  checkpoint_->metadata_indexes = metadata_indexes_.size();
  checkpoint_->stats = stats_;
}

Status Writer::rewind_after_failure() {
  if (!failed_) return {};
  if (checkpoint_) {
    offset_ = checkpoint_->offset;
    data_crc_ = checkpoint_->data_crc;
    chunk_index_entries_.resize(checkpoint_->chunk_indexes);
    chunk_message_index_offsets_.resize(
        chunk_index_entries_.empty() ? 0 : chunk_index_entries_.back().offsets_end);
    attachment_indexes_.resize(checkpoint_->attachment_indexes);
    metadata_indexes_.resize(checkpoint_->metadata_indexes);
    stats_ = checkpoint_->stats;
    for (uint16_t id : schemas_since_checkpoint_) schemas_.erase(id);
    for (uint16_t id : channels_since_checkpoint_) channels_.erase(id);
  } else if (data_end_offset_ != 0 && offset_ > data_end_offset_) {
    // offset_ only counts what the sink accepted; a failed close() had got past Data End.
    offset_ = data_end_offset_;
    data_crc_ = data_crc_before_end_;
  }
  chunk_.clear();
  if (Status s = sink_->truncate(offset_); !s) {
    return Error{offset_, "cannot cut the file back to " + std::to_string(offset_) +
                              " bytes: " + s.error().message};
  }
  closed_ = false;
  failed_ = false;
  failure_.clear();
  return {};
}

// Summary groups, summary offsets, Footer and Magic, assembled in one buffer so that the summary
// CRC is computed while the bytes are at hand.
Status Writer::write_summary() {
  const uint64_t summary_start = offset_;
  Bytes summary;
  const std::vector<SummaryOffset> offsets = append_summary_groups(summary, summary_start);
  const bool has_summary = !summary.empty();
  const uint64_t offsets_start = summary_start + summary.size();
  if (options_.summary_offsets) {
    for (const SummaryOffset& offset : offsets) append_record(summary, offset);
  }
  const bool has_offsets = summary_start + summary.size() > offsets_start;

  Footer footer{has_summary ? summary_start : 0, has_offsets ? offsets_start : 0, 0};
  append_record(summary, footer);
  if (options_.summary_crc) {
    // Covers everything from the summary start through the Footer's summary_offset_start.
    const uint32_t crc = crc32(ByteView(summary).first(summary.size() - 4));
    store_le<uint32_t>(summary.data() + summary.size() - 4, crc);
  }
  summary.insert(summary.end(), std::begin(kMagic), std::end(kMagic));
  return append(summary);
}

std::vector<SummaryOffset> Writer::append_summary_groups(Bytes& summary,
                                                         uint64_t summary_start) const {
  std::vector<SummaryOffset> offsets;
  auto group = [&](Opcode opcode, auto&& write_records) {
    const uint64_t start = summary.size();
    write_records();
    if (summary.size() > start) {
      offsets.push_back(SummaryOffset{static_cast<uint8_t>(opcode), summary_start + start,
                                      summary.size() - start});
    }
  };
  if (options_.repeat_schemas) {
    group(Opcode::kSchema, [&] {
      for (const auto& [id, schema] : schemas_) append_record(summary, schema);
    });
  }
  if (options_.repeat_channels) {
    group(Opcode::kChannel, [&] {
      for (const auto& [id, channel] : channels_) append_record(summary, channel);
    });
  }
  if (options_.statistics) {
    group(Opcode::kStatistics, [&] { append_record(summary, stats_); });
  }
  if (options_.metadata_indexes) {
    group(Opcode::kMetadataIndex, [&] {
      for (const MetadataIndex& index : metadata_indexes_) append_record(summary, index);
    });
  }
  if (options_.attachment_indexes) {
    group(Opcode::kAttachmentIndex, [&] {
      for (const AttachmentIndex& index : attachment_indexes_) append_record(summary, index);
    });
  }
  if (options_.chunk_indexes) {
    group(Opcode::kChunkIndex, [&] { append_chunk_indexes(summary); });
  }
  return offsets;
}

void Writer::append_chunk_indexes(Bytes& summary) const {
  ChunkIndex record;
  for (const ChunkIndexEntry& entry : chunk_index_entries_) {
    record.message_start_time = entry.message_start_time;
    record.message_end_time = entry.message_end_time;
    record.chunk_start_offset = entry.chunk_start_offset;
    record.chunk_length = entry.chunk_length;
    record.message_index_offsets.clear();
    for (size_t i = entry.offsets_begin; i < entry.offsets_end; ++i) {
      record.message_index_offsets.insert(chunk_message_index_offsets_[i]);
    }
    record.message_index_length = entry.message_index_length;
    record.compression = entry.compression;
    record.compressed_size = entry.compressed_size;
    record.uncompressed_size = entry.uncompressed_size;
    append_record(summary, record);
  }
}

}  // namespace mcaprec::mcap
