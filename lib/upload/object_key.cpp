#include "upload/object_key.hpp"

#include <unistd.h>

#include <array>
#include <cctype>
#include <utility>

namespace mcaprec::upload {
namespace {

bool digits(const std::string& text, size_t at, size_t count) {
  for (size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// "YYYY-MM-DDT" at `at`.
bool date_at(const std::string& text, size_t at) {
  return digits(text, at, 4) && text[at + 4] == '-' && digits(text, at + 5, 2) &&
         text[at + 7] == '-' && digits(text, at + 8, 2) && at + 10 < text.size() &&
         text[at + 10] == 'T';
}

}  // namespace

std::string expand_key_template(const std::string& key_template, const KeyFields& fields) {
  const std::array<std::pair<std::string_view, const std::string*>, 4> placeholders = {{
      {"{device_id}", &fields.device_id},
      {"{date}", &fields.date},
      {"{file}", &fields.file},
      {"{prefix}", &fields.prefix},
  }};
  std::string key;
  for (size_t i = 0; i < key_template.size();) {
    bool replaced = false;
    for (const auto& [name, value] : placeholders) {
      if (key_template.compare(i, name.size(), name) == 0) {
        key += *value;
        i += name.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) key += key_template[i++];
  }
  return key;
}

std::string utc_date_of(const std::string& file_name, std::time_t fallback) {
  for (size_t at = 0; at + 11 <= file_name.size(); ++at) {
    if (date_at(file_name, at)) return file_name.substr(at, 10);
  }
  std::tm utc{};
  ::gmtime_r(&fallback, &utc);
  char text[16];
  std::strftime(text, sizeof(text), "%Y-%m-%d", &utc);
  return text;
}

std::string device_id_or_hostname(const std::string& device_id) {
  if (!device_id.empty()) return device_id;
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "unknown-device";
}

}  // namespace mcaprec::upload
