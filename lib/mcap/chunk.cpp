#include "mcap/chunk.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {

// ---- ChunkBuilder ----

void ChunkBuilder::add_record(const Record& record) {
  append_record(records_, record);
}

void ChunkBuilder::add_message(const Message& message) {
  uint8_t* data = add_message_uninitialized(message.channel_id, message.sequence, message.log_time,
                                            message.publish_time, message.data.size());
  if (!message.data.empty()) std::memcpy(data, message.data.data(), message.data.size());
}

uint8_t* ChunkBuilder::add_message_uninitialized(uint16_t channel_id, uint32_t sequence,
                                                 Timestamp log_time, Timestamp publish_time,
                                                 uint64_t data_size) {
  const uint64_t at = records_.size();
  messages_.push_back({channel_id, log_time, at});
  append_message_header(records_, channel_id, sequence, log_time, publish_time, data_size);
  const uint64_t data_at = records_.size();
  records_.resize(data_at + data_size);
  return records_.data() + data_at;
}

void ChunkBuilder::clear() {
  records_.clear();
  messages_.clear();
}

// ---- encode_chunk ----

namespace {

// Message Index record up to its entries: prefix, channel id, entries length.
constexpr uint64_t kMessageIndexHeaderSize = kRecordPrefixSize + 2 + 4;
constexpr uint64_t kMessageIndexEntrySize = 16;

// Writes the Chunk record's prefix and fields up to and including the records length. The
// content and records lengths are patched once the records are in place.
void put_chunk_header(Bytes& out, const EncodedChunk& chunk, uint32_t uncompressed_crc) {
  put_u8(out, static_cast<uint8_t>(Opcode::kChunk));
  put_le<uint64_t>(out, 0);
  put_le(out, chunk.message_start_time);
  put_le(out, chunk.message_end_time);
  put_le(out, chunk.uncompressed_size);
  put_le(out, uncompressed_crc);
  put_string(out, chunk.compression);
  put_le<uint64_t>(out, 0);
}

// `header_size`: the Chunk record up to its records, which follow it (`records_size` bytes).
void patch_chunk_lengths(Bytes& out, uint64_t header_size, uint64_t records_size) {
  store_le<uint64_t>(out.data() + 1, header_size - kRecordPrefixSize + records_size);
  store_le<uint64_t>(out.data() + header_size - 8, records_size);
}

// Where a Chunk record's uncompressed_crc sits: after the prefix, both times and the size.
constexpr uint64_t kUncompressedCrcOffset = kRecordPrefixSize + 8 + 8 + 8;
// Records are copied and checksummed this much at a time, so that the copy reads what the CRC
// just brought into the L1 cache instead of reading memory a second time.
constexpr uint64_t kStoreBlockBytes = uint64_t{16} << 10;

// Notes that `size` bytes just appended to `out.bytes` come next in the file.
void note_copied(EncodedChunk& out, uint64_t size) {
  if (!out.parts.empty() && out.parts.back().in_place == nullptr) {
    out.parts.back().size += size;
  } else {
    out.parts.push_back({nullptr, size});
  }
}

// Copies a piece's records behind what `out` holds, computing their CRC as they are copied.
uint32_t copy_records(ByteView records, Bytes& out, uint32_t crc, bool with_crc) {
  for (uint64_t at = 0; at < records.size(); at += kStoreBlockBytes) {
    const ByteView block = records.subspan(at, std::min(kStoreBlockBytes, records.size() - at));
    if (with_crc) crc = crc32_update(crc, block);
    put_bytes(out, block);
  }
  return crc;
}

// Frames the pieces as a chunk stored raw, computing their CRC (when `with_crc`); returns that
// CRC. Pieces of at least `in_place_min` bytes (when not 0) stay where they are (`out.parts`).
uint32_t store_raw(std::span<const ChunkPiece> pieces, EncodedChunk& out, bool with_crc,
                   uint64_t in_place_min) {
  out.bytes.clear();
  out.parts.clear();
  out.in_place_bytes = 0;
  out.compression.clear();
  put_chunk_header(out.bytes, out, 0);
  const uint64_t header_size = out.bytes.size();
  uint64_t copied = out.uncompressed_size;
  for (const ChunkPiece& piece : pieces) {
    if (in_place_min > 0 && piece.records.size() >= in_place_min) copied -= piece.records.size();
  }
  const bool gather = copied < out.uncompressed_size;
  // Room for the records and the message indexes that follow: one allocation, if any.
  out.bytes.reserve(header_size + copied + out.message_counts.size() * kMessageIndexHeaderSize +
                    out.message_count * kMessageIndexEntrySize);
  if (gather) out.parts.push_back({nullptr, header_size});
  uint32_t crc = 0;
  for (const ChunkPiece& piece : pieces) {
    if (gather && piece.records.size() >= in_place_min) {
      if (with_crc) crc = crc32_update(crc, piece.records);
      out.parts.push_back({piece.records.data(), piece.records.size()});
      out.in_place_bytes += piece.records.size();
      continue;
    }
    crc = copy_records(piece.records, out.bytes, crc, with_crc);
    if (gather) note_copied(out, piece.records.size());
  }
  store_le<uint32_t>(out.bytes.data() + kUncompressedCrcOffset, crc);
  out.compressed_size = out.uncompressed_size;
  patch_chunk_lengths(out.bytes, header_size, out.compressed_size);
  return crc;
}

// The largest compressed size worth keeping for `uncompressed_size` bytes of records: strictly
// smaller, and smaller by at least `min_saving_percent`.
uint64_t largest_worthwhile(uint64_t uncompressed_size, uint32_t min_saving_percent) {
  const uint64_t percent_kept = 100 - std::min<uint64_t>(min_saving_percent, 99);
  // Split the product so that it cannot overflow: size * kept / 100 without size * kept.
  const uint64_t allowed =
      uncompressed_size / 100 * percent_kept + uncompressed_size % 100 * percent_kept / 100;
  return std::min(allowed, uncompressed_size - 1);
}

// Where `channel_id` sits in `values`. `hint` is the slot of the previous message's channel:
// messages come in runs of one channel (always so for the pipeline's per-channel pieces), so
// the search is rare.
size_t find_slot(const ChannelValues& values, uint16_t channel_id, size_t hint) {
  if (hint < values.size() && values[hint].first == channel_id) return hint;
  const auto it = std::lower_bound(
      values.begin(), values.end(), channel_id,
      [](const std::pair<uint16_t, uint64_t>& v, uint16_t id) { return v.first < id; });
  return size_t(it - values.begin());
}

// Counts one message of `channel_id`, adding the channel when it is new; returns its slot.
size_t count_message(ChannelValues& counts, uint16_t channel_id, size_t hint) {
  const size_t slot = find_slot(counts, channel_id, hint);
  if (slot == counts.size() || counts[slot].first != channel_id) {
    counts.insert(counts.begin() + std::ptrdiff_t(slot), {channel_id, 0});
  }
  ++counts[slot].second;
  return slot;
}

// Appends one Message Index record per channel (by id), entries in piece order.
void append_message_indexes(std::span<const ChunkPiece> pieces, EncodedChunk& out) {
  // Lay out every record first, then fill the entries in one pass over the messages. While
  // filling, each channel's offset serves as its write cursor (no scratch memory); the cursors
  // end exactly one record past the start, which puts the offsets back.
  ChannelValues& offsets = out.message_index_offsets;
  offsets.resize(out.message_counts.size());
  uint64_t at = out.bytes.size();
  for (size_t i = 0; i < offsets.size(); ++i) {
    const auto [channel_id, count] = out.message_counts[i];
    offsets[i] = {channel_id, at + kMessageIndexHeaderSize};
    at += kMessageIndexHeaderSize + count * kMessageIndexEntrySize;
  }
  out.bytes.resize(at);
  for (size_t i = 0; i < offsets.size(); ++i) {
    const auto [channel_id, count] = out.message_counts[i];
    uint8_t* p = out.bytes.data() + offsets[i].second - kMessageIndexHeaderSize;
    const uint64_t entries = count * kMessageIndexEntrySize;
    p[0] = static_cast<uint8_t>(Opcode::kMessageIndex);
    store_le<uint64_t>(p + 1, 2 + 4 + entries);
    store_le<uint16_t>(p + 9, channel_id);
    store_le<uint32_t>(p + 11, static_cast<uint32_t>(entries));
  }
  uint64_t base = 0;
  size_t slot = 0;
  for (const ChunkPiece& piece : pieces) {
    for (const MessageIndexEntry& m : piece.messages) {
      slot = find_slot(out.message_counts, m.channel_id, slot);
      uint64_t& pos = offsets[slot].second;
      store_le<uint64_t>(out.bytes.data() + pos, m.log_time);
      store_le<uint64_t>(out.bytes.data() + pos + 8, base + m.offset);
      pos += kMessageIndexEntrySize;
    }
    base += piece.records.size();
  }
  // Back to each record's start, and from a place in `bytes` to a place in the file: the
  // records left in place come before the indexes.
  for (size_t i = 0; i < offsets.size(); ++i) {
    offsets[i].second = offsets[i].second - kMessageIndexHeaderSize -
                        out.message_counts[i].second * kMessageIndexEntrySize + out.in_place_bytes;
  }
}

// Counts, times and size of the messages, which the Chunk record's header states.
void describe_messages(std::span<const ChunkPiece> pieces, EncodedChunk& out) {
  uint64_t uncompressed_size = 0;
  Timestamp start = std::numeric_limits<Timestamp>::max();
  Timestamp end = 0;
  size_t slot = 0;
  for (const ChunkPiece& piece : pieces) {
    uncompressed_size += piece.records.size();
    for (const MessageIndexEntry& m : piece.messages) {
      start = std::min(start, m.log_time);
      end = std::max(end, m.log_time);
      slot = count_message(out.message_counts, m.channel_id, slot);
    }
    out.message_count += piece.messages.size();
  }
  out.message_start_time = out.message_count == 0 ? 0 : start;
  out.message_end_time = out.message_count == 0 ? 0 : end;
  out.uncompressed_size = uncompressed_size;
}

// Writes the Chunk record, compressed when that pays; gives the CRC of the uncompressed records
// (0 when options.chunk_crc is off).
Result<uint32_t> store_chunk_record(std::span<const ChunkPiece> pieces,
                                    const ChunkEncodeOptions& options, Compressor& compressor,
                                    EncodedChunk& out) {
  out.group_compressed_sizes.clear();
  if (options.compression == Compression::kNone || out.uncompressed_size == 0) {
    return store_raw(pieces, out, options.chunk_crc, options.in_place_min_bytes);
  }
  // The codec takes plain views. A chunk of small messages spans many pieces (one per
  // channel segment), so the list is kept per thread and reused: no allocation per chunk.
  thread_local std::vector<ByteView> views;
  views.resize(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) views[i] = pieces[i].records;
  // The codec writes into its own buffer; only a frame that pays for itself is copied behind
  // the header, so an incompressible chunk costs the attempt and nothing more.
  out.group_compressed_sizes.resize(options.piece_groups.size());
  const Result<std::optional<ByteView>> frame = compressor.compress_at_most(
      options.compression, options.level, views,
      largest_worthwhile(out.uncompressed_size, options.min_saving_percent), options.piece_groups,
      out.group_compressed_sizes);
  if (!frame) return frame.error();
  if (!frame->has_value()) {
    return store_raw(pieces, out, options.chunk_crc, options.in_place_min_bytes);
  }
  uint32_t uncompressed_crc = 0;
  if (options.chunk_crc) {
    for (const ChunkPiece& piece : pieces) {
      uncompressed_crc = crc32_update(uncompressed_crc, piece.records);
    }
  }
  out.compression = compression_name(options.compression);
  out.compressed_size = (*frame)->size();
  put_chunk_header(out.bytes, out, uncompressed_crc);
  const uint64_t header_size = out.bytes.size();
  put_bytes(out.bytes, **frame);
  patch_chunk_lengths(out.bytes, header_size, out.compressed_size);
  return uncompressed_crc;
}

// The CRC of all the bytes, for the data section's CRC.
uint32_t bytes_crc(const EncodedChunk& out, const ChunkEncodeOptions& options,
                   uint32_t uncompressed_crc) {
  if (out.compression.empty() && options.chunk_crc) {
    // The records of a raw chunk were checksummed for the Chunk record: extend that CRC
    // over the header before them and the indexes after them instead of reading them again.
    // (The header starts `bytes` and the indexes end it, whether or not records are in place.)
    const ByteView bytes = out.bytes;
    const uint64_t header = out.chunk_record_size - out.uncompressed_size;
    uint32_t crc = crc32(bytes.first(header));
    crc = crc32_combine(crc, uncompressed_crc, out.uncompressed_size);
    return crc32_update(crc, bytes.subspan(bytes.size() - out.message_index_length));
  }
  return crc32(out.bytes);
}

}  // namespace

