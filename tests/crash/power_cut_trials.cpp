// Power-cut trials (docs/ARCHITECTURE.md §10): the real pipeline records under load into a
// scratch directory through PowerCutFileSystem (rotating often, retention deleting old files,
// syncing every few milliseconds); then, at many operation indexes of that run, the disk as a
// power cut could leave it is written out, the start-up recovery runs on it, and these must hold:
//   - no `.active` file is left, and every file passes our verifier (every CRC, every index);
//   - every message its file had made durable (fdatasync'd after it was written) before the cut
//     is present, unless the recorder had deleted that file (retention);
//   - no message is present twice;
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

// A message, as the trials name it: its file channel id and its sequence number.
using MessageId = std::pair<uint16_t, uint32_t>;

// What one run recorded, and how.
struct Run {
  uint64_t seed = 0;
  std::string live_directory;
  std::vector<FsOperation> operations;
  uint64_t messages_pushed = 0;
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

// Several channels, known sequence numbers, paced so that syncs, rotations, finalizations and
// deletions interleave with writes.
bool record(Run& run, const std::string& directory) {
  std::mt19937_64 random(run.seed);
  auto file_system = std::make_shared<PowerCutFileSystem>();
  pipeline::PipelineOptions options = run_options(random, directory, run.description);
  options.file_system = file_system;
  auto started = pipeline::Pipeline::start(options);
  if (!started) {
    std::fprintf(stderr, "run %llu: cannot start: %s\n", (unsigned long long)run.seed,
                 started.error().message.c_str());
    return false;
  }
  pipeline::Pipeline& recorder = **started;
  const size_t channel_count = 2 + random() % 3;
  std::vector<pipeline::ChannelHandle> channels;
  for (size_t i = 0; i < channel_count; ++i) {
    pipeline::ChannelSpec spec;
    spec.topic = "/power_cut/" + std::to_string(i);
    spec.message_encoding = "raw";
    channels.push_back(*recorder.declare_channel(spec));
  }
  std::vector<uint32_t> sequence(channel_count, 0);
  const uint64_t messages = 4000 + random() % 4000;
  const uint64_t max_payload = 40 + random() % 400;
  for (uint64_t n = 0; n < messages; ++n) {
    const size_t c = random() % channel_count;
    const uint32_t number = ++sequence[c];
    const mcap::Bytes payload = test_support::payload(
        number, 8 + random() % max_payload,
        random() % 2 == 0 ? test_support::Filler::kRuns : test_support::Filler::kNoise);
    const mcap::Timestamp now = mcap::Timestamp(n + 1) * 1000;
    recorder.push(channels[c], now, now, number, payload);
    if (n % 25 == 24) std::this_thread::sleep_for(std::chrono::microseconds(300));
    if (n % 1000 == 999) recorder.request_rotation();
  }
  run.messages_pushed = messages;
  if (base::Status stopped = recorder.stop(); !stopped) {
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
  for (size_t i = 0; i < ops.size(); ++i) {
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
        moments[summary ? "mid-summary" : "mid-write"].push_back(i);
        break;
      }
      case FsOperation::Kind::kRename:
        moments["after-rename"].push_back(i + 1);
        break;
      case FsOperation::Kind::kUnlink:
        moments["before-delete"].push_back(i);
        moments["after-delete"].push_back(i + 1);
        break;
      case FsOperation::Kind::kSyncFile:
        moments["after-sync"].push_back(i + 1);
        break;
      case FsOperation::Kind::kCreate:
        moments["after-create"].push_back(i + 1);
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

struct Expectations {
  std::map<MessageId, std::string> durable;  // message -> the file that had made it durable
  std::map<std::string, std::vector<uint8_t>> finished;  // durable final names -> content
};

Expectations expectations_at(const PowerCutReplay& replay) {
  Expectations expected;
  for (const auto& [path, durable] : replay.durable_files()) {
    const std::string name = fs::path(path).filename().string();
    for (const MessageId& id : messages_in(durable)) expected.durable[id] = name;
  }
  const std::map<std::string, std::vector<uint8_t>> files = replay.durable_files();
  for (const std::string& path : replay.durable_names()) {
    if (path.ends_with(".active")) continue;
    expected.finished[fs::path(path).filename().string()] = files.at(path);
  }
  return expected;
}

class ImageStore {
 public:
  explicit ImageStore(std::string directory) : directory_(std::move(directory)) {}
  void keep(const fs::path& file, const std::vector<uint8_t>& bytes) {
    if (directory_.empty()) return;
    const uint64_t hash = fnv1a(bytes);
    if (!seen_.insert({hash, bytes.size()}).second) return;
    char name[64];
    std::snprintf(name, sizeof(name), "%016llx_%zu.mcap", (unsigned long long)hash, bytes.size());
    fs::copy_file(file, fs::path(directory_) / name, fs::copy_options::overwrite_existing);
  }
  size_t kept() const { return seen_.size(); }

 private:
  std::string directory_;
  std::set<std::pair<uint64_t, size_t>> seen_;
};

// Recovers the image as mcaprecd does at start and checks it; the problems found, if any.
std::vector<std::string> check_image(const std::string& image, const Expectations& expected,
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
  std::map<MessageId, std::vector<std::string>> found;
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(image)) {
    const std::string name = entry.path().filename().string();
    names.insert(name);
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
    for (const MessageId& id : messages_in(bytes)) found[id].push_back(name);
    if (auto finished = expected.finished.find(name);
        finished != expected.finished.end() && finished->second != bytes) {
      problems.push_back(name + ": a durable finished file changed");
    }
  }
  for (const auto& [name, content] : expected.finished) {
    if (!names.contains(name)) problems.push_back(name + ": durable finished file is gone");
  }
  size_t missing = 0;
  for (const auto& [id, file] : expected.durable) {
    if (found.contains(id)) continue;
    if (missing++ < 3) {
      problems.push_back("message " + std::to_string(id.first) + "/" + std::to_string(id.second) +
                         " durable in " + file + " is missing");
    }
  }
  if (missing > 3) problems.push_back(std::to_string(missing) + " durable messages missing");
  for (const auto& [id, holders] : found) {
    if (holders.size() > 1) {
      problems.push_back("message " + std::to_string(id.first) + "/" + std::to_string(id.second) +
                         " present " + std::to_string(holders.size()) + " times");
      break;
    }
  }
  return problems;
}

// ---- Trials

struct Totals {
  uint64_t trials = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> by_moment;
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
  if (args.verbose) {
    std::printf("run %llu: %s: %llu messages, %zu operations\n", (unsigned long long)run_seed,
                run.description.c_str(), (unsigned long long)run.messages_pushed,
                run.operations.size());
  }
  PowerCutReplay replay(run.operations);
  const fs::path image = scratch / "image";
  for (const Cut& cut : choose_cuts(run, trials)) {
    replay.advance_to(cut.index);
    fs::remove_all(image);
    fs::create_directories(image);
    replay.write_image(image.string(), cut.seed, fate_of(cut.seed));
    const std::vector<std::string> problems =
        check_image(image.string(), expectations_at(replay), store);
    ++totals.trials;
    ++totals.by_moment[cut.why];
    if (problems.empty()) continue;
    ++totals.failed;
    const FsOperation* next =
        cut.index < run.operations.size() ? &run.operations[cut.index] : nullptr;
    std::printf(
        "FAIL run seed %llu (%s), cut at operation %zu of %zu (%s; next: %s), cut seed "
        "%llu:\n",
        (unsigned long long)run_seed, run.description.c_str(), cut.index, run.operations.size(),
        cut.why.c_str(), next ? test_support::kind_name(next->kind) : "none",
        (unsigned long long)cut.seed);
    for (const std::string& problem : problems) std::printf("  %s\n", problem.c_str());
    if (!args.keep_failed.empty()) {
      const fs::path kept =
          fs::path(args.keep_failed) / (std::to_string(run_seed) + "-" + std::to_string(cut.index) +
                                        "-" + std::to_string(cut.seed));
      fs::create_directories(kept);
      replay.write_image(kept.string(), cut.seed, fate_of(cut.seed));
      std::printf("  image before recovery: %s\n", kept.c_str());
    }
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
      "%s %llu power cuts over %zu runs (%s), %llu failed, %zu distinct files kept, "
      "%.1f s\n",
      totals.failed == 0 ? "ok" : "FAIL", (unsigned long long)totals.trials, runs.size(),
      moments.c_str(), (unsigned long long)totals.failed, store.kept(), seconds);
  return totals.failed == 0 ? 0 : 1;
}
