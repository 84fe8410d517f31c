#include "recorder_stats.hpp"

#include <charconv>

#include "mcap/channel_bytes.hpp"

namespace mcaprec::tool {
namespace {

constexpr std::string_view kDropPrefix = "dropped_";

std::optional<uint64_t> number(const std::string& text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return {};
  return value;
}

RecorderStats parse_stats(const mcap::Metadata& record) {
  RecorderStats stats;
  for (const auto& [key, value] : record.metadata) {
    if (key == "session_start") stats.session_start = value;
    const auto count = number(value);
    if (!count) continue;
    // A topic may hold dots itself; the counter's name never does.
    const size_t dot = key.rfind('.');
    if (dot == std::string::npos) {
      stats.totals[key] = *count;
    } else {
      stats.by_topic[key.substr(0, dot)][key.substr(dot + 1)] = *count;
    }
  }
  return stats;
}

Counters minus(const Counters& now, const Counters* before) {
  Counters out = now;
  if (before == nullptr) return out;
  for (auto& [key, value] : out) {
    auto it = before->find(key);
    if (it != before->end() && it->second <= value) value -= it->second;
  }
  return out;
}

void add(Counters& into, const Counters& more) {
  for (const auto& [key, value] : more) into[key] += value;
}

}  // namespace

std::optional<RecorderStats> read_recorder_stats(const SessionFile& file) {
  const auto& names = file.info.metadata;
  for (size_t i = names.size(); i-- > 0;) {
    if (names[i] != "mcaprec.stats" || i >= file.info.metadata_offsets.size()) continue;
    auto record = mcap::read_metadata_at(file.mapped.bytes(), file.info.metadata_offsets[i]);
    if (record) return parse_stats(*record);
  }
  return std::nullopt;
}

std::vector<Counters> file_shares(const std::vector<std::optional<RecorderStats>>& stats) {
  std::vector<Counters> shares(stats.size());
  std::map<std::string, const Counters*> last_of_session;
  for (size_t i = 0; i < stats.size(); ++i) {
    if (!stats[i]) continue;
    const Counters*& before = last_of_session[stats[i]->session_start];
    shares[i] = minus(stats[i]->totals, before);
    before = &stats[i]->totals;
  }
  return shares;
}

SessionCounters session_counters(const std::vector<std::optional<RecorderStats>>& stats) {
  std::map<std::string, const RecorderStats*> last_of_session;
  SessionCounters out;
  for (const auto& file : stats) {
    if (!file) continue;
    ++out.files_with_stats;
    last_of_session[file->session_start] = &*file;
  }
  out.sessions = last_of_session.size();
  for (const auto& [session, last] : last_of_session) {
    add(out.totals, last->totals);
    for (const auto& [topic, counters] : last->by_topic) add(out.by_topic[topic], counters);
  }
  return out;
}

uint64_t dropped_total(const Counters& counters) {
  uint64_t total = 0;
  for (const auto& [key, value] : counters) {
    if (key.starts_with(kDropPrefix)) total += value;
  }
  return total;
}

std::string drop_breakdown(const Counters& counters) {
  std::string out;
  for (const auto& [key, value] : counters) {
    if (!key.starts_with(kDropPrefix) || value == 0) continue;
    if (!out.empty()) out += ", ";
    out += key.substr(kDropPrefix.size()) + " " + std::to_string(value);
  }
  return out;
}

Counters other_counters(const Counters& counters) {
  Counters out;
  for (const auto& [key, value] : counters) {
    if (key == "received" || key == "written" || key.starts_with(kDropPrefix) || value == 0) {
      continue;
    }
    out[key] = value;
  }
  return out;
}

}  // namespace mcaprec::tool