Status encode_chunk(std::span<const ChunkPiece> pieces, const ChunkEncodeOptions& options,
                    Compressor& compressor, EncodedChunk& out) {
  out.bytes.clear();
  out.parts.clear();
  out.in_place_bytes = 0;
  out.message_index_offsets.clear();
  out.message_counts.clear();
  out.message_count = 0;
  out.crc = 0;

  describe_messages(pieces, out);
  const Result<uint32_t> uncompressed_crc = store_chunk_record(pieces, options, compressor, out);
  if (!uncompressed_crc) return uncompressed_crc.error();
  out.chunk_record_size = out.file_size();

  const uint64_t record_bytes = out.bytes.size();
  if (options.message_indexes) append_message_indexes(pieces, out);
  out.message_index_length = out.bytes.size() - record_bytes;
  if (!out.parts.empty() && out.message_index_length > 0) {
    note_copied(out, out.message_index_length);
  }
  if (options.data_crc) out.crc = bytes_crc(out, options, *uncompressed_crc);
  return {};
}

void chunk_views(const EncodedChunk& chunk, std::vector<ByteView>& out) {
  out.clear();
  if (chunk.parts.empty()) {
    if (!chunk.bytes.empty()) out.push_back(chunk.bytes);
    return;
  }
  uint64_t copied = 0;
  for (const ChunkPart& part : chunk.parts) {
    if (part.in_place != nullptr) {
      out.emplace_back(part.in_place, part.size);
    } else {
      out.push_back(ByteView(chunk.bytes).subspan(copied, part.size));
      copied += part.size;
    }
  }
}

void copy_chunk_bytes(const EncodedChunk& chunk, Bytes& out) {
  if (chunk.parts.empty()) {
    out.assign(chunk.bytes.begin(), chunk.bytes.end());
    return;
  }
  thread_local std::vector<ByteView> views;
  chunk_views(chunk, views);
  out.clear();
  out.reserve(chunk.file_size());
  for (const ByteView view : views) put_bytes(out, view);
}

}  // namespace mcaprec::mcap
