#pragma once
// What the recording file (lib/storage) asks of the pipeline, answered from the channel
// registry and the channels' counts: the declarations a chunk's channel ids refer to, and the
// `mcaprec.stats` record when a file ends. Called from the writer's thread only.
#include <string>
#include <vector>

#include "pipeline/channel_counters.hpp"
#include "pipeline/channel_registry.hpp"
#include "pipeline/latch_table.hpp"
#include "storage/recording_file.hpp"

namespace mcaprec::pipeline {

class RegistryRecordingSource final : public storage::RecordingSource {
 public:
  // Keys each channel has in `mcaprec.stats`: received, written, one per drop reason, one per
  // reason for not recording (`not_recorded_paused`, ...) and four of compression
  // (`compression_bytes_in`, `_bytes_out`, `_attempts`, `_skipped`).
  static constexpr size_t kStatsKeysPerChannel = 2 + kDropReasonCount + kNotRecordedReasonCount + 4;

  // `latches`: the latched messages every new file starts with (null: none, e.g. event files).
  RegistryRecordingSource(const ChannelRegistry& registry, const WrittenCounts& written,
                          std::string session_start, LatchTable* latches = nullptr)
      : registry_(registry),
        written_(written),
        session_start_(std::move(session_start)),
        latches_(latches) {}

  Declaration declaration(uint16_t channel_id) const override;
  void declared_channels(std::vector<const mcap::Channel*>& out) const override;
  // The session's counts: per channel, keyed by topic (`<topic>#<id>` when two channels share
  // one), and in total.
  mcap::Metadata session_stats() const override;
  bool latched_chunk(mcap::EncodedChunk& out) const override;
  // Counted per channel as `relatched`, never as written.
  void note_relatched(const mcap::EncodedChunk& chunk) const override;

 private:
  const ChannelRegistry& registry_;
  const WrittenCounts& written_;
  const std::string session_start_;
  LatchTable* const latches_;
  mutable std::vector<ChannelEntry*> entries_scratch_;
};

}  // namespace mcaprec::pipeline
