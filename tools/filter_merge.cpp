#include "filter_merge.hpp"

#include <algorithm>
#include <queue>
#include <set>
#include <tuple>

#include "filter_channels.hpp"
#include "mcap/crc32.hpp"
#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::tool {

bool Selection::keeps_topic(const std::string& topic) const {
  if (topics && !std::regex_search(topic, *topics)) return false;
  return !(exclude && std::regex_search(topic, *exclude));
}

namespace {

using mcap::Error;
using mcap::Status;

// Metadata and attachments, each written once however many inputs hold it (the recorder
// repeats the same session facts in every file).
class Extras {
 public:
  Status metadata(const mcap::Metadata& record, mcap::Writer& writer, FilterCounts& counts) {
    std::string key = record.name;
    for (const auto& [name, value] : record.metadata) key += '\0' + name + '\0' + value;
    if (!seen_.insert("m" + key).second) return {};
    ++counts.metadata;
    return writer.write_metadata(record);
  }
  Status attachment(const mcap::Attachment& record, const Selection& selection,
                    mcap::Writer& writer, FilterCounts& counts) {
    if (!selection.keeps_time(record.log_time)) return {};
    const std::string key = "a" + record.name + '\0' + std::to_string(record.log_time) + '\0' +
                            std::to_string(record.data.size()) + '\0' + std::to_string(record.crc);
    if (!seen_.insert(key).second) return {};
    ++counts.attachments;
    return writer.write_attachment(record);
  }

 private:
  std::set<std::string> seen_;
};

struct Context {
  const Selection& selection;
  mcap::Writer& writer;
  FilterCounts& counts;
  OutputIds ids;
  Extras extras;
};

Status write_message(Context& cx, InputChannels& input, const mcap::Message& message) {
  if (!cx.selection.keeps_time(message.log_time)) return {};
  auto mapped = input.map(message.channel_id, cx.selection, cx.ids);
  if (!mapped) return mapped.error();
  if (!mapped->out_id) return {};
  mcap::Message out = message;
  out.channel_id = *mapped->out_id;
  ++cx.counts.messages;
  return cx.writer.write_message(out);
}

// Declarations, metadata and attachments of a record outside chunks, or met inside one.
Status other_record(Context& cx, InputChannels& input, const mcap::Record& record) {
  if (const auto* schema = std::get_if<mcap::Schema>(&record)) {
    input.add_schema(*schema);
  } else if (const auto* channel = std::get_if<mcap::Channel>(&record)) {
    input.add_channel(*channel);
  } else if (const auto* metadata = std::get_if<mcap::Metadata>(&record)) {
    return cx.extras.metadata(*metadata, cx.writer, cx.counts);
  } else if (const auto* attachment = std::get_if<mcap::Attachment>(&record)) {
    return cx.extras.attachment(*attachment, cx.selection, cx.writer, cx.counts);
  }
  return {};
}

// ---- a file alone in its time range: chunk by chunk

struct ChunkAtHand {
  mcap::RecordFrame frame;  // the Chunk record
  mcap::Chunk chunk;
  std::vector<mcap::RecordFrame> indexes;  // the Message Index records right after it
};

// The chunk as the writer appends encoded chunks, built from its bytes in `file`.
Status as_encoded(mcap::ByteView file, const ChunkAtHand& at, uint64_t messages,
                  mcap::EncodedChunk& out) {
  const uint64_t begin = at.frame.offset;
  const uint64_t end = at.indexes.empty() ? begin + at.frame.size()
                                          : at.indexes.back().offset + at.indexes.back().size();
  out = {};
  out.bytes.assign(file.begin() + static_cast<ptrdiff_t>(begin),
                   file.begin() + static_cast<ptrdiff_t>(end));
  out.chunk_record_size = at.frame.size();
  out.message_index_length = end - begin - out.chunk_record_size;
  for (const mcap::RecordFrame& frame : at.indexes) {
    auto record = mcap::parse_record(frame);
    if (!record) return record.error();
    const auto& index = std::get<mcap::MessageIndex>(*record);
    out.message_index_offsets.emplace_back(index.channel_id, frame.offset - begin);
    out.message_counts.emplace_back(index.channel_id, index.records.size());
  }
  std::sort(out.message_index_offsets.begin(), out.message_index_offsets.end());
  std::sort(out.message_counts.begin(), out.message_counts.end());
  out.message_start_time = at.chunk.message_start_time;
  out.message_end_time = at.chunk.message_end_time;
  out.compression = at.chunk.compression;
  out.compressed_size = at.chunk.records.size();
  out.uncompressed_size = at.chunk.uncompressed_size;
  out.crc = mcap::crc32(out.bytes);
  out.message_count = messages;
  return {};
}

class AloneFilter {
 public:
  AloneFilter(Context& cx, mcap::ByteView file) : cx_(cx), file_(file) {}

