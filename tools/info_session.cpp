#include "info_session.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_helpers.hpp"
#include "mcap/channel_bytes.hpp"
#include "recorder_stats.hpp"
#include "session_metadata.hpp"

namespace mcaprec::tool {
namespace {

using Json = nlohmann::ordered_json;

// Gaps longer than this between one file's last message and the next file's first are flagged:
// rotation itself leaves none, so such a gap means the recorder was stopped, paused or lost data.
constexpr int64_t kFlaggedGapNs = 1'000'000'000;

struct TopicTotals {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

struct Gap {
  size_t after = 0;  // index of the earlier file; the later one is after + 1
  int64_t ns = 0;    // negative when the files overlap in time
  bool flagged() const { return ns > kFlaggedGapNs; }
};

struct Session {
  const SessionFiles* files = nullptr;
  uint64_t messages = 0;
  uint64_t size = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  bool any_message = false;
  std::vector<Gap> gaps;
  std::map<std::string, TopicTotals> topics;
  std::vector<std::optional<RecorderStats>> stats;      // per file
  std::vector<Counters> shares;                         // per file
  std::vector<std::optional<mcap::KeyValueMap>> facts;  // per file: its mcaprec.session
  SessionValues fact_values;                            // every value of each key
  size_t files_with_facts = 0;
  SessionCounters counters;
  std::vector<std::string> byte_errors;  // files whose payload sizes could not be read

