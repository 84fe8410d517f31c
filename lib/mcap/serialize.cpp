#include "mcap/serialize.hpp"

#include <cstdio>

#include "mcap/bytes.hpp"

namespace mcaprec::mcap {

const char* opcode_name(uint8_t opcode) {
  static const char* const kNames[] = {
      "Invalid(0x00)", "Header",        "Footer",          "Schema",
      "Channel",       "Message",       "Chunk",           "MessageIndex",
      "ChunkIndex",    "Attachment",    "AttachmentIndex", "Statistics",
      "Metadata",      "MetadataIndex", "SummaryOffset",   "DataEnd"};
  if (opcode < sizeof(kNames) / sizeof(kNames[0])) return kNames[opcode];
  return opcode >= 0x80 ? "Private" : "Unknown";
}

namespace {

void put_map(Bytes& out, const KeyValueMap& m) {
  const size_t at = out.size();
  put_le<uint32_t>(out, 0);
  for (const auto& [k, v] : m) {
    put_string(out, k);
    put_string(out, v);
  }
  store_le<uint32_t>(out.data() + at, static_cast<uint32_t>(out.size() - at - 4));
}

void put_map(Bytes& out, const std::map<uint16_t, uint64_t>& m) {
  put_le<uint32_t>(out, static_cast<uint32_t>(m.size() * 10));
  for (const auto& [k, v] : m) {
    put_le(out, k);
    put_le(out, v);
  }
}

// Content writers, one per record type, in spec field order.
void put(Bytes& o, const Header& r) {
  put_string(o, r.profile);
  put_string(o, r.library);
}
void put(Bytes& o, const Footer& r) {
  put_le(o, r.summary_start);
  put_le(o, r.summary_offset_start);
  put_le(o, r.summary_crc);
}
void put(Bytes& o, const Schema& r) {
  put_le(o, r.id);
  put_string(o, r.name);
  put_string(o, r.encoding);
  put_le<uint32_t>(o, static_cast<uint32_t>(r.data.size()));
  put_bytes(o, r.data);
}
void put(Bytes& o, const Channel& r) {
  put_le(o, r.id);
  put_le(o, r.schema_id);
  put_string(o, r.topic);
  put_string(o, r.message_encoding);
  put_map(o, r.metadata);
}
void put(Bytes& o, const Message& r) {
  put_le(o, r.channel_id);
  put_le(o, r.sequence);
  put_le(o, r.log_time);
  put_le(o, r.publish_time);
  put_bytes(o, r.data);
}
void put(Bytes& o, const Chunk& r) {
  put_le(o, r.message_start_time);
  put_le(o, r.message_end_time);
  put_le(o, r.uncompressed_size);
  put_le(o, r.uncompressed_crc);
  put_string(o, r.compression);
  put_le<uint64_t>(o, r.records.size());
  put_bytes(o, r.records);
}
void put(Bytes& o, const MessageIndex& r) {
  put_le(o, r.channel_id);
  put_le<uint32_t>(o, static_cast<uint32_t>(r.records.size() * 16));
  for (const auto& [t, off] : r.records) {
    put_le(o, t);
    put_le(o, off);
  }
}
void put(Bytes& o, const ChunkIndex& r) {
  put_le(o, r.message_start_time);
  put_le(o, r.message_end_time);
  put_le(o, r.chunk_start_offset);
  put_le(o, r.chunk_length);
  put_map(o, r.message_index_offsets);
  put_le(o, r.message_index_length);
  put_string(o, r.compression);
  put_le(o, r.compressed_size);
  put_le(o, r.uncompressed_size);
}
void put(Bytes& o, const Attachment& r) {
  put_le(o, r.log_time);
  put_le(o, r.create_time);
  put_string(o, r.name);
  put_string(o, r.media_type);
  put_le<uint64_t>(o, r.data.size());
  put_bytes(o, r.data);
  put_le(o, r.crc);
}
void put(Bytes& o, const AttachmentIndex& r) {
  put_le(o, r.offset);
  put_le(o, r.length);
  put_le(o, r.log_time);
  put_le(o, r.create_time);
  put_le(o, r.data_size);
  put_string(o, r.name);
  put_string(o, r.media_type);
}
void put(Bytes& o, const Statistics& r) {
  put_le(o, r.message_count);
  put_le(o, r.schema_count);
  put_le(o, r.channel_count);
  put_le(o, r.attachment_count);
  put_le(o, r.metadata_count);
  put_le(o, r.chunk_count);
  put_le(o, r.message_start_time);
  put_le(o, r.message_end_time);
  put_map(o, r.channel_message_counts);
}
void put(Bytes& o, const Metadata& r) {
  put_string(o, r.name);
  put_map(o, r.metadata);
}
void put(Bytes& o, const MetadataIndex& r) {
  put_le(o, r.offset);
  put_le(o, r.length);
  put_string(o, r.name);
}
void put(Bytes& o, const SummaryOffset& r) {
  put_le(o, r.group_opcode);
  put_le(o, r.group_start);
  put_le(o, r.group_length);
}
void put(Bytes& o, const DataEnd& r) {
  put_le(o, r.data_section_crc);
}
void put(Bytes& o, const UnknownRecord& r) {
  put_bytes(o, r.content);
}

template <class T>
constexpr uint8_t opcode_of();
#define MCAPREC_OPCODE(T)                      \
  template <>                                  \
  constexpr uint8_t opcode_of<T>() {           \
    return static_cast<uint8_t>(Opcode::k##T); \
  }
MCAPREC_OPCODE(Header)
MCAPREC_OPCODE(Footer)
MCAPREC_OPCODE(Schema)
MCAPREC_OPCODE(Channel)
MCAPREC_OPCODE(Message)
MCAPREC_OPCODE(Chunk)
MCAPREC_OPCODE(MessageIndex)
MCAPREC_OPCODE(ChunkIndex)
MCAPREC_OPCODE(Attachment)
MCAPREC_OPCODE(AttachmentIndex)
MCAPREC_OPCODE(Statistics)
MCAPREC_OPCODE(Metadata)
MCAPREC_OPCODE(MetadataIndex)
MCAPREC_OPCODE(SummaryOffset)
MCAPREC_OPCODE(DataEnd)
#undef MCAPREC_OPCODE

// ---- parsing ----

bool get_map(ByteReader& r, KeyValueMap& m) {
  uint32_t n = 0;
  ByteView body;
  if (!r.le(n) || !r.view(n, body)) return false;
  ByteReader b(body);
  while (b.remaining() > 0) {
    std::string k, v;
    if (!b.string(k) || !b.string(v)) return false;
    // A repeated key is damage (a page of zeros reads as empty keys), and readers refuse it.
    if (!m.emplace(std::move(k), std::move(v)).second) return false;
  }
  return true;
}

bool get_map(ByteReader& r, std::map<uint16_t, uint64_t>& m) {
  uint32_t n = 0;
  ByteView body;
  if (!r.le(n) || n % 10 != 0 || !r.view(n, body)) return false;
  ByteReader b(body);
  while (b.remaining() > 0) {
    uint16_t k = 0;
    uint64_t v = 0;
    b.le(k);
    b.le(v);
    if (!m.emplace(k, v).second) return false;
  }
  return true;
}

bool get(ByteReader& r, Header& h) {
  return r.string(h.profile) && r.string(h.library);
}
bool get(ByteReader& r, Footer& f) {
  return r.le(f.summary_start) && r.le(f.summary_offset_start) && r.le(f.summary_crc);
}
bool get(ByteReader& r, Schema& s) {
  uint32_t n = 0;
  ByteView data;
  if (!(r.le(s.id) && r.string(s.name) && r.string(s.encoding) && r.le(n) && r.view(n, data)))
    return false;
  s.data.assign(data.begin(), data.end());
  return true;
}
bool get(ByteReader& r, Channel& c) {
  return r.le(c.id) && r.le(c.schema_id) && r.string(c.topic) && r.string(c.message_encoding) &&
         get_map(r, c.metadata);
}
bool get(ByteReader& r, Message& m) {
  if (!(r.le(m.channel_id) && r.le(m.sequence) && r.le(m.log_time) && r.le(m.publish_time)))
    return false;
  m.data = r.rest();
  return true;
}
bool get(ByteReader& r, Chunk& c) {
  uint64_t n = 0;
  return r.le(c.message_start_time) && r.le(c.message_end_time) && r.le(c.uncompressed_size) &&
         r.le(c.uncompressed_crc) && r.string(c.compression) && r.le(n) && r.view(n, c.records);
}
bool get(ByteReader& r, MessageIndex& mi) {
  uint32_t n = 0;
  if (!r.le(mi.channel_id) || !r.le(n) || n % 16 != 0 || r.remaining() < n) return false;
  mi.records.resize(n / 16);
  for (auto& [t, off] : mi.records) {
    r.le(t);
    r.le(off);
  }
  return true;
}
bool get(ByteReader& r, ChunkIndex& c) {
  return r.le(c.message_start_time) && r.le(c.message_end_time) && r.le(c.chunk_start_offset) &&
         r.le(c.chunk_length) && get_map(r, c.message_index_offsets) &&
         r.le(c.message_index_length) && r.string(c.compression) && r.le(c.compressed_size) &&
         r.le(c.uncompressed_size);
}
bool get(ByteReader& r, Attachment& a) {
  uint64_t n = 0;
  return r.le(a.log_time) && r.le(a.create_time) && r.string(a.name) && r.string(a.media_type) &&
         r.le(n) && r.view(n, a.data) && r.le(a.crc);
}
bool get(ByteReader& r, AttachmentIndex& a) {
  return r.le(a.offset) && r.le(a.length) && r.le(a.log_time) && r.le(a.create_time) &&
         r.le(a.data_size) && r.string(a.name) && r.string(a.media_type);
}
bool get(ByteReader& r, Statistics& s) {
  return r.le(s.message_count) && r.le(s.schema_count) && r.le(s.channel_count) &&
         r.le(s.attachment_count) && r.le(s.metadata_count) && r.le(s.chunk_count) &&
         r.le(s.message_start_time) && r.le(s.message_end_time) &&
         get_map(r, s.channel_message_counts);
}
bool get(ByteReader& r, Metadata& m) {
  return r.string(m.name) && get_map(r, m.metadata);
}
bool get(ByteReader& r, MetadataIndex& m) {
  return r.le(m.offset) && r.le(m.length) && r.string(m.name);
}
bool get(ByteReader& r, SummaryOffset& s) {
  return r.le(s.group_opcode) && r.le(s.group_start) && r.le(s.group_length);
}
bool get(ByteReader& r, DataEnd& d) {
  return r.le(d.data_section_crc);
}

template <class T>
Result<Record> parse_as(ByteView content, uint64_t record_offset) {
  T rec;
  ByteReader r(content);
  if (!get(r, rec)) {
    return Error{record_offset, std::string(opcode_name(opcode_of<T>())) + " record of " +
                                    std::to_string(content.size()) +
                                    " content bytes is truncated or has an inconsistent length"};
  }
  return Record(std::move(rec));
}

}  // namespace

void append_record(Bytes& out, const Record& record) {
  std::visit(
      [&out](const auto& rec) {
        using T = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<T, UnknownRecord>) {
          put_u8(out, rec.opcode);
        } else {
          put_u8(out, opcode_of<T>());
        }
        const size_t len_at = out.size();
        put_le<uint64_t>(out, 0);
        put(out, rec);
        store_le<uint64_t>(out.data() + len_at, out.size() - len_at - 8);
      },
      record);
}

void append_message_header(Bytes& out, uint16_t channel_id, uint32_t sequence, Timestamp log_time,
                           Timestamp publish_time, uint64_t data_size) {
  const size_t at = out.size();
  out.resize(at + kRecordPrefixSize + kMessageHeaderSize);
  uint8_t* p = out.data() + at;
  p[0] = static_cast<uint8_t>(Opcode::kMessage);
  store_le<uint64_t>(p + 1, kMessageHeaderSize + data_size);
  store_le(p + 9, channel_id);
  store_le(p + 11, sequence);
  store_le(p + 15, log_time);
  store_le(p + 23, publish_time);
}

Result<RecordFrame> read_frame(ByteView data, uint64_t pos, uint64_t base_offset) {
  if (pos > data.size() || data.size() - pos < kRecordPrefixSize) {
    return Error{base_offset + pos, "truncated record prefix: " +
                                        std::to_string(pos > data.size() ? 0 : data.size() - pos) +
                                        " bytes left, 9 needed"};
  }
  RecordFrame f;
  f.opcode = data[pos];
  f.offset = base_offset + pos;
  if (f.opcode == 0) return Error{f.offset, "invalid opcode 0x00"};
  const uint64_t len = load_le<uint64_t>(data.data() + pos + 1);
  const uint64_t left = data.size() - pos - kRecordPrefixSize;
  if (len > left) {
    return Error{f.offset, std::string(opcode_name(f.opcode)) + " record claims " +
                               std::to_string(len) + " content bytes but only " +
                               std::to_string(left) + " remain"};
  }
  f.content = data.subspan(pos + kRecordPrefixSize, len);
  return f;
}

Result<Record> parse_record(uint8_t opcode, ByteView content, uint64_t record_offset) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kHeader:
      return parse_as<Header>(content, record_offset);
    case Opcode::kFooter:
      return parse_as<Footer>(content, record_offset);
    case Opcode::kSchema:
      return parse_as<Schema>(content, record_offset);
    case Opcode::kChannel:
      return parse_as<Channel>(content, record_offset);
    case Opcode::kMessage:
      return parse_as<Message>(content, record_offset);
    case Opcode::kChunk:
      return parse_as<Chunk>(content, record_offset);
    case Opcode::kMessageIndex:
      return parse_as<MessageIndex>(content, record_offset);
    case Opcode::kChunkIndex:
      return parse_as<ChunkIndex>(content, record_offset);
    case Opcode::kAttachment:
      return parse_as<Attachment>(content, record_offset);
    case Opcode::kAttachmentIndex:
      return parse_as<AttachmentIndex>(content, record_offset);
    case Opcode::kStatistics:
      return parse_as<Statistics>(content, record_offset);
    case Opcode::kMetadata:
      return parse_as<Metadata>(content, record_offset);
    case Opcode::kMetadataIndex:
      return parse_as<MetadataIndex>(content, record_offset);
    case Opcode::kSummaryOffset:
      return parse_as<SummaryOffset>(content, record_offset);
    case Opcode::kDataEnd:
      return parse_as<DataEnd>(content, record_offset);
  }
  if (opcode == 0) return Error{record_offset, "invalid opcode 0x00"};
  return Record(UnknownRecord{opcode, content});
}

}  // namespace mcaprec::mcap
