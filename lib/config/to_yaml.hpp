#pragma once
// The effective configuration as YAML, every key with its value, defaults included: what
// `mcaprecd --check-config` prints. Loading the text back gives an equal Config.
#include <string>

#include "config/config.hpp"

namespace mcaprec::config {

std::string to_yaml(const Config& config);

}  // namespace mcaprec::config
