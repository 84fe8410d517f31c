// scan: a linear walk from the Header that keeps the longest prefix of complete, valid records
// and rebuilds what a summary needs for it. Used by recovery, so it must accept any bytes.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/read_checks.hpp"
#include "mcap/reader.hpp"
#include "mcap/scan_chunks.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {

namespace {

using detail::ChunkCheck;
using detail::ChunkMessage;
using detail::ChunkPrefetcher;

constexpr uint32_t kNoRun = UINT32_MAX;   // a channel id with no messages in the chunk
constexpr uint64_t kIndexEntrySize = 16;  // (log_time, offset) in a Message Index

// The messages of one channel in the chunk being checked: entries [begin, begin + count) of
// Scanner::grouped_, in chunk order.
struct ChannelRun {
  uint16_t channel_id = 0;
  uint64_t begin = 0;
  uint64_t count = 0;
  bool indexed = false;  // a valid Message Index record for it was seen
};

class Scanner {
 public:
  Scanner(ByteView file, const ReadOptions& options, unsigned threads)
      : file_(file), options_(options), chunks_(file, options, threads) {}

  ScanReport run();

 private:
  // Accepts the bytes up to `end` as valid, extending the data CRC.
  void keep_until(uint64_t end) {
    crc_ = crc32_update(crc_, file_.subspan(crc_end_, end - crc_end_));
    crc_end_ = end;
    report_.valid_end = end;
  }
  // Same, when the CRC of [range_begin, range_begin + range_length) is already known.
  void keep_until(uint64_t end, uint64_t range_begin, uint64_t range_length, uint32_t range_crc) {
    crc_ = crc32_update(crc_, file_.subspan(crc_end_, range_begin - crc_end_));
    crc_ = crc32_combine(crc_, range_crc, range_length);
    crc_end_ = range_begin + range_length;
    keep_until(end);
  }
  void stop(Error error) { report_.stopped = std::move(error); }
  Error describe_unreadable(uint64_t pos, const Error& error) const;

  void note_message(uint16_t channel_id, Timestamp log_time);
  // Each returns false when the scan must stop (report_.stopped is set).
  // scan_record moves `pos` past the record it accepts; take_record keeps a record outside
  // chunks (the caller moves past it).
  bool scan_record(uint64_t& pos);
  bool take_record(const RecordFrame& frame, Record& record);
  bool take_attachment(const RecordFrame& frame, const Attachment& attachment);
  bool scan_chunk(const RecordFrame& frame, Chunk& chunk, uint64_t& pos);
  bool scan_message_indexes(size_t chunk_index, uint64_t& pos);
  void group_chunk_messages();
  // Why a Message Index record (its content) does not index the chunk's messages, if it doesn't.
  std::optional<std::string> check_message_index(ByteView content);
  // Remembers the Message Index records the chunk still lacks once its run ends at `run_end`.
  void note_unindexed(uint64_t run_end);
  // Checks the Data End record's CRC, then what follows it.
  void end_data_section(const DataEnd& data_end, uint64_t pos, uint64_t end);
  void check_tail(uint64_t data_end_offset, uint64_t data_end_end);
  void finish_statistics();

