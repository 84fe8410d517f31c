#include "mcap/scan_chunks.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "mcap/bytes.hpp"
#include "mcap/crc32.hpp"
#include "mcap/read_checks.hpp"

namespace mcaprec::mcap::detail {

namespace {

// Notes one record of the chunk (at `at` within its records) in `out`; says what is wrong with
// it, if anything.
std::optional<std::string> take_chunk_record(const RecordFrame& inner, uint64_t at,
                                             ChunkCheck& out) {
  switch (static_cast<Opcode>(inner.opcode)) {
    case Opcode::kMessage: {
      // Only the fields the statistics and indexes need, without building a Message.
      if (inner.content.size() < kMessageHeaderSize) {
        return "Message record of " + std::to_string(inner.content.size()) +
               " content bytes is shorter than its 22-byte header";
      }
      const uint16_t channel_id = load_le<uint16_t>(inner.content.data());
      const Timestamp log_time = load_le<Timestamp>(inner.content.data() + 6);
      if (out.messages.empty() || log_time < out.start) out.start = log_time;
      if (out.messages.empty() || log_time > out.end) out.end = log_time;
      out.messages.push_back(ChunkMessage{at, log_time, channel_id});
      return std::nullopt;
    }
    case Opcode::kSchema:
    case Opcode::kChannel: {
      auto parsed = parse_record(inner);
      if (!parsed.ok()) return parsed.error().message;
      if (auto* schema = std::get_if<Schema>(&*parsed)) {
        out.schemas.push_back(std::move(*schema));
      } else {
        out.channels.push_back(std::move(std::get<Channel>(*parsed)));
      }
      return std::nullopt;
    }
    default:
      if (!detail::allowed_in_chunk(inner.opcode)) {
        return std::string(opcode_name(inner.opcode)) + " record is not allowed inside a chunk";
      }
      return std::nullopt;
  }
}

// The CRC of the whole Chunk record, which the data section CRC needs. For a stored chunk the
// records' CRC was just computed, so only the bytes around them are read again.
uint32_t chunk_record_crc(ByteView file, const RecordFrame& frame, const Chunk& chunk,
                          const DecodedChunk& decoded) {
  const uint64_t chunk_offset = frame.offset;
  const uint64_t end = chunk_offset + frame.size();
  if (decoded.crc_computed && chunk.compression.empty()) {
    const uint64_t begin = static_cast<uint64_t>(chunk.records.data() - file.data());
    const uint64_t records_end = begin + chunk.records.size();
    uint32_t crc = crc32(file.subspan(chunk_offset, begin - chunk_offset));
    crc = crc32_combine(crc, decoded.crc, chunk.records.size());
    return crc32_update(crc, file.subspan(records_end, end - records_end));
  }
  return crc32(file.subspan(chunk_offset, frame.size()));
}

}  // namespace

void ChunkChecker::check(ByteView file, const RecordFrame& frame, const Chunk& chunk,
                         const ReadOptions& options, ChunkCheck& out) {
  out.error.reset();
  out.messages.clear();
  out.schemas.clear();
  out.channels.clear();
  const uint64_t chunk_offset = frame.offset;
  detail::DecodedChunk decoded;
  if (Status st =
          detail::decode_chunk(chunk, chunk_offset, options, decompressor_, buffer_, decoded);
      !st.ok()) {
    out.error = st.error();
    return;
  }
  auto reject = [&](uint64_t at, const std::string& what) {
    out.error =
        Error{chunk_offset, "Chunk at offset " + std::to_string(chunk_offset) +
                                ": record at chunk offset " + std::to_string(at) + ": " + what};
  };
  const ByteView records = decoded.records;
  for (uint64_t at = 0; at < records.size();) {
    auto inner = read_frame(records, at);
    if (!inner.ok()) return reject(at, inner.error().message);
    if (auto problem = take_chunk_record(*inner, at, out)) return reject(at, *problem);
    at += inner->size();
  }
  out.record_crc = chunk_record_crc(file, frame, chunk, decoded);
}

ChunkPrefetcher::ChunkPrefetcher(ByteView file, const ReadOptions& options, unsigned threads)
    : file_(file), options_(options), checkers_(std::max(1u, threads)) {}

ChunkCheck& ChunkPrefetcher::check(const RecordFrame& frame, const Chunk& chunk) {
  if (next_ < batch_size_ && jobs_[next_].frame.offset == frame.offset) {
    return jobs_[next_++].result;
  }
  if (checkers_.size() == 1) {
    if (jobs_.empty()) jobs_.resize(1);
    checkers_[0].check(file_, frame, chunk, options_, jobs_[0].result);
    batch_size_ = next_ = 0;
    return jobs_[0].result;
  }
  check_batch_from(frame, chunk);
  next_ = 1;
  return jobs_[0].result;
}

void ChunkPrefetcher::check_batch_from(const RecordFrame& first, const Chunk& first_chunk) {
  const size_t limit = 8 * checkers_.size();
  if (jobs_.size() < limit) jobs_.resize(limit);
  jobs_[0].frame = first;
  jobs_[0].chunk = first_chunk;
  batch_size_ = 1;
  // Only framing here: whatever does not frame ends the batch, and the walk will say why.
  uint64_t pos = first.offset + first.size();
  while (batch_size_ < limit && pos < file_.size()) {
    auto frame = read_frame(file_, pos);
    if (!frame.ok()) break;
    const auto opcode = static_cast<Opcode>(frame->opcode);
    if (opcode == Opcode::kDataEnd || opcode == Opcode::kFooter) break;
    if (opcode == Opcode::kChunk) {
      auto record = parse_record(*frame);
      if (!record.ok()) break;
      jobs_[batch_size_].frame = *frame;
      jobs_[batch_size_].chunk = std::move(std::get<Chunk>(*record));
      ++batch_size_;
    }
    pos += frame->size();
  }
  std::atomic<size_t> next_job{0};
  auto work = [&](ChunkChecker& checker) {
    for (size_t i; (i = next_job.fetch_add(1)) < batch_size_;) {
      checker.check(file_, jobs_[i].frame, jobs_[i].chunk, options_, jobs_[i].result);
    }
  };
  std::vector<std::thread> helpers;
  const size_t helper_count = std::min(checkers_.size(), batch_size_) - 1;
  for (size_t t = 0; t < helper_count; ++t) {
    try {
      helpers.emplace_back(work, std::ref(checkers_[t + 1]));
    } catch (const std::system_error&) {
      break;  // no thread to be had: the caller's thread checks the rest
    }
  }
  work(checkers_[0]);
  for (std::thread& helper : helpers) helper.join();
}

}  // namespace mcaprec::mcap::detail
