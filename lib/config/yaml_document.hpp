#pragma once
// Internal to the loader: turns the file's text into one YAML node, reporting syntax errors and
// extra documents with their line. It works around two habits of yaml-cpp 0.7: YAML::LoadAll
// never returns when a stray ',' sits where a node should start, and YAML::Load then quietly
// returns null for the whole file.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "config/diagnostics.hpp"

namespace mcaprec::config {

// The file's only document (null for an empty file), or nullopt after reporting why not.
std::optional<YAML::Node> parse_single_document(std::string_view text, Diagnostics& diagnostics);

}  // namespace mcaprec::config