  Status run() {
    // With the summary's declarations known, chunks outside the time range need not be opened.
    if (auto summary = mcap::read_summary(file_); summary) {
      for (const auto& [id, schema] : summary->schemas) input_.add_schema(schema);
      for (const auto& [id, channel] : summary->channels) input_.add_channel(channel);
      may_skip_ = true;
    }
    for (uint64_t pos = sizeof(mcap::kMagic);;) {
      auto frame = mcap::read_frame(file_, pos);
      if (!frame) return frame.error();
      const auto opcode = static_cast<mcap::Opcode>(frame->opcode);
      if (opcode == mcap::Opcode::kDataEnd || opcode == mcap::Opcode::kFooter) return {};
      pos += frame->size();
      if (opcode == mcap::Opcode::kChunk) {
        if (Status s = chunk_at(*frame, pos); !s) return s;
        continue;
      }
      if (opcode == mcap::Opcode::kHeader || opcode == mcap::Opcode::kMessageIndex) continue;
      auto record = mcap::parse_record(*frame);
      if (!record) return record.error();
      Status s = std::holds_alternative<mcap::Message>(*record)
                     ? write_message(cx_, input_, std::get<mcap::Message>(*record))
                     : other_record(cx_, input_, *record);
      if (!s) return s;
    }
  }

 private:
  // The chunk in `frame` and the Message Index records after it, which `pos` moves past.
  Status chunk_at(const mcap::RecordFrame& frame, uint64_t& pos) {
    auto record = mcap::parse_record(frame);
    if (!record) return record.error();
    ChunkAtHand at{frame, std::get<mcap::Chunk>(*record), {}};
    while (pos < file_.size() && file_[pos] == static_cast<uint8_t>(mcap::Opcode::kMessageIndex)) {
      auto index = mcap::read_frame(file_, pos);
      if (!index) return index.error();
      at.indexes.push_back(*index);
      pos += index->size();
    }
    const Selection& selection = cx_.selection;
    if (may_skip_ && (at.chunk.message_end_time < selection.start ||
                      at.chunk.message_start_time >= selection.end)) {
      return {};
    }
    return filter_chunk(at);
  }

  Status decompress(const ChunkAtHand& at) {
    const mcap::Chunk& chunk = at.chunk;
    if (Status s = decompressor_.decompress(chunk.compression, chunk.records,
                                            chunk.uncompressed_size, records_);
        !s) {
      return Error{at.frame.offset, "chunk: " + s.error().message};
    }
    if (chunk.uncompressed_crc != 0 && mcap::crc32(records_) != chunk.uncompressed_crc) {
      return Error{at.frame.offset, "chunk: CRC mismatch"};
    }
    return {};
  }

  // Copies the chunk when all of it is kept as it is, else writes what it keeps message by
  // message into the writer's own chunks.
  Status filter_chunk(const ChunkAtHand& at) {
    if (Status s = decompress(at); !s) return s;
    bool copy = true;
    selected_.clear();
    for (uint64_t pos = 0; pos < records_.size();) {
      auto frame = mcap::read_frame(records_, pos, at.frame.offset);
      if (!frame) return frame.error();
      pos += frame->size();
      auto record = mcap::parse_record(*frame);
      if (!record) return record.error();
      const auto* message = std::get_if<mcap::Message>(&*record);
      if (message == nullptr) {
        copy = false;  // declarations in a chunk may not match the output's
        if (Status s = other_record(cx_, input_, *record); !s) return s;
        continue;
      }
      if (!cx_.selection.keeps_time(message->log_time)) {
        copy = false;
        continue;
      }
      auto mapped = input_.map(message->channel_id, cx_.selection, cx_.ids);
      if (!mapped) return Error{at.frame.offset, mapped.error().message};
      if (!mapped->out_id) {
        copy = false;
        continue;
      }
      copy = copy && mapped->same_ids;
      selected_.push_back(*message);
      selected_.back().channel_id = *mapped->out_id;
    }
    if (selected_.empty()) return {};
    if (copy && indexed_count(at) == selected_.size()) return copy_chunk(at);
    ++cx_.counts.rewritten_chunks;
    for (const mcap::Message& message : selected_) {
      if (Status s = cx_.writer.write_message(message); !s) return s;
      ++cx_.counts.messages;
    }
    return {};
  }

