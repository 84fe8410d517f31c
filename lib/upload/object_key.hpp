#pragma once
// Object keys from upload.key_template: {device_id}, {date} (the file's UTC date, YYYY-MM-DD),
// {file} (its name) and {prefix} (the recording prefix). The configuration refuses any other
// placeholder, so text outside these is copied as it is.
#include <ctime>
#include <string>

namespace mcaprec::upload {

struct KeyFields {
  std::string device_id;
  std::string date;
  std::string file;
  std::string prefix;
};

std::string expand_key_template(const std::string& key_template, const KeyFields& fields);

// The UTC date a file's name carries (…_2024-05-01T12-00-00Z_…, as recording and event files
// are named), else the UTC date of `fallback` (its modification time).
std::string utc_date_of(const std::string& file_name, std::time_t fallback);

// session.device_id when set, else the host name (so two vehicles never share keys by
// default), else "unknown-device".
std::string device_id_or_hostname(const std::string& device_id);

}  // namespace mcaprec::upload
