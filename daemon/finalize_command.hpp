#pragma once
// on_finalize: a command of the user's, run with each finished file's path (continuous and event
// files), for those who ship files with their own tools. Off the writer path: the finished-file
// listener only queues the path, one thread runs the commands one after another, in order. A
// command gets a timeout, after which its process group is killed; every run is counted (ok,
// failed, timed out) and a failure is logged with the end of what the command wrote to stderr.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mcaprec::daemon {

struct FinalizeCommandStats {
  uint64_t ok = 0;         // exit status 0
  uint64_t failed = 0;     // another exit status, a signal, or it could not be started
  uint64_t timed_out = 0;  // killed at the timeout
  uint64_t pending = 0;    // files queued, not yet run (including the one running)
};

// What became of one run, for tests and the log.
enum class FinalizeOutcome { ok, failed, timed_out };

struct FinalizeRun {
  FinalizeOutcome outcome = FinalizeOutcome::ok;
  std::string detail;       // "exit status 3", "killed by signal 9", "cannot start: ..."
  std::string stderr_tail;  // the last bytes the command wrote to stderr
};

// Runs `argv` + {path} once, without a shell: stdin and stdout are /dev/null, stderr is kept
// (its tail), the process gets a group of its own so that the timeout kills what it started too.
FinalizeRun run_finalize_command(const std::vector<std::string>& argv, const std::string& path,
                                 std::chrono::nanoseconds timeout);

class FinalizeCommandRunner {
 public:
  FinalizeCommandRunner(std::vector<std::string> argv, std::chrono::nanoseconds timeout);
  ~FinalizeCommandRunner();  // stop()
  FinalizeCommandRunner(const FinalizeCommandRunner&) = delete;
  FinalizeCommandRunner& operator=(const FinalizeCommandRunner&) = delete;

  // Queues a finished file; never waits for a command. Any thread.
  void enqueue(const std::string& path);
  // Runs what is queued, all of it within one timeout from now (a file whose turn comes later is
  // logged and counted as failed, not run), then ends the thread. Idempotent.
  void stop();
  FinalizeCommandStats stats() const;

 private:
  void run();
  void count(const std::string& path, const FinalizeRun& run);

  const std::vector<std::string> argv_;
  const std::chrono::nanoseconds timeout_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;                          // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  std::chrono::steady_clock::time_point stop_deadline_{};  // guarded by mu_
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> pending_{0};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace mcaprec::daemon
