#pragma once
// Loading the daemon's YAML configuration (docs/ARCHITECTURE.md §7). The whole file is checked
// before anything starts: types, units, ranges, unknown keys (with the closest known key
// suggested), duplicates, and the checks that span fields (unique names and bind addresses,
// format/transport pairs, budgets against chunk and message sizes). Every problem is returned,
// each with its file, line and key path. Loading reads the file (and any schema data_file) and
// nothing else: it never creates or touches the output directory.
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/result.hpp"

namespace mcaprec::config {

Result<Config> load_config_file(const std::string& path);

// `origin_name` is used in error messages; relative schema data_file paths are taken relative to
// its directory part (the current directory if it has none).
Result<Config> load_config_string(std::string_view text, std::string_view origin_name);

}  // namespace mcaprec::config
