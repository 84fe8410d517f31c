// read_summary: Header, Footer and the summary section of an indexed file, found from the end of
// the file; chunk bytes are never read.
#include <type_traits>
#include <utility>
#include <variant>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/read_checks.hpp"
#include "mcap/reader.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {

namespace {

std::string at(uint64_t offset) {
  return " at offset " + std::to_string(offset);
}

// The Header, right after the leading magic; gives the offset where it ends.
Result<uint64_t> read_header(ByteView file, Header& header) {
  auto frame = read_frame(file, sizeof(kMagic));
  if (!frame.ok()) return frame.error();
  if (frame->opcode != static_cast<uint8_t>(Opcode::kHeader)) {
    return Error{sizeof(kMagic),
                 std::string("first record is ") + opcode_name(frame->opcode) + ", not Header"};
  }
  auto record = parse_record(*frame);
  if (!record.ok()) return record.error();
  header = std::move(std::get<Header>(*record));
  return sizeof(kMagic) + frame->size();
}

// The Footer and trailing magic, always the last 37 bytes; gives the Footer's offset.
Result<uint64_t> read_footer(ByteView file, uint64_t header_end, Footer& footer) {
  const uint64_t tail = kFooterRecordSize + sizeof(kMagic);
  if (file.size() < header_end + tail) {
    return Error{file.size(), "file ends before a Footer and trailing magic (" +
                                  std::to_string(file.size()) + " bytes)"};
  }
  const uint64_t magic_offset = file.size() - sizeof(kMagic);
  if (!detail::is_magic_at(file, magic_offset)) {
    return Error{magic_offset, "bad trailing magic (file not finished?)"};
  }
  const uint64_t footer_offset = magic_offset - kFooterRecordSize;
  if (file[footer_offset] != static_cast<uint8_t>(Opcode::kFooter) ||
      load_le<uint64_t>(file.data() + footer_offset + 1) != kFooterRecordSize - kRecordPrefixSize) {
    return Error{footer_offset,
                 "no Footer record (opcode 0x02, length 20) before the trailing "
                 "magic"};
  }
  ByteReader footer_reader(file.subspan(footer_offset + kRecordPrefixSize, 20));
  footer_reader.le(footer.summary_start);
  footer_reader.le(footer.summary_offset_start);
  footer_reader.le(footer.summary_crc);
  return footer_offset;
}

// The Footer's offsets point between the Header (and a Data End) and the Footer itself.
Status check_footer_offsets(const Footer& footer, uint64_t header_end, uint64_t footer_offset) {
  if (footer.summary_start == 0) {
    return Error{footer_offset, "file is not indexed (footer summary_start is 0)"};
  }
  if (footer.summary_start < header_end + kDataEndRecordSize ||
      footer.summary_start > footer_offset) {
    return Error{footer_offset, "footer summary_start " + std::to_string(footer.summary_start) +
                                    " is outside the file's summary area [" +
                                    std::to_string(header_end + kDataEndRecordSize) + ", " +
                                    std::to_string(footer_offset) + "]"};
  }
  if (footer.summary_offset_start != 0 && (footer.summary_offset_start < footer.summary_start ||
                                           footer.summary_offset_start > footer_offset)) {
    return Error{footer_offset,
                 "footer summary_offset_start " + std::to_string(footer.summary_offset_start) +
                     " is outside the summary [" + std::to_string(footer.summary_start) + ", " +
                     std::to_string(footer_offset) + "]"};
  }
  return {};
}

// Indexed readers expect Data End immediately before the summary.
Status check_data_end_before_summary(ByteView file, const Footer& footer) {
  const uint64_t data_end_offset = footer.summary_start - kDataEndRecordSize;
  if (file[data_end_offset] != static_cast<uint8_t>(Opcode::kDataEnd) ||
      load_le<uint64_t>(file.data() + data_end_offset + 1) !=
          kDataEndRecordSize - kRecordPrefixSize) {
    return Error{data_end_offset, "no Data End record immediately before summary_start " +
                                      std::to_string(footer.summary_start)};
  }
  return {};
}

Status check_summary_crc(ByteView file, const Footer& footer, uint64_t footer_offset) {
  if (footer.summary_crc == 0) return {};
  const uint64_t covered_end = footer_offset + kRecordPrefixSize + 16;
  const uint32_t computed =
      crc32(file.subspan(footer.summary_start, covered_end - footer.summary_start));
  if (computed != footer.summary_crc) {
    return Error{footer_offset, "summary CRC mismatch: stored " +
                                    detail::hex32(footer.summary_crc) + ", computed " +
                                    detail::hex32(computed)};
  }
  return {};
}

// Adds one summary record to `summary`; false when the summary section may not hold it (or
// not twice).
bool add_summary_record(Record& record, Summary& summary) {
  bool allowed = true;
  std::visit(
      [&](auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Schema>) {
          if (r.id != 0) summary.schemas.emplace(r.id, std::move(r));
        } else if constexpr (std::is_same_v<T, Channel>) {
          summary.channels.emplace(r.id, std::move(r));
        } else if constexpr (std::is_same_v<T, ChunkIndex>) {
          summary.chunk_indexes.push_back(std::move(r));
        } else if constexpr (std::is_same_v<T, AttachmentIndex>) {
          summary.attachment_indexes.push_back(std::move(r));
        } else if constexpr (std::is_same_v<T, MetadataIndex>) {
          summary.metadata_indexes.push_back(std::move(r));
        } else if constexpr (std::is_same_v<T, Statistics>) {
          if (summary.statistics) allowed = false;
          summary.statistics = std::move(r);
        } else if constexpr (std::is_same_v<T, SummaryOffset>) {
          summary.summary_offsets.push_back(r);
        } else if constexpr (std::is_same_v<T, UnknownRecord>) {
          // Future or private summary records: skipped.
        } else {
          allowed = false;
        }
      },
      record);
  return allowed;
}

