// Power-cut trials (docs/ARCHITECTURE.md §10): the real pipeline records under load into a
// scratch directory through PowerCutFileSystem (rotating often, retention deleting old files,
// syncing every few milliseconds, and event recording: a look-back ring, an on_event channel,
// events marked by a topic rule at random moments, event files open, finalized and deleted by
// their quota during the run); then, at many operation indexes of that run, the disk as a
// power cut could leave it is written out, the start-up recovery runs on it, and these must hold:
//   - no `.active` file is left, and every file passes our verifier (every CRC, every index);
//   - every message a continuous file had made durable (fdatasync'd after it was written) before
//     the cut is in a continuous file, unless the recorder had deleted that file (retention);
//     every message an event file had made durable is in that event file, unless deleted;
//   - no message is twice in the continuous files, nor twice in one event file (an event file
//     repeats messages of the continuous files by design), and no message of an on_event
//     channel is in a continuous file;
//   - a finished file whose rename a directory fsync had made durable is there, unchanged.
// Each run and each cut is named by a seed. With --images DIR, every distinct file the trials
// ended with is kept in DIR for the official reader (tests/crash/check_images.mjs).
//
// usage: power_cut_trials [--trials N] [--seed S] [--runs R] [--seeds-file F] [--images DIR]
//                         [--scratch DIR] [--keep-failed DIR] [--verbose]
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/reader.hpp"
#include "mcap/verify.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "power_cut_file_system.hpp"
#include "storage/recovery.hpp"

namespace fs = std::filesystem;
using namespace mcaprec;
using test_support::FsOperation;
using test_support::PageFate;
using test_support::PowerCutFileSystem;
using test_support::PowerCutReplay;

namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  std::seed_seq seq{uint32_t(a), uint32_t(a >> 32), uint32_t(b), uint32_t(b >> 32)};
  std::mt19937_64 random(seq);
  return random();
}

struct Args {
  uint64_t trials = 1000;
  uint64_t seed = 1;
  uint64_t runs = 0;  // 0: one run per 125 trials
  std::string seeds_file;
  std::string images;
  std::string scratch;
  std::string keep_failed;  // images of failed cuts, as the power cut left them
  bool verbose = false;
};

constexpr const char* kTriggerTopic = "/power_cut/trigger";

// Event files (`<prefix>_event_<name>_<UTC>.mcap`) and continuous files are checked apart: a
// message of an event file may also be in a continuous file (by design), but neither family may
// hold a message twice where it should hold it once.
bool is_event_file(const std::string& name) {
  return name.find("_event_") != std::string::npos;
}

// The name a file has once finalized or recovered.
std::string final_name(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (name.ends_with(".active")) name.resize(name.size() - std::strlen(".active"));
  return name;
}

// A message, as the trials name it: its file channel id and its sequence number.
using MessageId = std::pair<uint16_t, uint32_t>;

// What one run recorded, and how.
struct Run {
  uint64_t seed = 0;
  std::string live_directory;
  std::vector<FsOperation> operations;
  uint64_t messages_pushed = 0;
  uint64_t events_fired = 0;
  std::set<uint16_t> on_event_channels;  // recorded only in event files
  std::string description;
};

// ---- Recording under load

pipeline::PipelineOptions run_options(std::mt19937_64& random, const std::string& directory,
                                      std::string& description) {
  pipeline::PipelineOptions options;
  options.directory = directory;
  options.prefix = "cut";
  const mcap::Compression codecs[] = {mcap::Compression::kNone, mcap::Compression::kLz4,
                                      mcap::Compression::kZstd};
  options.compression = codecs[random() % 3];
  options.chunk_size = 2048 + random() % 6144;
  options.chunk_max_age = std::chrono::milliseconds(2 + random() % 8);
  options.compressor_threads = 1 + random() % 2;
  options.memory_budget = uint64_t{16} << 20;
  options.default_overflow = pipeline::OverflowPolicy::kBlock;
  options.max_bytes = 24576 + random() % 40960;
  options.max_duration = std::chrono::nanoseconds(0);
  options.max_total_bytes = options.max_bytes * (3 + random() % 3);
  options.sync_interval = std::chrono::milliseconds(1 + random() % 5);
  description = std::string("codec=") + std::string(mcap::compression_name(options.compression)) +
                " chunk_size=" + std::to_string(options.chunk_size) +
                " max_bytes=" + std::to_string(options.max_bytes) +
                " max_total_bytes=" + std::to_string(options.max_total_bytes) +
                " sync_ms=" + std::to_string(options.sync_interval.count() / 1000000);
  return options;
}

