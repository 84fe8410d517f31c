#pragma once
// /metrics: the Prometheus text exposition format (version 0.0.4). Every metric is named
// mcaprec_…, has HELP and TYPE lines, and counters end in _total. Per-channel series are
// labelled with the file-wide channel id and the topic (two channels may share a topic with
// different encodings); per-source series with the source's name.
#include <string>

#include "daemon/snapshot.hpp"

namespace mcaprec::daemon {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const DaemonSnapshot& snapshot);

// A label value with backslash, double quote and newline escaped (and invalid UTF-8 replaced).
std::string prometheus_label_value(std::string_view text);

}  // namespace mcaprec::daemon
