#pragma once
// The recording session's facts as the daemon writes them into every file (`session:` in the
// configuration): the `mcaprec.session` Metadata record, read back for `mcaprec info`.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mcap/info.hpp"
#include "mcap/records.hpp"

namespace mcaprec::tool {

inline constexpr const char* kSessionRecordName = "mcaprec.session";

// The file's first `mcaprec.session` record, if it has one that can be read.
std::optional<mcap::KeyValueMap> read_session_metadata(mcap::ByteView file,
                                                       const mcap::FileInfo& info);

// "car-7 (Test Car 7)", "car-7", "(Test Car 7)" or "" from a record's device keys.
std::string device_label(const mcap::KeyValueMap& session);

// Each key of the files' records with its distinct values, in the order files show them.
using SessionValues = std::map<std::string, std::vector<std::string>>;
void add_session_values(SessionValues& into, const mcap::KeyValueMap& session);

}  // namespace mcaprec::tool
