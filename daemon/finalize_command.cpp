#include "daemon/finalize_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace mcaprec::daemon {

namespace {

constexpr size_t kStderrTail = 2048;
using Clock = std::chrono::steady_clock;

// The parts of a spawn that need cleaning up, whatever happens.
struct Spawned {
  pid_t pid = -1;
  int stderr_fd = -1;
  std::string error;
};

Spawned spawn(const std::vector<std::string>& argv, const std::string& path) {
  Spawned spawned;
  std::vector<char*> args;
  for (const std::string& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(const_cast<char*>(path.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spawned.error = std::string("pipe: ") + std::strerror(errno);
    return spawned;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // A group of its own (killed whole at the timeout), the signals the daemon blocks unblocked,
  // and the ones it handles back to their defaults.
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const int failed =
      posix_spawnp(&spawned.pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (failed != 0) {
    ::close(pipe_fds[0]);
    spawned.pid = -1;
    spawned.error = "cannot start " + argv[0] + ": " + std::strerror(failed);
    return spawned;
  }
  spawned.stderr_fd = pipe_fds[0];
  return spawned;
}

// Reads what is there without blocking; false at end of file.
bool read_available(int fd, std::string& tail) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      tail.append(buffer, static_cast<size_t>(n));
      if (tail.size() > kStderrTail) tail.erase(0, tail.size() - kStderrTail);
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
  }
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Waits for the child and collects its stderr until it exits or the deadline passes.
FinalizeRun wait_for(const Spawned& child, Clock::time_point deadline) {
  FinalizeRun run;
  ::fcntl(child.stderr_fd, F_SETFL, O_NONBLOCK);
  bool open = true;
  for (;;) {
    int status = 0;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
      if (open) read_available(child.stderr_fd, run.stderr_tail);
      run.outcome = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? FinalizeOutcome::ok
                                                                  : FinalizeOutcome::failed;
      run.detail = status_text(status);
      return run;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      ::kill(-child.pid, SIGKILL);
      ::waitpid(child.pid, &status, 0);
      if (open) read_available(child.stderr_fd, run.stderr_tail);
      run.outcome = FinalizeOutcome::timed_out;
      run.detail = "timed out, killed";
      return run;
    }
    // Poll the pipe while it is open (a grandchild may keep it open after the child is gone),
    // else just sleep a little: at most 50 ms between looks at the child.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const int wait_ms = static_cast<int>(std::min<int64_t>(50, left.count() + 1));
    if (open) {
      pollfd fd{child.stderr_fd, POLLIN, 0};
      if (::poll(&fd, 1, wait_ms) > 0) open = read_available(child.stderr_fd, run.stderr_tail);
    } else {
      ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
}

}  // namespace

FinalizeRun run_finalize_command(const std::vector<std::string>& argv, const std::string& path,
                                 std::chrono::nanoseconds timeout) {
  const Spawned child = spawn(argv, path);
  if (child.pid < 0) return FinalizeRun{FinalizeOutcome::failed, child.error, ""};
  FinalizeRun run = wait_for(child, Clock::now() + timeout);
  if (run.outcome == FinalizeOutcome::timed_out) {
    run.detail = "still running after " +
                 std::to_string(std::chrono::duration<double>(timeout).count()).substr(0, 5) +
                 " s: killed";
  }
  ::close(child.stderr_fd);
  return run;
}

FinalizeCommandRunner::FinalizeCommandRunner(std::vector<std::string> argv,
                                             std::chrono::nanoseconds timeout)
    : argv_(std::move(argv)), timeout_(timeout), thread_([this] { run(); }) {}

FinalizeCommandRunner::~FinalizeCommandRunner() {
  stop();
}

void FinalizeCommandRunner::enqueue(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(path);
  }
  pending_.fetch_add(1, std::memory_order_relaxed);
  wake_.notify_one();
}

void FinalizeCommandRunner::stop() {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) stop_deadline_ = Clock::now() + timeout_;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

FinalizeCommandStats FinalizeCommandRunner::stats() const {
  return FinalizeCommandStats{
      ok_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed),
      timed_out_.load(std::memory_order_relaxed), pending_.load(std::memory_order_relaxed)};
}

void FinalizeCommandRunner::run() {
  for (;;) {
    std::string path;
    std::chrono::nanoseconds timeout = timeout_;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      path = std::move(queue_.front());
      queue_.pop_front();
      if (stopping_) timeout = std::min(timeout, stop_deadline_ - Clock::now());
    }
    if (timeout.count() > 0) {
      count(path, run_finalize_command(argv_, path, timeout));
    } else {
      count(path, FinalizeRun{FinalizeOutcome::failed, "not run: mcaprecd was stopping", ""});
    }
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void FinalizeCommandRunner::count(const std::string& path, const FinalizeRun& run) {
  switch (run.outcome) {
    case FinalizeOutcome::ok:
      ok_.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("on_finalize {}: ok", path);
      return;
    case FinalizeOutcome::failed:
      failed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case FinalizeOutcome::timed_out:
      timed_out_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  std::string tail = run.stderr_tail;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  spdlog::error("on_finalize {} failed ({}){}{}", path, run.detail, tail.empty() ? "" : ": ", tail);
}

}  // namespace mcaprec::daemon
