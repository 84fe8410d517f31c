#include "session_metadata.hpp"

#include <algorithm>

#include "mcap/channel_bytes.hpp"

namespace mcaprec::tool {

std::optional<mcap::KeyValueMap> read_session_metadata(mcap::ByteView file,
                                                       const mcap::FileInfo& info) {
  for (size_t i = 0; i < info.metadata.size() && i < info.metadata_offsets.size(); ++i) {
    if (info.metadata[i] != kSessionRecordName) continue;
    auto record = mcap::read_metadata_at(file, info.metadata_offsets[i]);
    if (record) return std::move(record->metadata);
  }
  return std::nullopt;
}

std::string device_label(const mcap::KeyValueMap& session) {
  auto value = [&](const char* key) {
    auto it = session.find(key);
    return it == session.end() ? std::string() : it->second;
  };
  const std::string id = value("device_id");
  const std::string name = value("device_name");
  if (name.empty()) return id;
  return id.empty() ? "(" + name + ")" : id + " (" + name + ")";
}

void add_session_values(SessionValues& into, const mcap::KeyValueMap& session) {
  for (const auto& [key, value] : session) {
    std::vector<std::string>& seen = into[key];
    if (std::find(seen.begin(), seen.end(), value) == seen.end()) seen.push_back(value);
  }
}

}  // namespace mcaprec::tool
