#include "pipeline/overflow_policy.hpp"

namespace mcaprec::pipeline {

std::string_view overflow_policy_name(OverflowPolicy policy) {
  switch (policy) {
    case OverflowPolicy::kDropNewest:
      return "drop_newest";
    case OverflowPolicy::kDropOldest:
      return "drop_oldest";
    case OverflowPolicy::kBlock:
      return "block";
  }
  return "unknown";
}

std::optional<OverflowPolicy> parse_overflow_policy(std::string_view name) {
  if (name == "drop_newest") return OverflowPolicy::kDropNewest;
  if (name == "drop_oldest") return OverflowPolicy::kDropOldest;
  if (name == "block") return OverflowPolicy::kBlock;
  return std::nullopt;
}

}  // namespace mcaprec::pipeline
