#include "daemon/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace mcaprec::daemon {

void SystemdNotifier::notify(std::string_view state) {
  const std::string text(state);
  // Failing to notify is not fatal: without a service manager there is nobody to tell.
  (void)sd_notify(0, text.c_str());
}

std::chrono::microseconds systemd_watchdog_period() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(static_cast<int64_t>(usec));
}

}  // namespace mcaprec::daemon
