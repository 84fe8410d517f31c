#pragma once
// How an event file's name begins, said once for the part that names event files (events) and
// the one that must tell them from continuous files (upload, which sees nothing above base).
#include <string>
#include <string_view>

namespace mcaprec::base {

// "<prefix>_event_": every event file is `<prefix>_event_<event name>_<UTC stamp>[_n].mcap`.
inline std::string event_file_start(std::string_view prefix) {
  return std::string(prefix) + "_event_";
}

}  // namespace mcaprec::base