// Event recording: a look-back ring of 3-20 ms (sometimes spilling to its spool), a topic rule
// whose messages mark events, a quota on event files (so that they are deleted too). Its own random
// stream, so that a run seed names the same continuous recording as before events were added.
events::EventOptions event_options(std::mt19937_64& random, std::string& description) {
  events::EventOptions events;
  events.enabled = true;
  events.look_back = std::chrono::milliseconds(3 + random() % 17);
  events.memory_bytes = random() % 2 == 0 ? uint64_t{16} << 20 : 16384 + random() % 32768;
  events.spool_bytes = uint64_t{4} << 20;
  events.max_total_bytes = 49152 + random() % 131072;
  events::TriggerRule rule;
  rule.topic = kTriggerTopic;
  rule.name = "cut";
  rule.before = std::chrono::milliseconds(random() % 20);
  rule.after = std::chrono::milliseconds(random() % 10);
  events.triggers.push_back(rule);
  description += " look_back_ms=" + std::to_string(events.look_back.count() / 1000000) +
                 " ring_bytes=" + std::to_string(events.memory_bytes) +
                 " event_quota=" + std::to_string(events.max_total_bytes) +
                 " event_after_ms=" + std::to_string(rule.after.count() / 1000000);
  return events;
}

// An event file stays open until the wall clock passes its window's end (in log time) by
// 2 x chunk_max_age + 1 s. Log times run that far behind the wall clock, less `hold`, so that
// each event file stays open for its look-ahead plus `hold` and is finalized during the run.
class LogClock {
 public:
  LogClock(const pipeline::PipelineOptions& options, std::chrono::nanoseconds hold)
      : behind_(2 * options.chunk_max_age + std::chrono::seconds(1) - hold) {}
  mcap::Timestamp now() const {
    const auto wall = std::chrono::system_clock::now().time_since_epoch() - behind_;
    return mcap::Timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
  }

 private:
  std::chrono::nanoseconds behind_;
};

