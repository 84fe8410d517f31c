#include "daemon/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace mcaprec::daemon {
namespace {

// The fields of /proc/self/stat after the command name, which is in parentheses and may hold
// spaces: fields[0] is the state (field 3 of proc(5)).
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

// proc(5) numbers fields from 1; the command is field 2, so field N is fields[N - 3].
uint64_t field(const std::vector<std::string>& fields, size_t number) {
  if (number < 3 || number - 3 >= fields.size()) return 0;
  const std::string& text = fields[number - 3];
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Unix time of the boot, from the `btime` line of /proc/stat.
uint64_t boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      uint64_t seconds = 0;
      in >> seconds;
      return seconds;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

uint64_t count_open_fds() {
  std::error_code error;
  uint64_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  return count;  // includes the descriptor of the listing itself, as other exporters do
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats stats;
  const std::vector<std::string> fields = stat_fields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (!fields.empty() && ticks > 0) {
    stats.cpu_seconds = static_cast<double>(field(fields, 14) + field(fields, 15)) / ticks;
    stats.virtual_bytes = field(fields, 23);
    stats.resident_bytes = field(fields, 24) * page;
    stats.start_time_seconds =
        boot_time_seconds() + static_cast<uint64_t>(static_cast<double>(field(fields, 22)) / ticks);
  }
  stats.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) stats.max_fds = limit.rlim_cur;
  return stats;
}

std::optional<uint64_t> free_bytes(const std::string& directory) {
  std::error_code error;
  const std::filesystem::space_info space = std::filesystem::space(directory, error);
  if (error) return std::nullopt;
  return space.available;
}

}  // namespace mcaprec::daemon