// Every record between summary_start and the Footer.
Status read_summary_records(ByteView file, uint64_t footer_offset, Summary& summary) {
  const ByteView summary_bytes = file.first(footer_offset);
  for (uint64_t pos = summary.footer.summary_start; pos < footer_offset;) {
    auto frame = read_frame(summary_bytes, pos);
    if (!frame.ok()) {
      return Error{pos,
                   "summary record" + at(pos) + " runs into the Footer: " + frame.error().message};
    }
    auto record = parse_record(*frame);
    if (!record.ok()) return record.error();
    pos += frame->size();
    if (!add_summary_record(*record, summary)) {
      const bool duplicate_stats = frame->opcode == static_cast<uint8_t>(Opcode::kStatistics);
      return Error{frame->offset, duplicate_stats
                                      ? std::string("second Statistics record in the summary")
                                      : std::string(opcode_name(frame->opcode)) +
                                            " record is not allowed in the summary section"};
    }
  }
  return {};
}

}  // namespace

Result<Summary> read_summary(ByteView file, bool validate_crc) {
  if (Status st = detail::check_leading_magic(file); !st.ok()) return st.error();
  Summary summary;
  auto header_end = read_header(file, summary.header);
  if (!header_end.ok()) return header_end.error();
  auto footer_offset = read_footer(file, *header_end, summary.footer);
  if (!footer_offset.ok()) return footer_offset.error();
  if (Status st = check_footer_offsets(summary.footer, *header_end, *footer_offset); !st.ok()) {
    return st.error();
  }
  if (Status st = check_data_end_before_summary(file, summary.footer); !st.ok()) {
    return st.error();
  }
  if (validate_crc) {
    if (Status st = check_summary_crc(file, summary.footer, *footer_offset); !st.ok()) {
      return st.error();
    }
  }
  if (Status st = read_summary_records(file, *footer_offset, summary); !st.ok()) {
    return st.error();
  }
  return summary;
}

}  // namespace mcaprec::mcap