// Several channels (one of them on_event, recorded only in event files), known sequence numbers,
// paced so that syncs, rotations, finalizations, deletions and event files interleave with
// writes; a message on the trigger topic now and then marks an event.
bool record(Run& run, const std::string& directory) {
  std::mt19937_64 random(run.seed);
  std::mt19937_64 event_random(mix(run.seed, 0xE7E7));
  auto file_system = std::make_shared<PowerCutFileSystem>();
  pipeline::PipelineOptions options = run_options(random, directory, run.description);
  options.file_system = file_system;
  options.events = event_options(event_random, run.description);
  const LogClock clock(options, std::chrono::milliseconds(5 + event_random() % 40));
  auto started = pipeline::Pipeline::start(options);
  if (!started) {
    std::fprintf(stderr, "run %llu: cannot start: %s\n", (unsigned long long)run.seed,
                 started.error().message.c_str());
    return false;
  }
  pipeline::Pipeline& recorder = **started;
  const size_t channel_count = 2 + random() % 3;
  std::vector<pipeline::ChannelHandle> channels;
  // channels[channel_count] is on_event, channels[channel_count + 1] the trigger.
  for (size_t i = 0; i < channel_count + 2; ++i) {
    pipeline::ChannelSpec spec;
    spec.topic =
        i == channel_count + 1 ? std::string(kTriggerTopic) : "/power_cut/" + std::to_string(i);
    spec.message_encoding = "raw";
    spec.on_event = i == channel_count;
    channels.push_back(*recorder.declare_channel(spec));
  }
  run.on_event_channels.insert(pipeline::record_id(channels[channel_count].id()));
  std::vector<uint32_t> sequence(channels.size(), 0);
  const uint64_t messages = 4000 + random() % 4000;
  const uint64_t max_payload = 40 + random() % 400;
  const uint64_t trigger_every = 500 + event_random() % 1500;  // messages, on average
  for (uint64_t n = 0; n < messages; ++n) {
    size_t c = random() % channel_count;
    if (event_random() % (channel_count + 1) == 0) c = channel_count;
    if (event_random() % trigger_every == 0) c = channel_count + 1;
    run.events_fired += c == channel_count + 1 ? 1 : 0;
    const uint32_t number = ++sequence[c];
    const mcap::Bytes payload = test_support::payload(
        number, 8 + random() % max_payload,
        random() % 2 == 0 ? test_support::Filler::kRuns : test_support::Filler::kNoise);
    const mcap::Timestamp now = clock.now();
    recorder.push(channels[c], now, now, number, payload);
    if (n % 25 == 24) std::this_thread::sleep_for(std::chrono::microseconds(300));
    if (n % 1000 == 999) recorder.request_rotation();
  }
  run.messages_pushed = messages;
  // Every record submitted while retention paused recording waits with the held chunks and is
  // written when it resumes, so any error at stop is a finding.
  const base::Status stopped = recorder.stop();
  if (!stopped) {
    std::fprintf(stderr, "run %llu: stop: %s\n", (unsigned long long)run.seed,
                 stopped.error().message.c_str());
    return false;
  }
  started->reset();
  run.operations = file_system->operations();
  return true;
}

// ---- Where to cut

struct Cut {
  size_t index = 0;  // the power goes just before this operation
  uint64_t seed = 0;
  std::string why;
};

// Random indexes, and the dangerous moments: a chunk or summary being written, just after a
// rename (before its directory fsync), around a retention delete, right after a sync.
std::vector<Cut> choose_cuts(const Run& run, uint64_t count) {
  std::mt19937_64 random(mix(run.seed, 0xC075));
  const std::vector<FsOperation>& ops = run.operations;
  std::map<std::string, std::vector<size_t>> moments;
  std::set<uint64_t> event_files;  // the files created under an event file's name
  for (size_t i = 0; i < ops.size(); ++i) {
    const bool event = is_event_file(ops[i].path) || event_files.contains(ops[i].file);
    if (event && ops[i].kind == FsOperation::Kind::kCreate) event_files.insert(ops[i].file);
    // The same moments in an event file are named apart, so that they are cut at too.
    auto moment = [&](const std::string& name) -> std::vector<size_t>& {
      return moments[event ? "event-" + name : name];
    };
    switch (ops[i].kind) {
      case FsOperation::Kind::kWrite: {
        // A write just before a file's final sync (then its rename) is its summary; the others
        // carry chunks.
        auto is = [&](size_t at, FsOperation::Kind kind) {
          return at < ops.size() && ops[at].kind == kind;
        };
        const bool summary =
            is(i + 1, FsOperation::Kind::kSyncFile) &&
            (is(i + 2, FsOperation::Kind::kRename) || is(i + 3, FsOperation::Kind::kRename));
        moment(summary ? "mid-summary" : "mid-write").push_back(i);
        break;
      }
      case FsOperation::Kind::kRename:
        moment("after-rename").push_back(i + 1);
        break;
      case FsOperation::Kind::kUnlink:
        moment("before-delete").push_back(i);
        moment("after-delete").push_back(i + 1);
        break;
      case FsOperation::Kind::kSyncFile:
        moment("after-sync").push_back(i + 1);
        break;
      case FsOperation::Kind::kCreate:
        moment("after-create").push_back(i + 1);
        break;
      default:
        break;
    }
  }
  std::vector<Cut> cuts;
  for (uint64_t n = 0; n < count; ++n) {
    Cut cut;
    cut.seed = mix(run.seed, n + 1);
    // Half at random indexes, half at one of the moments, in turn.
    if (n % 2 == 0 || moments.empty()) {
      cut.index = random() % (ops.size() + 1);
      cut.why = "random";
    } else {
      auto moment = std::next(moments.begin(), std::ptrdiff_t((n / 2) % moments.size()));
      cut.index = moment->second[random() % moment->second.size()];
      cut.why = moment->first;
    }
    cuts.push_back(cut);
  }
  std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) { return a.index < b.index; });
  return cuts;
}

