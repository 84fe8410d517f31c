#include "daemon/metrics_text.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/counter_table.hpp"

namespace mcaprec::daemon {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (1 for ASCII), or 0 when the bytes
// there are not one: a bad lead or continuation byte, a cut sequence, an overlong form, a
// surrogate or a value past U+10FFFF.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD: the exposition
// format is UTF-8, and Prometheus rejects a scrape that is not.
std::string valid_utf8(std::string_view text) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t length = utf8_sequence_length(text, i); length != 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Writes one metric family at a time: its HELP and TYPE lines, then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(const Labels& labels, uint64_t value) { sample(labels, std::to_string(value)); }
  void sample(const Labels& labels, double value) {
    char text[40];
    std::snprintf(text, sizeof(text), "%.9g", value);
    sample(labels, std::string(text));
  }

  std::string take() { return std::move(out_); }

 private:
  void sample(const Labels& labels, const std::string& value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, text] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        out_ += prometheus_label_value(text);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
  std::string_view name_;
};

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

// The samples of one value: none when the element has no such value, one per reason for counts
// by reason.
void samples(Exposition& out, const Labels& labels, const CounterValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
          out.sample(labels, seconds(v));
        } else if constexpr (std::is_same_v<T, bool>) {
          out.sample(labels, uint64_t{v ? 1u : 0u});
        } else if constexpr (std::is_same_v<T, ByReason>) {
          for (const auto& [reason, count] : v) {
            Labels with_reason = labels;
            with_reason.emplace_back("reason", reason);
            out.sample(with_reason, count);
          }
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          out.sample(labels, v);
        }
      },
      value);
}

// Each row's family with one sample (or one per reason) per element.
template <class Stats, class LabelsOf>
void families(Exposition& out, std::span<const Counter<Stats>> rows,
              const std::vector<Stats>& elements, LabelsOf labels_of) {
  for (const Counter<Stats>& row : rows) {
    if (row.metric.empty()) continue;
    out.family(row.metric, row.type, row.help);
    for (const Stats& element : elements) samples(out, labels_of(element), row.read(element));
  }
}

void families(Exposition& out, std::span<const SnapshotCounter> rows,
              const DaemonSnapshot& snapshot) {
  for (const SnapshotCounter& row : rows) {
    if (row.metric.empty()) continue;
    out.family(row.metric, row.type, row.help);
    samples(out, {}, row.read(snapshot));
  }
}

Labels channel_labels(const pipeline::ChannelStats& channel) {
  return {{"channel", std::to_string(channel.id)}, {"topic", channel.topic}};
}

Labels source_labels(const ingest::SourceStats& source) {
  return {{"source", source.name}, {"transport", source.transport}};
}

}  // namespace

std::string prometheus_label_value(std::string_view text) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prometheus_text(const DaemonSnapshot& snapshot) {
  Exposition out;
  // The version is a label, not a value: the one family that is not a table row.
  out.family("mcaprec_build_info", "gauge", "The daemon's version; always 1.");
  out.sample({{"version", snapshot.version}}, uint64_t{1});
  families(out, daemon_counters(), snapshot);
  families(out, channel_counters(), snapshot.pipeline.channels, channel_labels);
  families(out, recording_counters(), snapshot);
  families(out, source_counters(), snapshot.sources, source_labels);
  return out.take();
}

}  // namespace mcaprec::daemon
