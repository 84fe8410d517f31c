#pragma once
// Running the real `mcaprec` binary from a test: exit code, stdout and stderr apart.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace mcaprec::test_support {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs MCAPREC_TOOL_PATH with `args` (each single-quoted for the shell); stderr goes through
// `stderr_file`, which is overwritten.
inline RunResult run_tool(const std::vector<std::string>& args,
                          const std::filesystem::path& stderr_file) {
  std::string command = std::string("'") + MCAPREC_TOOL_PATH + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " 2>'" + stderr_file.string() + "'";
  RunResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = read_text(stderr_file);
  return result;
}

}  // namespace mcaprec::test_support