// ---- Checking one image

// Messages in `bytes` as far as they read (a cut-off file stops where it is cut).
std::vector<MessageId> messages_in(mcap::ByteView bytes) {
  std::vector<MessageId> out;
  mcap::StreamReader reader(bytes);
  for (;;) {
    auto next = reader.next();
    if (!next || !*next) break;
    if (const auto* message = std::get_if<mcap::Message>(&(*next)->record)) {
      out.emplace_back(message->channel_id, message->sequence);
    }
  }
  return out;
}

// The recorder fills in every chunk CRC; a 0 one (legal, "not computed") is damage kept.
std::string zero_chunk_crc(const std::vector<uint8_t>& bytes) {
  auto summary = mcap::read_summary(bytes);
  if (!summary) return "summary: " + summary.error().message;
  for (const mcap::ChunkIndex& chunk : summary->chunk_indexes) {
    const uint64_t crc_at = chunk.chunk_start_offset + 1 + 8 + 8 + 8 + 8;
    if (crc_at + 4 > bytes.size() || mcap::load_le<uint32_t>(bytes.data() + crc_at) == 0) {
      return "the chunk at offset " + std::to_string(chunk.chunk_start_offset) + " has no CRC";
    }
  }
  return "";
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 1469598103934665603ull;
  for (uint8_t b : bytes) hash = (hash ^ b) * 1099511628211ull;
  return hash;
}

std::string message_name(const MessageId& id) {
  return "message " + std::to_string(id.first) + "/" + std::to_string(id.second);
}

struct Expectations {
  // message -> the continuous file that had made it durable; it must be in a continuous file.
  std::map<MessageId, std::string> durable;
  // event file (final name) -> the messages it had made durable; they must be in that file.
  std::map<std::string, std::vector<MessageId>> durable_in_event_file;
  std::map<std::string, std::vector<uint8_t>> finished;  // durable final names -> content
};

Expectations expectations_at(const PowerCutReplay& replay) {
  Expectations expected;
  const std::map<std::string, std::vector<uint8_t>> files = replay.durable_files();
  for (const auto& [path, durable] : files) {
    const std::string name = final_name(path);
    if (is_event_file(name)) {
      expected.durable_in_event_file[name] = messages_in(durable);
      continue;
    }
    for (const MessageId& id : messages_in(durable)) expected.durable[id] = name;
  }
  for (const std::string& path : replay.durable_names()) {
    if (path.ends_with(".active")) continue;
    expected.finished[fs::path(path).filename().string()] = files.at(path);
  }
  return expected;
}

// Keeps each distinct file once, for the official reader; event files are named `event_…`.
class ImageStore {
 public:
  explicit ImageStore(std::string directory) : directory_(std::move(directory)) {}
  void keep(const fs::path& file, const std::vector<uint8_t>& bytes) {
    if (directory_.empty()) return;
    const uint64_t hash = fnv1a(bytes);
    if (!seen_.insert({hash, bytes.size()}).second) return;
    const bool event = is_event_file(file.filename().string());
    events_ += event ? 1 : 0;
    char name[80];
    std::snprintf(name, sizeof(name), "%s%016llx_%zu.mcap", event ? "event_" : "",
                  (unsigned long long)hash, bytes.size());
    fs::copy_file(file, fs::path(directory_) / name, fs::copy_options::overwrite_existing);
  }
  size_t kept() const { return seen_.size(); }
  size_t event_files() const { return events_; }

