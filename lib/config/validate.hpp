#pragma once
// The checks of a configuration that involve more than one key, or a key and its context (a
// format that needs a transport, a budget that must hold chunks). Run after every key has been
// read; fields that already failed to read are skipped so that one mistake is reported once.
#include "config/config.hpp"
#include "config/diagnostics.hpp"

namespace mcaprec::config {

void validate(const Config& config, Diagnostics& diagnostics);

}  // namespace mcaprec::config
