// How mcaprecd's log lines look: with sd-daemon priority prefixes and no timestamp when stderr
// is the journal (JOURNAL_STREAM names stderr's device and inode), with a UTC timestamp and the
// level name anywhere else; and how systemd's notify protocol reaches a NOTIFY_SOCKET.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include "daemon/logging.hpp"
#include "daemon/notifier.hpp"
#include "daemon_test_support.hpp"

namespace mcaprec::daemon {
namespace {

// What a logger with `style` writes for one message at each level.
std::string log_lines(LogStyle style, spdlog::level::level_enum level_threshold) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(make_log_formatter(style));
  spdlog::logger logger("test", sink);
  logger.set_level(level_threshold);
  logger.debug("debug {}", 1);
  logger.info("started on {}", "127.0.0.1:9410");
  logger.warn("queue full");
  logger.error("cannot bind");
  logger.critical("giving up");
  return out.str();
}

TEST(DaemonLoggingTest, JournalLinesCarryPriorityAndNoTimestamp) {
  EXPECT_EQ(log_lines(LogStyle::kJournal, spdlog::level::debug),
            "<7>debug 1\n"
            "<6>started on 127.0.0.1:9410\n"
            "<4>queue full\n"
            "<3>cannot bind\n"
            "<2>giving up\n");
}

TEST(DaemonLoggingTest, HumanLinesCarryUtcTimestampAndLevel) {
  const std::string text = log_lines(LogStyle::kHuman, spdlog::level::info);
  const std::regex line(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warning|error|critical) [^\n]+\n)");
  std::string rest = text;
  int lines = 0;
  std::smatch match;
  while (std::regex_search(rest, match, line, std::regex_constants::match_continuous)) {
    rest = match.suffix();
    ++lines;
  }
  EXPECT_EQ(lines, 4) << text;  // debug is below the threshold
  EXPECT_EQ(rest, "") << text;
  EXPECT_NE(text.find(" info started on 127.0.0.1:9410\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("<6>"), std::string::npos);
}

TEST(DaemonLoggingTest, JournalStreamMustMatchTheDescriptor) {
  char path[] = "/tmp/mcaprecd_journal_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat info {};
  ASSERT_EQ(::fstat(fd, &info), 0);
  const std::string matching = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  const std::string other = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino + 1);
  EXPECT_TRUE(is_journal_stream(matching.c_str(), fd));
  EXPECT_FALSE(is_journal_stream(other.c_str(), fd));
  EXPECT_FALSE(is_journal_stream(nullptr, fd));
  EXPECT_FALSE(is_journal_stream("", fd));
  EXPECT_FALSE(is_journal_stream("12", fd));
  EXPECT_FALSE(is_journal_stream((matching + "x").c_str(), fd));
  ::close(fd);
  ::unlink(path);
}

TEST(DaemonLoggingTest, LevelsMapToSpdlogAndPriorities) {
  EXPECT_EQ(to_spdlog_level(config::LogLevel::kWarn), spdlog::level::warn);
  EXPECT_EQ(to_spdlog_level(config::LogLevel::kOff), spdlog::level::off);
  EXPECT_EQ(journal_priority(spdlog::level::trace), 7);
  EXPECT_EQ(journal_priority(spdlog::level::err), 3);
}

TEST(DaemonNotifierTest, MessagesReachTheNotifySocket) {
  const std::string path = "/tmp/mcaprecd_notify_" + std::to_string(::getpid());
  testing::NotifySocket socket(path);
  ASSERT_TRUE(socket.bound());
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  SystemdNotifier notifier;
  notifier.ready("Recording to ./recordings");
  notifier.watchdog();
  notifier.stopping("Stopping");
  EXPECT_EQ(socket.receive(std::chrono::seconds(5)), "READY=1\nSTATUS=Recording to ./recordings");
  EXPECT_EQ(socket.receive(std::chrono::seconds(5)), "WATCHDOG=1");
  EXPECT_EQ(socket.receive(std::chrono::seconds(5)), "STOPPING=1\nSTATUS=Stopping");
  ::unsetenv("NOTIFY_SOCKET");
  notifier.watchdog();  // nowhere to send: nothing happens, nothing fails
  EXPECT_EQ(socket.receive(std::chrono::milliseconds(100)), "");
}

TEST(DaemonNotifierTest, WatchdogPeriodComesFromTheEnvironment) {
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(systemd_watchdog_period().count(), 0);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  EXPECT_EQ(systemd_watchdog_period(), std::chrono::seconds(3));
  // Meant for another process (the variables were inherited): not ours to honour.
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(systemd_watchdog_period().count(), 0);
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace mcaprec::daemon