 private:
  std::string directory_;
  std::set<std::pair<uint64_t, size_t>> seen_;
  size_t events_ = 0;
};

// What the recovered directory holds: each continuous message with its files (once per copy),
// and each event file's messages.
struct Found {
  std::map<MessageId, std::vector<std::string>> continuous;
  std::map<std::string, std::vector<MessageId>> in_event_file;
  std::set<std::string> names;
};

// Our verifier on every file of the recovered image, and what each holds.
Found read_image(const std::string& image, const Expectations& expected,
                 const std::set<uint16_t>& on_event_channels, ImageStore& store,
                 std::vector<std::string>& problems) {
  Found found;
  for (const auto& entry : fs::directory_iterator(image)) {
    const std::string name = entry.path().filename().string();
    found.names.insert(name);
    if (name.ends_with(".active")) {
      problems.push_back(name + ": left as .active");
      continue;
    }
    const std::vector<uint8_t> bytes = read_bytes(entry.path());
    const mcap::VerifyReport report = mcap::verify_file(bytes);
    if (!report.ok()) {
      problems.push_back(name + ": " + report.findings.front().to_string());
      continue;
    }
    if (std::string crc = zero_chunk_crc(bytes); !crc.empty()) {
      problems.push_back(name + ": " + crc);
      continue;
    }
    store.keep(entry.path(), bytes);
    const std::vector<MessageId> messages = messages_in(bytes);
    if (is_event_file(name)) {
      found.in_event_file[name] = messages;
    } else {
      for (const MessageId& id : messages) {
        found.continuous[id].push_back(name);
        if (on_event_channels.contains(id.first)) {
          problems.push_back(name + ": " + message_name(id) + " of an on_event channel");
        }
      }
    }
    if (auto finished = expected.finished.find(name);
        finished != expected.finished.end() && finished->second != bytes) {
      problems.push_back(name + ": a durable finished file changed");
    }
  }
  return found;
}

// Within one event file: every message it had made durable is there, none twice.
void check_event_files(const Expectations& expected, const Found& found,
                       std::vector<std::string>& problems) {
  for (const auto& [name, messages] : found.in_event_file) {
    std::set<MessageId> seen;
    for (const MessageId& id : messages) {
      if (!seen.insert(id).second) {
        problems.push_back(name + ": " + message_name(id) + " present twice");
        break;
      }
    }
  }
  for (const auto& [name, durable] : expected.durable_in_event_file) {
    if (durable.empty()) continue;
    auto file = found.in_event_file.find(name);
    if (file == found.in_event_file.end()) {
      if (!found.names.contains(name)) {
        problems.push_back(name + ": event file with durable messages is gone");
      }
      continue;  // present but refused by the verifier: already a problem
    }
    const std::set<MessageId> there(file->second.begin(), file->second.end());
    const auto missing = std::count_if(durable.begin(), durable.end(),
                                       [&](const MessageId& id) { return !there.contains(id); });
    if (missing > 0) {
      problems.push_back(name + ": " + std::to_string(missing) + " of its " +
                         std::to_string(durable.size()) + " durable messages missing");
    }
  }
}

// Across the continuous files: every durable message there, none twice.
void check_continuous_files(const Expectations& expected, const Found& found,
                            std::vector<std::string>& problems) {
  size_t missing = 0;
  for (const auto& [id, file] : expected.durable) {
    if (found.continuous.contains(id)) continue;
    if (missing++ < 3) {
      problems.push_back(message_name(id) + " durable in " + file + " is missing");
    }
  }
  if (missing > 3) problems.push_back(std::to_string(missing) + " durable messages missing");
  for (const auto& [id, holders] : found.continuous) {
    if (holders.size() > 1) {
      problems.push_back(message_name(id) + " present " + std::to_string(holders.size()) +
                         " times in continuous files");
      break;
    }
  }
}

