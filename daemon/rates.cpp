#include "daemon/rates.hpp"

#include <cinttypes>
#include <cstdio>
#include <filesystem>

namespace mcaprec::daemon {

Totals Totals::from(const pipeline::PipelineStats& stats) {
  Totals totals;
  for (const pipeline::ChannelStats& channel : stats.channels) {
    totals.messages_received += channel.received;
    totals.bytes_received += channel.received_bytes;
    totals.messages_dropped += channel.dropped_total();
  }
  totals.messages_written = stats.writer.messages_written;
  totals.bytes_written = stats.writer.bytes_written;
  return totals;
}

void RateTracker::add(Clock::time_point time, const Totals& totals) {
  samples_.push_back(Sample{time, totals});
  // Keep one sample at or beyond the window's start, so the window is always fully covered.
  while (samples_.size() > 2 && time - samples_[1].time >= window_) samples_.pop_front();
}

Rates RateTracker::rates() const {
  Rates rates;
  if (samples_.size() < 2) return rates;
  const Sample& first = samples_.front();
  const Sample& last = samples_.back();
  const double seconds = std::chrono::duration<double>(last.time - first.time).count();
  if (seconds <= 0) return rates;
  auto per_second = [seconds](uint64_t later, uint64_t earlier) {
    return later >= earlier ? static_cast<double>(later - earlier) / seconds : 0.0;
  };
  rates.messages_received =
      per_second(last.totals.messages_received, first.totals.messages_received);
  rates.bytes_received = per_second(last.totals.bytes_received, first.totals.bytes_received);
  rates.messages_written = per_second(last.totals.messages_written, first.totals.messages_written);
  rates.bytes_written = per_second(last.totals.bytes_written, first.totals.bytes_written);
  rates.messages_dropped = per_second(last.totals.messages_dropped, first.totals.messages_dropped);
  return rates;
}

std::string short_size(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof(text), "%.0f B", bytes);
  } else {
    std::snprintf(text, sizeof(text), bytes < 10 ? "%.2f %s" : "%.1f %s", bytes, kUnits[unit]);
  }
  return text;
}

std::string status_line(const pipeline::PipelineStats& stats, const Rates& rates) {
  uint64_t dropped = 0;
  for (const pipeline::ChannelStats& channel : stats.channels) dropped += channel.dropped_total();
  const std::string file = stats.file.current_file.empty()
                               ? std::string("(no file open)")
                               : std::filesystem::path(stats.file.current_file).filename().string();
  char text[256];
  std::snprintf(text, sizeof(text),
                ": %.0f msg/s, %s/s in, %s/s to disk, %" PRIu64 " files finished, %" PRIu64
                " dropped",
                rates.messages_received, short_size(rates.bytes_received).c_str(),
                short_size(rates.bytes_written).c_str(), stats.finalizer.files_finalized, dropped);
  return "Recording " + file + text;
}

}  // namespace mcaprec::daemon
