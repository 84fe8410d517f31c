#pragma once
// Telling the service manager how the daemon is doing (sd_notify(3)): READY=1 once every
// listener is bound, STATUS=… lines, WATCHDOG=1 keep-alives and STOPPING=1. Outside systemd
// (no NOTIFY_SOCKET) every call does nothing.
#include <chrono>
#include <string>
#include <string_view>

namespace mcaprec::daemon {

class Notifier {
 public:
  virtual ~Notifier() = default;
  // One or more "KEY=value" assignments separated by newlines.
  virtual void notify(std::string_view state) = 0;

  void ready(std::string_view status) { notify("READY=1\nSTATUS=" + std::string(status)); }
  void status(std::string_view status) { notify("STATUS=" + std::string(status)); }
  void watchdog() { notify("WATCHDOG=1"); }
  void stopping(std::string_view status) { notify("STOPPING=1\nSTATUS=" + std::string(status)); }
};

// Sends through libsystemd to $NOTIFY_SOCKET.
class SystemdNotifier : public Notifier {
 public:
  void notify(std::string_view state) override;
};

// The watchdog period systemd expects pings within ($WATCHDOG_USEC, when $WATCHDOG_PID is unset
// or names this process), or zero when the watchdog is off.
std::chrono::microseconds systemd_watchdog_period();

}  // namespace mcaprec::daemon