// Recovers the image as mcaprecd does at start and checks it; the problems found, if any.
std::vector<std::string> check_image(const std::string& image, const Expectations& expected,
                                     const std::set<uint16_t>& on_event_channels,
                                     ImageStore& store) {
  std::vector<std::string> problems;
  storage::RecoverOptions options;
  options.threads = 1;
  auto recovered = storage::recover_directory(image, options);
  if (!recovered) return {"recovery: " + recovered.error().message};
  for (const storage::FailedRecovery& failed : recovered->failed) {
    problems.push_back("cannot recover " + fs::path(failed.path).filename().string() + ": " +
                       failed.error.message);
  }
  const Found found = read_image(image, expected, on_event_channels, store, problems);
  for (const auto& [name, content] : expected.finished) {
    if (!found.names.contains(name)) problems.push_back(name + ": durable finished file is gone");
  }
  check_continuous_files(expected, found, problems);
  check_event_files(expected, found, problems);
  return problems;
}

// ---- Trials

struct Totals {
  uint64_t trials = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> by_moment;
  uint64_t events_fired = 0;
  uint64_t cuts_with_open_event_file = 0;      // an event `.active` in the image before recovery
  uint64_t cuts_with_finished_event_file = 0;  // a finalized event file in it
};

PageFate fate_of(uint64_t seed) {
  switch (seed % 4) {
    case 0:
      return PageFate::kAllKept;
    case 1:
      return PageFate::kAllLost;
    default:
      return PageFate::kMixed;
  }
}

// What state the cut left event files in, before recovery.
void count_event_files(const fs::path& image, Totals& totals) {
  bool open = false;
  bool finished = false;
  for (const auto& entry : fs::directory_iterator(image)) {
    const std::string name = entry.path().filename().string();
    if (!is_event_file(name)) continue;
    (name.ends_with(".active") ? open : finished) = true;
  }
  totals.cuts_with_open_event_file += open ? 1 : 0;
  totals.cuts_with_finished_event_file += finished ? 1 : 0;
}

void report_failure(const Args& args, const Run& run, const Cut& cut, const PowerCutReplay& replay,
                    const std::vector<std::string>& problems) {
  const FsOperation* next =
      cut.index < run.operations.size() ? &run.operations[cut.index] : nullptr;
  std::printf(
      "FAIL run seed %llu (%s), cut at operation %zu of %zu (%s; next: %s), cut seed "
      "%llu:\n",
      (unsigned long long)run.seed, run.description.c_str(), cut.index, run.operations.size(),
      cut.why.c_str(), next ? test_support::kind_name(next->kind) : "none",
      (unsigned long long)cut.seed);
  for (const std::string& problem : problems) std::printf("  %s\n", problem.c_str());
  if (!args.keep_failed.empty()) {
    const fs::path kept =
        fs::path(args.keep_failed) / (std::to_string(run.seed) + "-" + std::to_string(cut.index) +
                                      "-" + std::to_string(cut.seed));
    fs::create_directories(kept);
    replay.write_image(kept.string(), cut.seed, fate_of(cut.seed));
    std::printf("  image before recovery: %s\n", kept.c_str());
  }
}

void run_trials(const Args& args, uint64_t run_seed, uint64_t trials, const fs::path& scratch,
                ImageStore& store, Totals& totals) {
  Run run;
  run.seed = run_seed;
  const fs::path live = scratch / ("live-" + std::to_string(run_seed));
  fs::create_directories(live);
  if (!record(run, live.string())) {
    ++totals.failed;
    std::printf("FAIL run %llu: the recording itself failed\n", (unsigned long long)run_seed);
    return;
  }
  fs::remove_all(live);
  totals.events_fired += run.events_fired;
  if (args.verbose) {
    std::printf("run %llu: %s: %llu messages, %llu events, %zu operations\n",
                (unsigned long long)run_seed, run.description.c_str(),
                (unsigned long long)run.messages_pushed, (unsigned long long)run.events_fired,
                run.operations.size());
  }
  PowerCutReplay replay(run.operations);
  const fs::path image = scratch / "image";
  for (const Cut& cut : choose_cuts(run, trials)) {
    replay.advance_to(cut.index);
    fs::remove_all(image);
    fs::create_directories(image);
    replay.write_image(image.string(), cut.seed, fate_of(cut.seed));
    count_event_files(image, totals);
    const std::vector<std::string> problems =
        check_image(image.string(), expectations_at(replay), run.on_event_channels, store);
    ++totals.trials;
    ++totals.by_moment[cut.why];
    if (problems.empty()) continue;
    ++totals.failed;
    report_failure(args, run, cut, replay, problems);
  }
  fs::remove_all(image);
}