  // The messages the chunk's Message Index records list (0 when one cannot be read).
  static uint64_t indexed_count(const ChunkAtHand& at) {
    uint64_t count = 0;
    for (const mcap::RecordFrame& frame : at.indexes) {
      auto record = mcap::parse_record(frame);
      if (!record) return 0;
      count += std::get<mcap::MessageIndex>(*record).records.size();
    }
    return count;
  }

  Status copy_chunk(const ChunkAtHand& at) {
    if (Status s = as_encoded(file_, at, selected_.size(), encoded_); !s) return s;
    if (Status s = cx_.writer.write_encoded_chunk(encoded_); !s) return s;
    ++cx_.counts.copied_chunks;
    cx_.counts.messages += selected_.size();
    return {};
  }

  Context& cx_;
  mcap::ByteView file_;
  InputChannels input_;
  bool may_skip_ = false;
  mcap::Decompressor decompressor_;
  mcap::Bytes records_;
  std::vector<mcap::Message> selected_;
  mcap::EncodedChunk encoded_;
};

// ---- files that overlap in time: message by message, by log time

struct Cursor {
  explicit Cursor(mcap::ByteView file) : reader(file) {}
  mcap::StreamReader reader;
  InputChannels input;
  std::optional<mcap::Message> current;  // its data stays valid until the reader moves on
};

// Moves `cursor` to its next message in the time range, handling what comes before it.
Status advance(Context& cx, Cursor& cursor) {
  cursor.current.reset();
  while (true) {
    auto item = cursor.reader.next();
    if (!item) return item.error();
    if (!*item) return {};
    const mcap::Record& record = (*item)->record;
    if (std::holds_alternative<mcap::DataEnd>(record)) return {};
    if (const auto* message = std::get_if<mcap::Message>(&record)) {
      if (!cx.selection.keeps_time(message->log_time)) continue;
      cursor.current = *message;
      return {};
    }
    if (Status s = other_record(cx, cursor.input, record); !s) return s;
  }
}

Status merge(Context& cx, const std::vector<const SessionFile*>& files) {
  std::vector<std::unique_ptr<Cursor>> cursors;
  for (const SessionFile* file : files) {
    cursors.push_back(std::make_unique<Cursor>(file->mapped.bytes()));
    if (Status s = advance(cx, *cursors.back()); !s)
      return Error{0, file->path + ": " + s.error().to_string()};
  }
  using Entry = std::tuple<uint64_t, size_t>;  // (log time, cursor), earliest first
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> next;
  for (size_t i = 0; i < cursors.size(); ++i) {
    if (cursors[i]->current) next.emplace(cursors[i]->current->log_time, i);
  }
  while (!next.empty()) {
    const size_t i = std::get<1>(next.top());
    next.pop();
    Cursor& cursor = *cursors[i];
    if (Status s = write_message(cx, cursor.input, *cursor.current); !s) return s;
    if (Status s = advance(cx, cursor); !s) {
      return Error{0, files[i]->path + ": " + s.error().to_string()};
    }
    if (cursor.current) next.emplace(cursor.current->log_time, i);
  }
  return {};
}

}  // namespace

Status filter_into(const std::vector<SessionFile>& files, const Selection& selection,
                   mcap::Writer& writer, FilterCounts& counts) {
  Context cx{selection, writer, counts, OutputIds(writer), {}};
  // Runs of files overlapping in time (files come by first message time).
  for (size_t first = 0; first < files.size();) {
    size_t last = first;
    uint64_t run_end = files[first].info.message_end_time;
    while (last + 1 < files.size() && files[last + 1].info.message_count > 0 &&
           files[last + 1].info.message_start_time < run_end) {
      ++last;
      run_end = std::max(run_end, files[last].info.message_end_time);
    }
    if (first == last) {
      AloneFilter alone(cx, files[first].mapped.bytes());
      if (Status s = alone.run(); !s) {
        return Error{0, files[first].path + ": " + s.error().to_string()};
      }
    } else {
      std::vector<const SessionFile*> run;
      for (size_t i = first; i <= last; ++i) run.push_back(&files[i]);
      if (Status s = merge(cx, run); !s) return s;
    }
    first = last + 1;
  }
  return {};
}

}  // namespace mcaprec::tool
