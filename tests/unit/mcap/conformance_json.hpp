#pragma once
// Records in the JSON shape of the MCAP conformance corpus, both ways:
//   {"type": "Message", "fields": [["channel_id", "1"], ["data", ["1", "2"]], ...]}
// Fields are sorted by name, integers are decimal strings, byte fields are arrays of decimal
// strings and maps are objects with string keys. The corpus lists neither Chunk nor MessageIndex
// records (chunk contents appear in their place), nor the Attachment crc.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mcap/records.hpp"

namespace mcaprec::mcap::conformance {

using nlohmann::json;

inline std::string json_text(uint64_t value) {
  return std::to_string(value);
}
inline std::string json_text(const std::string& value) {
  return value;
}

// Collects one record's fields, then emits them sorted by name.
class JsonRecord {
 public:
  explicit JsonRecord(std::string type) : type_(std::move(type)) {}

  JsonRecord& field(const char* name, uint64_t value) { return add(name, json_text(value)); }
  JsonRecord& field(const char* name, const std::string& value) { return add(name, value); }
  JsonRecord& field(const char* name, ByteView bytes) {
    json array = json::array();
    for (uint8_t byte : bytes) array.push_back(json_text(byte));
    return add(name, std::move(array));
  }
  template <class K, class V>
  JsonRecord& field(const char* name, const std::map<K, V>& map) {
    json object = json::object();
    for (const auto& [key, value] : map) object[json_text(key)] = json_text(value);
    return add(name, std::move(object));
  }

  json build() {
    std::sort(fields_.begin(), fields_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    json fields = json::array();
    for (auto& [name, value] : fields_) fields.push_back(json::array({name, std::move(value)}));
    return {{"type", type_}, {"fields", std::move(fields)}};
  }

 private:
  JsonRecord& add(const char* name, json value) {
    fields_.emplace_back(name, std::move(value));
    return *this;
  }

  std::string type_;
  std::vector<std::pair<std::string, json>> fields_;
};

// One function per record type, fields as the corpus names them.
inline json to_json(const Header& r) {
  return JsonRecord("Header").field("library", r.library).field("profile", r.profile).build();
}
inline json to_json(const Footer& r) {
  return JsonRecord("Footer")
      .field("summary_start", r.summary_start)
      .field("summary_offset_start", r.summary_offset_start)
      .field("summary_crc", r.summary_crc)
      .build();
}
inline json to_json(const Schema& r) {
  return JsonRecord("Schema")
      .field("id", r.id)
      .field("name", r.name)
      .field("encoding", r.encoding)
      .field("data", ByteView(r.data))
      .build();
}
inline json to_json(const Channel& r) {
  return JsonRecord("Channel")
      .field("id", r.id)
      .field("schema_id", r.schema_id)
      .field("topic", r.topic)
      .field("message_encoding", r.message_encoding)
      .field("metadata", r.metadata)
      .build();
}
inline json to_json(const Message& r) {
  return JsonRecord("Message")
      .field("channel_id", r.channel_id)
      .field("sequence", r.sequence)
      .field("log_time", r.log_time)
      .field("publish_time", r.publish_time)
      .field("data", r.data)
      .build();
}
inline json to_json(const ChunkIndex& r) {
  return JsonRecord("ChunkIndex")
      .field("message_start_time", r.message_start_time)
      .field("message_end_time", r.message_end_time)
      .field("chunk_start_offset", r.chunk_start_offset)
      .field("chunk_length", r.chunk_length)
      .field("message_index_offsets", r.message_index_offsets)
      .field("message_index_length", r.message_index_length)
      .field("compression", r.compression)
      .field("compressed_size", r.compressed_size)
      .field("uncompressed_size", r.uncompressed_size)
      .build();
}
inline json to_json(const Attachment& r) {
  return JsonRecord("Attachment")
      .field("log_time", r.log_time)
      .field("create_time", r.create_time)
      .field("name", r.name)
      .field("media_type", r.media_type)
      .field("data", r.data)
      .build();
}
inline json to_json(const AttachmentIndex& r) {
  return JsonRecord("AttachmentIndex")
      .field("offset", r.offset)
      .field("length", r.length)
      .field("log_time", r.log_time)
      .field("create_time", r.create_time)
      .field("data_size", r.data_size)
      .field("name", r.name)
      .field("media_type", r.media_type)
      .build();
}
inline json to_json(const Statistics& r) {
  return JsonRecord("Statistics")
      .field("message_count", r.message_count)
      .field("schema_count", r.schema_count)
      .field("channel_count", r.channel_count)
      .field("attachment_count", r.attachment_count)
      .field("metadata_count", r.metadata_count)
      .field("chunk_count", r.chunk_count)
      .field("message_start_time", r.message_start_time)
      .field("message_end_time", r.message_end_time)
      .field("channel_message_counts", r.channel_message_counts)
      .build();
}
inline json to_json(const Metadata& r) {
  return JsonRecord("Metadata").field("name", r.name).field("metadata", r.metadata).build();
}
inline json to_json(const MetadataIndex& r) {
  return JsonRecord("MetadataIndex")
      .field("offset", r.offset)
      .field("length", r.length)
      .field("name", r.name)
      .build();
}
inline json to_json(const SummaryOffset& r) {
  return JsonRecord("SummaryOffset")
      .field("group_opcode", r.group_opcode)
      .field("group_start", r.group_start)
      .field("group_length", r.group_length)
      .build();
}
inline json to_json(const DataEnd& r) {
  return JsonRecord("DataEnd").field("data_section_crc", r.data_section_crc).build();
}
// Not in the corpus; shaped so that a stray one shows up readably in a diff.
inline json to_json(const UnknownRecord& r) {
  return JsonRecord(opcode_name(r.opcode)).field("content", r.content).build();
}

// The record as the corpus lists it, or nothing for Chunk and MessageIndex.
inline std::optional<json> corpus_json(const Record& record) {
  return std::visit(
      [](const auto& r) -> std::optional<json> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Chunk> || std::is_same_v<T, MessageIndex>) {
          return std::nullopt;
        } else {
          return to_json(r);
        }
      },
      record);
}

