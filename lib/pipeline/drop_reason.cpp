#include "pipeline/drop_reason.hpp"

namespace mcaprec::pipeline {

std::string_view drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kMemoryBudget:
      return "memory_budget";
    case DropReason::kTooLarge:
      return "too_large";
    case DropReason::kStopped:
      return "stopped";
    case DropReason::kWriteError:
      return "write_error";
    case DropReason::kNoSpace:
      return "no_space";
  }
  return "unknown";
}

}  // namespace mcaprec::pipeline
