#include "pipeline/latch_table.hpp"

#include <algorithm>

namespace mcaprec::pipeline {

LatchTable::Lane* LatchTable::lane(uint16_t channel_id) {
  std::lock_guard lock(mu_);
  std::unique_ptr<Lane>& lane = lanes_[channel_id];
  if (!lane) lane = std::make_unique<Lane>(channel_id);
  any_.store(true, std::memory_order_release);
  return lane.get();
}

void LatchTable::note_queued(Lane& lane, uint64_t publisher, const OutgoingMessage& message) {
  Lane::Message copy{publisher,
                     message.log_time,
                     message.publish_time,
                     message.sequence,
                     mcap::Bytes(message.payload.begin(), message.payload.end()),
                     0};
  std::lock_guard lock(mu_);
  if (lane.owed_.empty()) {
    lane.queued_.push_back(std::move(copy));
    return;
  }
  // The writer already handled it: settle it now.
  const bool written = lane.owed_.front();
  lane.owed_.pop_front();
  if (written) latch_locked(lane, std::move(copy));
}

void LatchTable::note_handled(const mcap::ChannelValues& counts, bool written) {
  if (!any_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mu_);
  for (const auto& [channel_id, count] : counts) {
    auto found = lanes_.find(channel_id);
    if (found == lanes_.end()) continue;
    Lane& lane = *found->second;
    for (uint64_t i = 0; i < count; ++i) {
      if (lane.queued_.empty()) {
        lane.owed_.push_back(written);
        continue;
      }
      if (written) latch_locked(lane, std::move(lane.queued_.front()));
      lane.queued_.pop_front();
    }
  }
}

// The publisher's latched message is replaced. Another publisher's identical payload says
// nothing more (e.g. a sender that reconnected and published its static data again): one copy,
// the newest, stays.
void LatchTable::latch_locked(Lane& lane, Lane::Message message) {
  message.updated = ++updates_;
  std::erase_if(lane.latched_, [&](const Lane::Message& held) {
    return held.publisher == message.publisher || held.data == message.data;
  });
  if (lane.latched_.size() >= kMaxPublishersPerChannel) {
    lane.latched_.erase(std::min_element(
        lane.latched_.begin(), lane.latched_.end(),
        [](const Lane::Message& a, const Lane::Message& b) { return a.updated < b.updated; }));
  }
  lane.latched_.push_back(std::move(message));
}

bool LatchTable::encode(mcap::EncodedChunk& out) {
  if (!any_.load(std::memory_order_acquire)) return false;
  builder_.clear();
  {
    std::lock_guard lock(mu_);
    std::vector<const Lane::Message*> messages;
    std::vector<uint16_t> channels;
    for (const auto& [channel_id, lane] : lanes_) {
      for (const Lane::Message& message : lane->latched_) {
        messages.push_back(&message);
        channels.push_back(channel_id);
      }
    }
    if (messages.empty()) return false;
    std::vector<size_t> order(messages.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return messages[a]->log_time < messages[b]->log_time;
    });
    for (size_t i : order) {
      const Lane::Message& message = *messages[i];
      builder_.add_message(mcap::Message{channels[i], message.sequence, message.log_time,
                                         message.publish_time, message.data});
    }
  }
  mcap::ChunkEncodeOptions options;
  options.compression = compression_;
  options.level = level_;
  return static_cast<bool>(mcap::encode_chunk(builder_, options, compressor_, out));
}

size_t LatchTable::latched_count() const {
  std::lock_guard lock(mu_);
  size_t count = 0;
  for (const auto& [channel_id, lane] : lanes_) count += lane->latched_.size();
  return count;
}

}  // namespace mcaprec::pipeline