// The fields of one corpus record by name, read back into library types.
class JsonFields {
 public:
  explicit JsonFields(const json& record) {
    for (const auto& pair : record.at("fields")) fields_[pair.at(0)] = pair.at(1);
  }

  uint64_t number(const std::string& name) const {
    return std::stoull(fields_.at(name).get<std::string>());
  }
  std::string text(const std::string& name) const { return fields_.at(name).get<std::string>(); }
  Bytes bytes(const std::string& name) const {
    Bytes out;
    for (const auto& byte : fields_.at(name)) {
      out.push_back(static_cast<uint8_t>(std::stoul(byte.get<std::string>())));
    }
    return out;
  }
  KeyValueMap strings(const std::string& name) const { return fields_.at(name).get<KeyValueMap>(); }

 private:
  std::map<std::string, json> fields_;
};

// A record read from the corpus JSON. Messages and attachments view their payload, so the
// payload lives here beside them.
struct OwnedRecord {
  Record record;
  Bytes payload;
};

inline OwnedRecord header_from_json(const JsonFields& f) {
  return {Header{f.text("profile"), f.text("library")}, {}};
}
inline OwnedRecord schema_from_json(const JsonFields& f) {
  return {Schema{static_cast<uint16_t>(f.number("id")), f.text("name"), f.text("encoding"),
                 f.bytes("data")},
          {}};
}
inline OwnedRecord channel_from_json(const JsonFields& f) {
  return {
      Channel{static_cast<uint16_t>(f.number("id")), static_cast<uint16_t>(f.number("schema_id")),
              f.text("topic"), f.text("message_encoding"), f.strings("metadata")},
      {}};
}
inline OwnedRecord message_from_json(const JsonFields& f) {
  OwnedRecord out{Message{static_cast<uint16_t>(f.number("channel_id")),
                          static_cast<uint32_t>(f.number("sequence")),
                          f.number("log_time"),
                          f.number("publish_time"),
                          {}},
                  f.bytes("data")};
  std::get<Message>(out.record).data = out.payload;
  return out;
}
inline OwnedRecord attachment_from_json(const JsonFields& f) {
  OwnedRecord out{Attachment{f.number("log_time"),
                             f.number("create_time"),
                             f.text("name"),
                             f.text("media_type"),
                             {},
                             0},
                  f.bytes("data")};
  std::get<Attachment>(out.record).data = out.payload;
  return out;
}
inline OwnedRecord metadata_from_json(const JsonFields& f) {
  return {Metadata{f.text("name"), f.strings("metadata")}, {}};
}

// The data-section records a writer is given (plus Header); nothing for the others.
inline std::optional<OwnedRecord> record_from_json(const json& record) {
  using Reader = OwnedRecord (*)(const JsonFields&);
  static const std::map<std::string, Reader> kReaders = {
      {"Header", header_from_json},         {"Schema", schema_from_json},
      {"Channel", channel_from_json},       {"Message", message_from_json},
      {"Attachment", attachment_from_json}, {"Metadata", metadata_from_json},
  };
  const auto reader = kReaders.find(record.at("type").get<std::string>());
  if (reader == kReaders.end()) return std::nullopt;
  return reader->second(JsonFields(record));
}

}  // namespace mcaprec::mcap::conformance