  ByteView file_;
  ReadOptions options_;
  ScanReport report_;
  uint32_t crc_ = 0;
  uint64_t crc_end_ = 0;
  ChunkPrefetcher chunks_;
  // Messages per channel id in the last chunk: a flat table, because this is the per-message
  // hot path.
  std::vector<uint64_t> chunk_counts_;
  std::vector<uint16_t> chunk_channels_;  // ids with a non-zero chunk_counts_ entry
  bool any_message_ = false;
  // Message Index checks of the last chunk: its messages, grouped per channel on demand.
  std::vector<ChunkMessage> chunk_messages_;
  std::vector<ChannelRun> runs_;
  std::vector<uint32_t> run_of_channel_;  // channel id -> index in runs_ (valid for its ids)
  std::vector<std::pair<Timestamp, uint64_t>> grouped_;
  std::vector<std::pair<Timestamp, uint64_t>> sorted_entries_;  // scratch
  bool grouped_ready_ = false;
  // Indexes the last chunk lacks and where its run ended; reported when the scan ends there.
  std::vector<MessageIndex> unindexed_;
  uint64_t unindexed_run_end_ = 0;
  bool seen_header_ = false;
  bool saw_data_end_ = false;
};

void Scanner::note_message(uint16_t channel_id, Timestamp log_time) {
  Statistics& stats = report_.statistics;
  ++stats.message_count;
  ++stats.channel_message_counts[channel_id];
  if (!any_message_ || log_time < stats.message_start_time) stats.message_start_time = log_time;
  if (!any_message_ || log_time > stats.message_end_time) stats.message_end_time = log_time;
  any_message_ = true;
}

Error Scanner::describe_unreadable(uint64_t pos, const Error& error) const {
  if (pos < file_.size() && file_[pos] == 0) {
    const ByteView rest = file_.subspan(pos);
    if (std::all_of(rest.begin(), rest.end(), [](uint8_t b) { return b == 0; })) {
      return Error{pos, "zero-filled tail: " + std::to_string(rest.size()) +
                            " zero bytes from offset " + std::to_string(pos)};
    }
    return Error{pos, "garbage at offset " + std::to_string(pos) + ": invalid opcode 0x00"};
  }
  return Error{error.offset, "truncated or garbage record at offset " + std::to_string(pos) + ": " +
                                 error.message};
}

ScanReport Scanner::run() {
  if (Status st = detail::check_leading_magic(file_); !st.ok()) {
    stop(st.error());
    finish_statistics();
    return std::move(report_);
  }
  keep_until(sizeof(kMagic));

  uint64_t pos = sizeof(kMagic);
  while (scan_record(pos)) {
  }
  // A writer that stops after DataEnd meant its chunks to be unindexed; otherwise a run cut
  // short is completed by recovery.
  if (!saw_data_end_ && !unindexed_.empty() && unindexed_run_end_ == report_.valid_end) {
    report_.missing_message_indexes = std::move(unindexed_);
  }
  finish_statistics();
  return std::move(report_);
}

bool Scanner::scan_record(uint64_t& pos) {
  if (pos == file_.size()) {
    stop(Error{pos, "file ends after the last complete record, without Data End"});
    return false;
  }
  auto frame = read_frame(file_, pos);
  if (!frame.ok()) {
    stop(describe_unreadable(pos, frame.error()));
    return false;
  }
  const auto opcode = static_cast<Opcode>(frame->opcode);
  if (!seen_header_ && opcode != Opcode::kHeader) {
    stop(Error{pos, std::string("first record is ") + opcode_name(frame->opcode) + ", not Header"});
    return false;
  }
  auto record = parse_record(*frame);
  if (!record.ok()) {
    stop(record.error());
    return false;
  }
  // A chunk takes its Message Index records with it, so it moves pos itself.
  if (opcode == Opcode::kChunk) return scan_chunk(*frame, std::get<Chunk>(*record), pos);
  if (!take_record(*frame, *record)) return false;
  pos += frame->size();
  return true;
}

bool Scanner::take_record(const RecordFrame& frame, Record& record) {
  const uint64_t pos = frame.offset;
  switch (static_cast<Opcode>(frame.opcode)) {
    case Opcode::kHeader:
      if (seen_header_) {
        stop(Error{pos, "second Header record at offset " + std::to_string(pos)});
        return false;
      }
      seen_header_ = true;
      report_.header = std::move(std::get<Header>(record));
      break;
    case Opcode::kSchema: {
      Schema& schema = std::get<Schema>(record);
      if (schema.id != 0) report_.schemas.emplace(schema.id, std::move(schema));
      break;
    }
    case Opcode::kChannel: {
      Channel& channel = std::get<Channel>(record);
      report_.channels.emplace(channel.id, std::move(channel));
      break;
    }
    case Opcode::kMessage: {
      const Message& message = std::get<Message>(record);
      note_message(message.channel_id, message.log_time);
      break;
    }
    case Opcode::kAttachment:
      if (!take_attachment(frame, std::get<Attachment>(record))) return false;
      break;
    case Opcode::kMetadata:
      report_.metadata_indexes.push_back(
          MetadataIndex{pos, frame.size(), std::get<Metadata>(record).name});
      break;
    case Opcode::kMessageIndex:
      // A Message Index away from any chunk is legal but indexes nothing: keep it as data.
      break;
    case Opcode::kDataEnd:
      end_data_section(std::get<DataEnd>(record), pos, pos + frame.size());
      return false;
    case Opcode::kFooter:
      stop(Error{pos, "Footer at offset " + std::to_string(pos) + " without a Data End record"});
      return false;
    case Opcode::kChunkIndex:
    case Opcode::kAttachmentIndex:
    case Opcode::kStatistics:
    case Opcode::kMetadataIndex:
    case Opcode::kSummaryOffset:
      stop(Error{pos, std::string(opcode_name(frame.opcode)) + " record at offset " +
                          std::to_string(pos) + " before Data End"});
      return false;
    default:
      // Future and private records are skipped by readers and kept as they are.
      break;
  }
  keep_until(pos + frame.size());
  return true;
}

bool Scanner::take_attachment(const RecordFrame& frame, const Attachment& attachment) {
  const uint64_t pos = frame.offset;
  if (options_.validate_crcs) {
    if (Status st = detail::check_attachment_crc(attachment, frame.content, pos); !st.ok()) {
      stop(st.error());
      return false;
    }
  }
  report_.attachment_indexes.push_back(
      AttachmentIndex{pos, frame.size(), attachment.log_time, attachment.create_time,
                      attachment.data.size(), attachment.name, attachment.media_type});
  return true;
}

void Scanner::end_data_section(const DataEnd& data_end, uint64_t pos, uint64_t end) {
  saw_data_end_ = true;
  if (options_.validate_crcs && data_end.data_section_crc != 0 &&
      data_end.data_section_crc != crc_) {
    stop(Error{
        pos, "Data End at offset " + std::to_string(pos) + ": data section CRC mismatch: stored " +
                 detail::hex32(data_end.data_section_crc) + ", computed " + detail::hex32(crc_)});
  } else {
    check_tail(pos, end);
  }
}

bool Scanner::scan_chunk(const RecordFrame& frame, Chunk& chunk, uint64_t& pos) {
  ChunkCheck& check = chunks_.check(frame, chunk);
  if (check.error) {
    stop(*check.error);
    return false;
  }
  // What a torn write leaves when the sectors after a chunk's first few bytes are zeros: no
  // records and no CRC to check (0 means "not computed"), but the times of the messages it had,
  // or zeros past its fields. Writers put neither in an empty chunk.
  const uint64_t field_bytes =
      8 + 8 + 8 + 4 + 4 + chunk.compression.size() + 8 + chunk.records.size();
  const bool claims_times = chunk.message_start_time != 0 || chunk.message_end_time != 0;
  if (check.messages.empty() && (claims_times || frame.content.size() > field_bytes)) {
    stop(Error{frame.offset,
               "Chunk at offset " + std::to_string(frame.offset) +
                   " holds no messages but claims the time range [" +
                   std::to_string(chunk.message_start_time) + ", " +
                   std::to_string(chunk.message_end_time) + "] or has " +
                   std::to_string(frame.content.size() -
                                  std::min<uint64_t>(frame.content.size(), field_bytes)) +
                   " bytes past its fields (a torn write?)"});
    return false;
  }

  // The chunk is valid: keep it and what it declares.
  for (Schema& schema : check.schemas) {
    if (schema.id != 0) report_.schemas.emplace(schema.id, std::move(schema));
  }
  for (Channel& channel : check.channels) {
    report_.channels.emplace(channel.id, std::move(channel));
  }
  // Sized by the largest channel id seen, not all 65536: a scan per small file stays cheap.
  for (const ChunkMessage& m : check.messages) {
    if (m.channel_id >= chunk_counts_.size()) chunk_counts_.resize(size_t{m.channel_id} + 1, 0);
  }
  chunk_channels_.clear();
  for (const ChunkMessage& m : check.messages) {
    if (chunk_counts_[m.channel_id]++ == 0) chunk_channels_.push_back(m.channel_id);
  }
  Statistics& stats = report_.statistics;
  for (uint16_t id : chunk_channels_) {
    stats.message_count += chunk_counts_[id];
    stats.channel_message_counts[id] += chunk_counts_[id];
    chunk_counts_[id] = 0;
  }
  if (!check.messages.empty()) {
    if (!any_message_ || check.start < stats.message_start_time) {
      stats.message_start_time = check.start;
    }
    if (!any_message_ || check.end > stats.message_end_time) stats.message_end_time = check.end;
    any_message_ = true;
  }
  ChunkIndex index;
  index.message_start_time = chunk.message_start_time;
  index.message_end_time = chunk.message_end_time;
  index.chunk_start_offset = frame.offset;
  index.chunk_length = frame.size();
  index.compression = chunk.compression;
  index.compressed_size = chunk.records.size();
  index.uncompressed_size = chunk.uncompressed_size;
  report_.chunk_indexes.push_back(std::move(index));

  const uint64_t chunk_end = frame.offset + frame.size();
  keep_until(chunk_end, frame.offset, frame.size(), check.record_crc);
  // Its messages stay at hand for the checks of its Message Index records.
  std::swap(chunk_messages_, check.messages);
  grouped_ready_ = false;
  unindexed_.clear();
  pos = chunk_end;
  return scan_message_indexes(report_.chunk_indexes.size() - 1, pos);
}

bool Scanner::scan_message_indexes(size_t chunk_index, uint64_t& pos) {
  const uint64_t run_start = pos;
  bool keep_going = true;
  while (pos < file_.size() && file_[pos] == static_cast<uint8_t>(Opcode::kMessageIndex)) {
    auto frame = read_frame(file_, pos);
    if (!frame.ok()) {
      stop(describe_unreadable(pos, frame.error()));
      keep_going = false;
      break;
    }
    const ByteView content = frame->content;
    if (content.size() < 6 || load_le<uint32_t>(content.data() + 2) % kIndexEntrySize != 0 ||
        load_le<uint32_t>(content.data() + 2) > content.size() - 6) {
      stop(Error{pos, "MessageIndex record at offset " + std::to_string(pos) +
                          " has an inconsistent length"});
      keep_going = false;
      break;
    }
    if (auto problem = check_message_index(content)) {
      stop(Error{pos, "MessageIndex record at offset " + std::to_string(pos) + ": " + *problem});
      keep_going = false;
      break;
    }
    ChunkIndex& index = report_.chunk_indexes[chunk_index];
    index.message_index_offsets[load_le<uint16_t>(content.data())] = pos;
    pos += frame->size();
    index.message_index_length = pos - run_start;
    keep_until(pos);
  }
  note_unindexed(pos);
  return keep_going;
}

void Scanner::group_chunk_messages() {
  if (grouped_ready_) return;
  grouped_ready_ = true;
  for (const ChunkMessage& m : chunk_messages_) {
    if (m.channel_id >= chunk_counts_.size()) chunk_counts_.resize(size_t{m.channel_id} + 1, 0);
  }
  if (run_of_channel_.size() < chunk_counts_.size()) run_of_channel_.resize(chunk_counts_.size());
  std::vector<uint16_t> ids = chunk_channels_;
  std::sort(ids.begin(), ids.end());
  runs_.clear();
  for (uint16_t id : ids) {
    run_of_channel_[id] = static_cast<uint32_t>(runs_.size());
    runs_.push_back(ChannelRun{id, 0, 0, false});
  }
  for (const ChunkMessage& m : chunk_messages_) ++runs_[run_of_channel_[m.channel_id]].count;
  uint64_t begin = 0;
  for (ChannelRun& run : runs_) {
    run.begin = begin;
    begin += run.count;
  }
  grouped_.resize(begin);
  std::vector<uint64_t>& cursor = chunk_counts_;  // all zero between chunks; reused as cursors
  for (const ChunkMessage& m : chunk_messages_) {
    const ChannelRun& run = runs_[run_of_channel_[m.channel_id]];
    grouped_[run.begin + cursor[m.channel_id]++] = {m.log_time, m.offset};
  }
  for (uint16_t id : ids) cursor[id] = 0;
}

std::optional<std::string> Scanner::check_message_index(ByteView content) {
  group_chunk_messages();
  const uint16_t channel_id = load_le<uint16_t>(content.data());
  const uint64_t count = load_le<uint32_t>(content.data() + 2) / kIndexEntrySize;
  const uint8_t* entries = content.data() + 6;
  const uint32_t slot = channel_id < run_of_channel_.size() ? run_of_channel_[channel_id] : kNoRun;
  const bool has_messages = slot < runs_.size() && runs_[slot].channel_id == channel_id;
  if (!has_messages) {
    if (count == 0) return std::nullopt;
    return "indexes channel " + std::to_string(channel_id) +
           ", which has no message in the chunk before it";
  }
  ChannelRun& run = runs_[slot];
  const std::string channel = "channel " + std::to_string(channel_id);
  if (run.indexed) return "a second Message Index for " + channel;
  if (count != run.count) {
    return "holds " + std::to_string(count) + " entries for the " + std::to_string(run.count) +
           " messages on " + channel + " in the chunk before it";
  }
  const auto expected = std::span(grouped_).subspan(run.begin, run.count);
  bool same = true;
  for (uint64_t i = 0; i < count && same; ++i) {
    same = load_le<uint64_t>(entries + i * kIndexEntrySize) == expected[i].first &&
           load_le<uint64_t>(entries + i * kIndexEntrySize + 8) == expected[i].second;
  }
  if (!same) {
    // Writers may order entries by time rather than by position: compare as sets.
    sorted_entries_.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      sorted_entries_[i] = {load_le<uint64_t>(entries + i * kIndexEntrySize),
                            load_le<uint64_t>(entries + i * kIndexEntrySize + 8)};
    }
    std::sort(sorted_entries_.begin(), sorted_entries_.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    if (!std::equal(sorted_entries_.begin(), sorted_entries_.end(), expected.begin())) {
      return "its entries do not match the messages on " + channel + " in the chunk before it";
    }
  }
  run.indexed = true;
  return std::nullopt;
}

void Scanner::note_unindexed(uint64_t run_end) {
  unindexed_.clear();
  group_chunk_messages();
  for (const ChannelRun& run : runs_) {
    if (run.indexed) continue;
    MessageIndex index;
    index.channel_id = run.channel_id;
    const auto entries = std::span(grouped_).subspan(run.begin, run.count);
    index.records.assign(entries.begin(), entries.end());
    unindexed_.push_back(std::move(index));
  }
  unindexed_run_end_ = run_end;
}

void Scanner::check_tail(uint64_t data_end_offset, uint64_t data_end_end) {
  const uint64_t tail = kFooterRecordSize + sizeof(kMagic);
  const uint64_t left = file_.size() - data_end_end;
  // A file without summary records: Data End, Footer (summary_start 0), magic.
  if (left == tail && file_[data_end_end] == static_cast<uint8_t>(Opcode::kFooter) &&
      load_le<uint64_t>(file_.data() + data_end_end + 1) == 20 &&
      load_le<uint64_t>(file_.data() + data_end_end + kRecordPrefixSize) == 0) {
    ByteReader reader(file_.subspan(data_end_end + kRecordPrefixSize, 20));
    Footer footer;
    reader.le(footer.summary_start);
    reader.le(footer.summary_offset_start);
    reader.le(footer.summary_crc);
    if (footer.summary_offset_start != 0) {
      stop(Error{data_end_end, "Footer has no summary but summary_offset_start " +
                                   std::to_string(footer.summary_offset_start)});
      return;
    }
    if (options_.validate_crcs && footer.summary_crc != 0) {
      const uint32_t computed = crc32(file_.subspan(data_end_end, kRecordPrefixSize + 16));
      if (computed != footer.summary_crc) {
        stop(Error{data_end_end, "summary CRC mismatch: stored " +
                                     detail::hex32(footer.summary_crc) + ", computed " +
                                     detail::hex32(computed)});
        return;
      }
    }
    if (!detail::is_magic_at(file_, data_end_end + kFooterRecordSize)) {
      stop(Error{data_end_end + kFooterRecordSize, "bad trailing magic after the Footer"});
      return;
    }
    report_.complete = true;
    return;
  }
  auto summary = read_summary(file_, options_.validate_crcs);
  if (!summary.ok()) {
    stop(Error{summary.error().offset, "after Data End at offset " +
                                           std::to_string(data_end_offset) + ": " +
                                           summary.error().message});
    return;
  }
  if (summary->footer.summary_start != data_end_end) {
    stop(Error{data_end_end, "summary_start " + std::to_string(summary->footer.summary_start) +
                                 " does not follow Data End (expected " +
                                 std::to_string(data_end_end) + ")"});
    return;
  }
  report_.complete = true;
}

void Scanner::finish_statistics() {
  Statistics& stats = report_.statistics;
  stats.schema_count = static_cast<uint16_t>(report_.schemas.size());
  stats.channel_count = static_cast<uint32_t>(report_.channels.size());
  stats.attachment_count = static_cast<uint32_t>(report_.attachment_indexes.size());
  stats.metadata_count = static_cast<uint32_t>(report_.metadata_indexes.size());
  stats.chunk_count = static_cast<uint32_t>(report_.chunk_indexes.size());
  report_.data_crc = crc_;
}

}  // namespace

ScanReport scan(ByteView file, ReadOptions options) {
  return Scanner(file, options, 1).run();
}

ScanReport scan(ByteView file, ReadOptions options, unsigned threads) {
  return Scanner(file, options, threads).run();
}

}  // namespace mcaprec::mcap
