#pragma once
// Running the real mcaprecd in the end-to-end tests: a child process with its own environment,
// stdout and stderr captured in files, signals, and a bounded wait for its exit. A daemon still
// running when the test ends is killed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mcaprec::e2e {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class DaemonProcess {
 public:
  // Starts `binary args...` with `env` added to (or replacing in) the test's environment.
  DaemonProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::string& out_path, const std::string& err_path,
                const std::map<std::string, std::string>& env = {})
      : out_path_(out_path), err_path_(err_path) {
    std::vector<std::string> argv_storage = {binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~DaemonProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      (void)wait(std::chrono::seconds(10));
    }
  }

  bool running() const { return pid_ > 0 && !exit_code_; }
  void signal(int number) const {
    if (running()) ::kill(pid_, number);
  }

  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string out() const { return read_text(out_path_); }
  pid_t pid() const { return pid_; }
  std::string err() const { return read_text(err_path_); }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace mcaprec::e2e
