#pragma once
// Serialization of whole records (9-byte prefix + content) and parsing of record content.
#include <optional>

#include "mcap/error.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// Appends the complete record, prefix included, to `out`.
void append_record(Bytes& out, const Record& record);

// Appends only the 31-byte start of a Message record (prefix and fixed fields), for callers that
// copy the payload in themselves right after. Returns nothing; the record is complete once
// `data_size` payload bytes follow.
void append_message_header(Bytes& out, uint16_t channel_id, uint32_t sequence, Timestamp log_time,
                           Timestamp publish_time, uint64_t data_size);

// One framed record found in a byte range.
struct RecordFrame {
  uint8_t opcode = 0;
  uint64_t offset = 0;  // of the opcode byte, relative to whatever the caller counts from
  ByteView content;
  uint64_t size() const { return kRecordPrefixSize + content.size(); }
};

// Reads the record that starts at `data[pos]`. `base_offset` is added to positions in errors.
// Fails when the prefix or the content runs past the end of `data`, or on opcode 0.
Result<RecordFrame> read_frame(ByteView data, uint64_t pos, uint64_t base_offset = 0);

// Parses the content of one record. Extra trailing bytes are skipped (spec extensibility);
// unknown opcodes become UnknownRecord. `record_offset` is only used to place errors.
Result<Record> parse_record(uint8_t opcode, ByteView content, uint64_t record_offset = 0);
inline Result<Record> parse_record(const RecordFrame& f) {
  return parse_record(f.opcode, f.content, f.offset);
}

}  // namespace mcaprec::mcap
