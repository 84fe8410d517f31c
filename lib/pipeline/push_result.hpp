#pragma once
// What push() and push_batch() answer.
#include <cstdint>

#include "pipeline/drop_reason.hpp"

namespace mcaprec::pipeline {

// The message was accepted (it will be written unless stop() finds the disk failing), or it
// was dropped and why. A drop_oldest push that made room by discarding older messages is
// accepted; the discarded ones are counted as drops. A message not recorded on purpose (a
// pause) is ok() too, not a drop, but not recorded().
class PushResult {
 public:
  static constexpr PushResult accepted() { return PushResult(true, true, DropReason::kQueueFull); }
  static constexpr PushResult dropped(DropReason reason) {
    return PushResult(false, false, reason);
  }
  static constexpr PushResult not_recorded() {
    return PushResult(true, false, DropReason::kQueueFull);
  }

  constexpr bool ok() const { return accepted_; }
  constexpr bool recorded() const { return recorded_; }
  // Meaningful only when !ok().
  constexpr DropReason reason() const { return reason_; }

 private:
  constexpr PushResult(bool accepted, bool recorded, DropReason reason)
      : accepted_(accepted), recorded_(recorded), reason_(reason) {}
  bool accepted_;
  bool recorded_;
  DropReason reason_;
};

// How many of a batch were accepted and their payload bytes (the others were dropped and
// counted per reason, as push() would have).
struct BatchPushResult {
  uint64_t accepted = 0;
  uint64_t accepted_bytes = 0;
};

}  // namespace mcaprec::pipeline
