#include "mcap/channel_bytes.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {
namespace {

constexpr uint64_t kMessageOverhead = kRecordPrefixSize + kMessageHeaderSize;

// Adds the payload sizes of one chunk's messages, from its Message Index records. Returns the
// number of messages indexed, or nullopt when an index record cannot be read.
std::optional<uint64_t> add_chunk(ByteView file, const ChunkIndex& chunk,
                                  std::map<uint16_t, uint64_t>& bytes) {
  std::vector<std::pair<uint64_t, uint16_t>> starts;  // (offset in chunk, channel)
  for (const auto& [channel, at] : chunk.message_index_offsets) {
    auto frame = read_frame(file, at);
    if (!frame || frame->opcode != static_cast<uint8_t>(Opcode::kMessageIndex)) return {};
    auto record = parse_record(*frame);
    if (!record) return {};
    const auto* index = std::get_if<MessageIndex>(&*record);
    if (index == nullptr) return {};
    for (const auto& entry : index->records) starts.emplace_back(entry.second, channel);
  }
  std::sort(starts.begin(), starts.end());
  for (size_t i = 0; i < starts.size(); ++i) {
    const uint64_t end = i + 1 < starts.size() ? starts[i + 1].first : chunk.uncompressed_size;
    const uint64_t record = end > starts[i].first ? end - starts[i].first : 0;
    bytes[starts[i].second] += record > kMessageOverhead ? record - kMessageOverhead : 0;
  }
  return starts.size();
}

std::optional<std::map<uint16_t, uint64_t>> from_indexes(ByteView file) {
  auto summary = read_summary(file);
  if (!summary || !summary->statistics) return {};
  if (summary->statistics->chunk_count != summary->chunk_indexes.size()) return {};
  std::map<uint16_t, uint64_t> bytes;
  uint64_t indexed = 0;
  for (const ChunkIndex& chunk : summary->chunk_indexes) {
    auto count = add_chunk(file, chunk, bytes);
    if (!count) return {};
    indexed += *count;
  }
  // Messages outside chunks, or chunks without indexes: only a full read sees them.
  if (indexed != summary->statistics->message_count) return {};
  return bytes;
}

}  // namespace

Result<std::map<uint16_t, uint64_t>> message_bytes_by_channel(ByteView file) {
  if (auto bytes = from_indexes(file)) return std::move(*bytes);
  std::map<uint16_t, uint64_t> bytes;
  StreamReader reader(file);
  while (true) {
    auto item = reader.next();
    if (!item) return item.error();
    if (!*item) break;
    if (const auto* message = std::get_if<Message>(&(*item)->record)) {
      bytes[message->channel_id] += message->data.size();
    }
  }
  return bytes;
}

Result<Metadata> read_metadata_at(ByteView file, uint64_t offset) {
  auto frame = read_frame(file, offset);
  if (!frame) return frame.error();
  auto record = parse_record(*frame);
  if (!record) return record.error();
  auto* metadata = std::get_if<Metadata>(&*record);
  if (metadata == nullptr) return Error{offset, "no Metadata record at this offset"};
  return std::move(*metadata);
}

}  // namespace mcaprec::mcap