std::vector<uint64_t> seeds_from_file(const std::string& path) {
  std::vector<uint64_t> seeds;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t hash = line.find('#');
    std::istringstream fields(line.substr(0, hash));
    uint64_t seed = 0;
    if (fields >> seed) seeds.push_back(seed);
  }
  return seeds;
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "power_cut_trials: %s needs a value\n", key.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (key == "--trials") {
      args.trials = std::stoull(value());
    } else if (key == "--seed") {
      args.seed = std::stoull(value());
    } else if (key == "--runs") {
      args.runs = std::stoull(value());
    } else if (key == "--seeds-file") {
      args.seeds_file = value();
    } else if (key == "--images") {
      args.images = value();
    } else if (key == "--scratch") {
      args.scratch = value();
    } else if (key == "--keep-failed") {
      args.keep_failed = value();
    } else if (key == "--verbose") {
      args.verbose = true;
    } else {
      std::fprintf(stderr, "power_cut_trials: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  spdlog::set_level(args.verbose ? spdlog::level::info : spdlog::level::warn);
  const fs::path base = !args.scratch.empty()          ? fs::path(args.scratch)
                        : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                       : fs::temp_directory_path();
  const fs::path scratch =
      base / ("mcaprec-power-cut-" + std::to_string(::getpid()) + "-" + std::to_string(args.seed));
  fs::create_directories(scratch);
  if (!args.images.empty()) fs::create_directories(args.images);
  ImageStore store(args.images);
  Totals totals;
  const auto started = std::chrono::steady_clock::now();

  // Named seeds first (runs that once failed), then the seeded runs.
  std::vector<std::pair<uint64_t, uint64_t>> runs;  // run seed, trials
  if (!args.seeds_file.empty()) {
    for (uint64_t seed : seeds_from_file(args.seeds_file)) runs.emplace_back(seed, 125);
  }
  const uint64_t run_count = args.runs > 0 ? args.runs : std::max<uint64_t>(1, args.trials / 125);
  for (uint64_t r = 0; r < run_count; ++r) {
    const uint64_t trials = args.trials / run_count + (r < args.trials % run_count ? 1 : 0);
    runs.emplace_back(mix(args.seed, r), trials);
  }
  for (const auto& [run_seed, trials] : runs) {
    run_trials(args, run_seed, trials, scratch, store, totals);
  }
  fs::remove_all(scratch);

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string moments;
  for (const auto& [why, n] : totals.by_moment) {
    moments += (moments.empty() ? "" : ", ") + why + " " + std::to_string(n);
  }
  std::printf(
      "%s %llu power cuts over %zu runs (%s), %llu failed; %llu events marked, cuts with an "
      "open event file %llu, with a finalized one %llu; %zu distinct files kept (%zu event "
      "files), %.1f s\n",
      totals.failed == 0 ? "ok" : "FAIL", (unsigned long long)totals.trials, runs.size(),
      moments.c_str(), (unsigned long long)totals.failed, (unsigned long long)totals.events_fired,
      (unsigned long long)totals.cuts_with_open_event_file,
      (unsigned long long)totals.cuts_with_finished_event_file, store.kept(), store.event_files(),
      seconds);
  return totals.failed == 0 ? 0 : 1;
}