  uint64_t duration() const { return any_message ? end - start : 0; }
};

void add_file(Session& s, const SessionFile& file) {
  const mcap::FileInfo& info = file.info;
  s.messages += info.message_count;
  s.size += info.file_size;
  if (info.message_count > 0) {
    s.start = s.any_message ? std::min(s.start, info.message_start_time) : info.message_start_time;
    s.end = std::max(s.end, info.message_end_time);
    s.any_message = true;
  }
  auto bytes = mcap::message_bytes_by_channel(file.mapped.bytes());
  if (!bytes) s.byte_errors.push_back(file.path + ": " + bytes.error().to_string());
  for (const mcap::ChannelInfo& channel : info.channels) {
    TopicTotals& topic = s.topics[channel.topic];
    topic.messages += channel.message_count;
    if (bytes) {
      auto it = bytes->find(channel.id);
      if (it != bytes->end()) topic.bytes += it->second;
    }
  }
}

// Between each file with messages and the next one, after the latest end so far.
void find_gaps(Session& s) {
  const auto& files = s.files->files;
  std::optional<size_t> previous;
  uint64_t latest_end = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const mcap::FileInfo& info = files[i].info;
    if (info.message_count == 0) continue;
    if (previous) {
      s.gaps.push_back({*previous, static_cast<int64_t>(info.message_start_time - latest_end)});
    }
    latest_end = std::max(latest_end, info.message_end_time);
    previous = i;
  }
}

Session summarize(const SessionFiles& files) {
  Session s;
  s.files = &files;
  for (const SessionFile& file : files.files) {
    add_file(s, file);
    s.stats.push_back(read_recorder_stats(file));
    s.facts.push_back(read_session_metadata(file.mapped.bytes(), file.info));
    if (s.facts.back()) {
      add_session_values(s.fact_values, *s.facts.back());
      ++s.files_with_facts;
    }
  }
  find_gaps(s);
  s.shares = file_shares(s.stats);
  s.counters = session_counters(s.stats);
  return s;
}

std::optional<double> rate_hz(uint64_t count, uint64_t duration_ns) {
  if (duration_ns == 0) return std::nullopt;
  return static_cast<double>(count) / (static_cast<double>(duration_ns) / 1e9);
}

std::string signed_duration(int64_t ns) {
  if (ns >= 0) return human_duration(static_cast<uint64_t>(ns));
  return "-" + human_duration(static_cast<uint64_t>(-ns));
}

// ---- text

void print_file_line(const SessionFile& file, const Counters& share,
                     const std::optional<mcap::KeyValueMap>& facts) {
  const mcap::FileInfo& info = file.info;
  std::string line = "  " + file.path;
  if (info.message_count > 0) {
    line += "  " + iso_time(info.message_start_time) + "  " +
            human_duration(info.message_end_time - info.message_start_time);
  }
  line += "  " + std::to_string(info.message_count) + " msgs  " + human_size(info.file_size);
  if (const uint64_t dropped = dropped_total(share); dropped > 0) {
    line += "  dropped " + std::to_string(dropped);
  }
  if (facts && !device_label(*facts).empty()) line += "  device " + device_label(*facts);
  if (info.scanned) line += "  (scanned: no usable summary)";
  std::printf("%s\n", line.c_str());
}

void print_gaps(const Session& s) {
  const auto& files = s.files->files;
  int64_t largest = 0;
  size_t flagged = 0;
  for (const Gap& gap : s.gaps) {
    largest = std::max(largest, gap.ns);
    if (gap.flagged()) ++flagged;
  }
  std::printf("gaps:        %zu between files, largest %s, %zu longer than 1s\n", s.gaps.size(),
              signed_duration(largest).c_str(), flagged);
  for (const Gap& gap : s.gaps) {
    if (!gap.flagged() && gap.ns >= 0) continue;
    std::printf("  %s %s between %s and %s\n", gap.ns < 0 ? "OVERLAP" : "GAP",
                signed_duration(gap.ns < 0 ? -gap.ns : gap.ns).c_str(),
                files[gap.after].path.c_str(), files[gap.after + 1].path.c_str());
  }
}

void print_topics(const Session& s) {
  std::printf("topics:      %zu\n", s.topics.size());
  size_t topic_width = 0, count_width = 0;
  for (const auto& [topic, totals] : s.topics) {
    topic_width = std::max(topic_width, topic.size());
    count_width = std::max(count_width, std::to_string(totals.messages).size());
  }
  for (const auto& [topic, totals] : s.topics) {
    const auto rate = rate_hz(totals.messages, s.duration());
    std::string line = "  " + topic + std::string(topic_width - topic.size(), ' ') + " ";
    const std::string count = std::to_string(totals.messages);
    line +=
        std::string(count_width - count.size(), ' ') + count + " msgs  " + human_size(totals.bytes);
    if (rate) line += "  (" + fixed(*rate, 2) + " Hz)";
    auto recorded = s.counters.by_topic.find(topic);
    if (recorded != s.counters.by_topic.end()) {
      if (const uint64_t dropped = dropped_total(recorded->second); dropped > 0) {
        line += "  dropped " + std::to_string(dropped);
      }
    }
    std::printf("%s\n", line.c_str());
  }
}

void print_recorder(const Session& s) {
  const SessionCounters& c = s.counters;
  if (c.files_with_stats == 0) {
    std::printf("recorder:    no mcaprec.stats record in these files\n");
    return;
  }
  const auto get = [&](const char* key) {
    auto it = c.totals.find(key);
    return it == c.totals.end() ? uint64_t{0} : it->second;
  };
  std::printf("recorder:    %zu of %zu files with mcaprec.stats, %zu session%s\n",
              c.files_with_stats, s.files->files.size(), c.sessions, c.sessions == 1 ? "" : "s");
  std::printf("  received %llu, written %llu, dropped %llu",
              static_cast<unsigned long long>(get("received")),
              static_cast<unsigned long long>(get("written")),
              static_cast<unsigned long long>(dropped_total(c.totals)));
  const std::string breakdown = drop_breakdown(c.totals);
  std::printf("%s\n", breakdown.empty() ? "" : (" (" + breakdown + ")").c_str());
  for (const auto& [key, value] : other_counters(c.totals)) {
    std::printf("  %s %llu\n", key.c_str(), static_cast<unsigned long long>(value));
  }
}

// Each key of the files' mcaprec.session records with its values, " | " between them.
void print_facts(const Session& s) {
  if (s.files_with_facts == 0) {
    std::printf("session metadata: none (no %s record)\n", kSessionRecordName);
    return;
  }
  std::printf("session metadata: %zu of %zu files with %s\n", s.files_with_facts,
              s.files->files.size(), kSessionRecordName);
  size_t width = 0;
  for (const auto& [key, values] : s.fact_values) width = std::max(width, key.size() + 1);
  for (const auto& [key, values] : s.fact_values) {
    std::string joined;
    for (const std::string& value : values) joined += (joined.empty() ? "" : " | ") + value;
    std::printf("  %-*s %s\n", static_cast<int>(width), (key + ":").c_str(), joined.c_str());
  }
}

void print_text(const Session& s) {
  const auto& files = s.files->files;
  std::printf("files:       %zu (by first message time)\n", files.size());
  for (size_t i = 0; i < files.size(); ++i) print_file_line(files[i], s.shares[i], s.facts[i]);
  std::printf("session:\n");
  std::printf("messages:    %llu\n", static_cast<unsigned long long>(s.messages));
  if (s.any_message) {
    std::printf("start:       %s (%llu)\n", iso_time(s.start).c_str(),
                static_cast<unsigned long long>(s.start));
    std::printf("end:         %s (%llu)\n", iso_time(s.end).c_str(),
                static_cast<unsigned long long>(s.end));
    std::printf("duration:    %s\n", human_duration(s.duration()).c_str());
  }
  std::printf("size:        %s (%llu bytes)\n", human_size(s.size).c_str(),
              static_cast<unsigned long long>(s.size));
  print_gaps(s);
  print_topics(s);
  print_recorder(s);
  print_facts(s);
}

// ---- JSON

Json counters_json(const Counters& counters) {
  Json out = Json::object();
  for (const auto& [key, value] : counters) out[key] = value;
  return out;
}

Json file_json(const SessionFile& file, const Counters& share,
               const std::optional<mcap::KeyValueMap>& facts) {
  const mcap::FileInfo& info = file.info;
  const bool any = info.message_count > 0;
  return {{"path", file.path},
          {"size", info.file_size},
          {"source", info.scanned ? "scan" : "summary"},
          {"messages", info.message_count},
          {"start_ns", info.message_start_time},
          {"end_ns", info.message_end_time},
          {"duration_ns", any ? info.message_end_time - info.message_start_time : 0},
          {"chunks", info.chunk_count},
          {"recorder", counters_json(share)},
          {"session_metadata", facts ? Json(*facts) : Json()}};
}

Json gaps_json(const Session& s) {
  Json out = Json::array();
  for (const Gap& gap : s.gaps) {
    out.push_back({{"after", s.files->files[gap.after].path},
                   {"before", s.files->files[gap.after + 1].path},
                   {"gap_ns", gap.ns},
                   {"flagged", gap.flagged()}});
  }
  return out;
}

Json topics_json(const Session& s) {
  Json out = Json::array();
  for (const auto& [topic, totals] : s.topics) {
    const auto rate = rate_hz(totals.messages, s.duration());
    auto recorded = s.counters.by_topic.find(topic);
    out.push_back(
        {{"topic", topic},
         {"messages", totals.messages},
         {"bytes", totals.bytes},
         {"rate_hz", rate ? Json(rounded(*rate, 3)) : Json()},
         {"recorder", recorded == s.counters.by_topic.end() ? Json::object()
                                                            : counters_json(recorded->second)}});
  }
  return out;
}

Json session_json(const Session& s) {
  size_t flagged = 0;
  for (const Gap& gap : s.gaps) flagged += gap.flagged() ? 1 : 0;
  const SessionCounters& c = s.counters;
  return {{"files", s.files->files.size()},
          {"messages", s.messages},
          {"size", s.size},
          {"start_ns", s.start},
          {"end_ns", s.end},
          {"start", s.any_message ? Json(iso_time(s.start)) : Json()},
          {"end", s.any_message ? Json(iso_time(s.end)) : Json()},
          {"duration_ns", s.duration()},
          {"gaps", gaps_json(s)},
          {"flagged_gaps", flagged},
          {"topics", topics_json(s)},
          {"recorder",
           {{"files_with_stats", c.files_with_stats},
            {"sessions", c.sessions},
            {"dropped", dropped_total(c.totals)},
            {"counters", counters_json(c.totals)}}},
          {"session_metadata", s.fact_values.empty() ? Json::object() : Json(s.fact_values)}};
}

void print_json(const Session& s) {
  Json report = {{"files", Json::array()}, {"session", session_json(s)}, {"errors", Json::array()}};
  const auto& files = s.files->files;
  for (size_t i = 0; i < files.size(); ++i) {
    report["files"].push_back(file_json(files[i], s.shares[i], s.facts[i]));
  }
  for (const UnreadableFile& bad : s.files->unreadable) {
    report["errors"].push_back({{"path", bad.path}, {"error", bad.error}});
  }
  std::fputs(json_report(report, 2).c_str(), stdout);
}

}  // namespace

int print_session_info(const SessionFiles& session, bool json) {
  const Session summary = summarize(session);
  for (const UnreadableFile& bad : session.unreadable) {
    std::fprintf(stderr, "mcaprec info: %s\n", bad.error.c_str());
  }
  for (const std::string& problem : summary.byte_errors) {
    std::fprintf(stderr, "mcaprec info: warning: payload sizes incomplete: %s\n", problem.c_str());
  }
  if (json) {
    print_json(summary);
  } else {
    print_text(summary);
  }
  return session.unreadable.empty() ? kExitOk : kExitFailure;
}

}  // namespace mcaprec::tool
