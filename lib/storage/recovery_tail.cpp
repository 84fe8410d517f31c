#include "storage/recovery_tail.hpp"

#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::storage {

namespace {

using mcap::Bytes;
using mcap::ByteView;
using mcap::Opcode;

// Summary groups, summary offsets, Footer (with the summary CRC) and magic for a summary that
// starts at file offset `summary_start`.
void append_summary(Bytes& out, uint64_t summary_start, const mcap::ScanReport& scan) {
  const uint64_t base = out.size();
  std::vector<mcap::SummaryOffset> offsets;
  auto group = [&](Opcode opcode, auto&& write_records) {
    const uint64_t start = out.size();
    write_records();
    if (out.size() > start) {
      offsets.push_back(mcap::SummaryOffset{static_cast<uint8_t>(opcode),
                                            summary_start + (start - base), out.size() - start});
    }
  };
  group(Opcode::kSchema, [&] {
    for (const auto& [id, schema] : scan.schemas) mcap::append_record(out, schema);
  });
  group(Opcode::kChannel, [&] {
    for (const auto& [id, channel] : scan.channels) mcap::append_record(out, channel);
  });
  group(Opcode::kStatistics, [&] { mcap::append_record(out, scan.statistics); });
  group(Opcode::kMetadataIndex, [&] {
    for (const auto& index : scan.metadata_indexes) mcap::append_record(out, index);
  });
  group(Opcode::kAttachmentIndex, [&] {
    for (const auto& index : scan.attachment_indexes) mcap::append_record(out, index);
  });
  group(Opcode::kChunkIndex, [&] {
    for (const auto& index : scan.chunk_indexes) mcap::append_record(out, index);
  });
  const uint64_t offsets_start = summary_start + (out.size() - base);
  for (const mcap::SummaryOffset& offset : offsets) mcap::append_record(out, offset);
  // The statistics group is always there, so the summary is never empty.
  mcap::append_record(out, mcap::Footer{summary_start, offsets_start, 0});
  // The CRC covers the summary through the Footer's summary_offset_start field.
  const uint32_t crc = mcap::crc32(ByteView(out).subspan(base, out.size() - base - 4));
  mcap::store_le<uint32_t>(out.data() + out.size() - 4, crc);
  out.insert(out.end(), std::begin(mcap::kMagic), std::end(mcap::kMagic));
}

}  // namespace

Bytes build_recovery_tail(mcap::ScanReport& scan, const mcap::Metadata& recovery_record) {
  const uint64_t at = scan.valid_end;
  Bytes tail;
  if (!scan.missing_message_indexes.empty() && !scan.chunk_indexes.empty()) {
    mcap::ChunkIndex& last = scan.chunk_indexes.back();
    for (const mcap::MessageIndex& index : scan.missing_message_indexes) {
      last.message_index_offsets[index.channel_id] = at + tail.size();
      mcap::append_record(tail, index);
    }
    last.message_index_length = at + tail.size() - (last.chunk_start_offset + last.chunk_length);
  }
  const uint64_t metadata_offset = at + tail.size();
  mcap::append_record(tail, recovery_record);
  scan.metadata_indexes.push_back(mcap::MetadataIndex{
      metadata_offset, at + tail.size() - metadata_offset, recovery_record.name});
  scan.statistics.metadata_count = static_cast<uint32_t>(scan.metadata_indexes.size());

  const uint32_t data_crc = mcap::crc32_update(scan.data_crc, tail);
  mcap::append_record(tail, mcap::DataEnd{data_crc});
  append_summary(tail, at + tail.size(), scan);
  return tail;
}

}  // namespace mcaprec::storage
