// How the TCP decoders buffer a stream: the socket reads straight into the decoder
// (read_space() + commit()), records are reported as views into that one buffer whatever the
// split of the reads, frames larger than the buffer grow it, lengths over the limit are refused
// before anything is allocated, and pause() keeps the reported views valid. Then the same
// through a real loopback socket into a recording.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/ingest_server.hpp"
#include "ingest/length_prefixed_decoder.hpp"
#include "ingest/mcap_stream_decoder.hpp"
#include "ingest/receive_buffer.hpp"
#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"
#include "payload.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline_test_support.hpp"
#include "tcp_client.hpp"

namespace mcaprec::ingest {
namespace {

using mcap::Bytes;
using mcap::ByteView;
using namespace std::chrono_literals;

// Payloads of noise, which differs at every position, so that a misplaced piece of a frame
// shows.
using test_support::Filler;
using test_support::payload;

Bytes frame(const Bytes& payload) {
  Bytes out(4);
  mcap::store_le(out.data(), uint32_t(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes frames_of(const std::vector<Bytes>& payloads) {
  Bytes out;
  for (const Bytes& p : payloads) {
    const Bytes f = frame(p);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

// Where a reported view points: into the decoder's own buffer (the last read_space(), give or
// take the buffer's capacity), or somewhere else (a copy).
struct BufferWatch {
  const uint8_t* space = nullptr;
  size_t capacity = 0;
  bool inside(ByteView view) const {
    if (view.empty()) return true;
    return view.data() + view.size() <= space + capacity && view.data() + capacity >= space;
  }
};

// Reads `bytes` into the decoder as a socket would: each read writes at most the read space,
// in pieces of the sizes `next_size` gives. Returns finish()'s status, or the first error.
template <class Decoder, class NextSize>
DecodeStatus read_stream(Decoder& decoder, const Bytes& bytes, NextSize next_size,
                         BufferWatch* watch = nullptr) {
  for (size_t pos = 0; pos < bytes.size();) {
    const std::span<uint8_t> space = decoder.read_space();
    EXPECT_FALSE(space.empty());
    if (watch != nullptr) {
      watch->space = space.data();
      watch->capacity = decoder.buffer_capacity();
    }
    const size_t n = std::min({next_size(), space.size(), bytes.size() - pos});
    std::memcpy(space.data(), bytes.data() + pos, n);
    pos += n;
    if (DecodeStatus st = decoder.commit(n); !st.ok()) return st;
  }
  return decoder.finish();
}

class Frames : public FrameEvents {
 public:
  void on_frame(ByteView payload) override {
    frames.emplace_back(payload.begin(), payload.end());
    if (watch != nullptr && !watch->inside(payload)) ++copied;
  }
  std::vector<Bytes> frames;
  BufferWatch* watch = nullptr;
  size_t copied = 0;
};

// Frames around every size that matters: empty, tiny, the old 64 KiB read, the 1 MiB buffer,
// and larger than the buffer.
std::vector<Bytes> awkward_payloads() {
  std::vector<Bytes> out;
  uint32_t i = 0;
  for (size_t size : {size_t{0}, size_t{1}, size_t{3}, size_t{65536}, size_t{65536}, size_t{65537},
                      size_t{100}, kDefaultReadBytes - 4, kDefaultReadBytes, size_t{5},
                      kDefaultReadBytes + 1, 3 * kDefaultReadBytes + 17, size_t{65536}}) {
    out.push_back(payload(i++, size, Filler::kNoise));
  }
  for (; i < 60; ++i) out.push_back(payload(i, 65536, Filler::kNoise));  // the bench's frames
  return out;
}

TEST(TcpStreamBuffering, FramesArriveWholeAndInPlaceWhateverTheReads) {
  const std::vector<Bytes> payloads = awkward_payloads();
  const Bytes stream = frames_of(payloads);
  std::mt19937 rng(7);
  struct Split {
    const char* name;
    std::function<size_t()> next;
  };
  const std::vector<Split> splits = {
      {"whole", [] { return SIZE_MAX; }},
      {"random", [&rng] { return size_t(1 + rng() % 200000); }},
      {"odd", [] { return size_t{65537}; }},
  };
  for (const Split& split : splits) {
    Frames events;
    BufferWatch watch;
    events.watch = &watch;
    LengthPrefixedDecoder decoder(events, 16 << 20);
    const DecodeStatus st = read_stream(decoder, stream, split.next, &watch);
    ASSERT_TRUE(st.ok()) << split.name << ": " << st.error().to_string();
    ASSERT_EQ(events.frames.size(), payloads.size()) << split.name;
    for (size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(events.frames[i], payloads[i]) << split.name << " frame " << i;
    }
    // Every payload was a view into the buffer the socket read into: no copy on the way.
    EXPECT_EQ(events.copied, 0u) << split.name;
    EXPECT_EQ(decoder.offset(), stream.size());
  }
}

TEST(TcpStreamBuffering, EveryByteBoundaryWithASmallBuffer) {
  // A 64-byte buffer: most frames are larger, so growing and moving happen all the time.
  std::vector<Bytes> payloads;
  for (uint32_t i = 0; i < 40; ++i) payloads.push_back(payload(i, (i * 37) % 300, Filler::kNoise));
  const Bytes stream = frames_of(payloads);
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{63}, size_t{64},
                       size_t{65}, size_t{1000}}) {
    Frames events;
    LengthPrefixedDecoder decoder(events, 1000, 64);
    const DecodeStatus st = read_stream(decoder, stream, [piece] { return piece; });
    ASSERT_TRUE(st.ok()) << piece << ": " << st.error().to_string();
    EXPECT_EQ(events.frames, payloads) << "pieces of " << piece;
  }
  // And a cut at every byte of the stream into two reads.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Frames events;
    LengthPrefixedDecoder decoder(events, 1000, 64);
    size_t calls = 0;
    size_t first = cut;
    const DecodeStatus st = read_stream(decoder, stream, [&] {
      ++calls;
      if (first > 0) {
        const size_t n = first;
        first = 0;
        return n;
      }
      return SIZE_MAX;
    });
    ASSERT_TRUE(st.ok()) << cut;
    ASSERT_EQ(events.frames, payloads) << "cut at " << cut;
  }
}

TEST(TcpStreamBuffering, OversizedLengthIsRefusedBeforeTheBufferGrows) {
  Frames events;
  LengthPrefixedDecoder decoder(events, 1000, 4096);
  Bytes stream = frame(payload(1, 1000, Filler::kNoise));
  const Bytes hostile = {0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3};  // a 4 GiB frame
  stream.insert(stream.end(), hostile.begin(), hostile.end());
  const DecodeStatus st = read_stream(decoder, stream, [] { return size_t{1}; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(decode_reason_name(st.error().reason), "oversized");
  EXPECT_EQ(st.error().offset, 1004u);
  EXPECT_EQ(st.error().message, "frame of 4294967295 bytes exceeds max_message_size 1000");
  EXPECT_EQ(events.frames.size(), 1u);
  EXPECT_EQ(decoder.buffer_capacity(), 4096u);  // nothing was allocated for it
}

TEST(TcpStreamBuffering, TruncationIsReportedWhereTheFrameStarted) {
  const Bytes stream =
      frames_of({payload(1, 70000, Filler::kNoise), payload(2, 200000, Filler::kNoise)});
  for (size_t cut : {size_t{1}, size_t{150000}, size_t{199999}, size_t{200001}, size_t{200002}}) {
    Frames events;
    LengthPrefixedDecoder decoder(events, 1 << 20, 4096);
    const Bytes head(stream.begin(), stream.end() - long(cut));
    const DecodeStatus st = read_stream(decoder, head, [] { return size_t{5000}; });
    ASSERT_FALSE(st.ok()) << cut;
    EXPECT_EQ(decode_reason_name(st.error().reason), "truncated");
    EXPECT_EQ(st.error().offset, 70004u) << st.error().to_string();
    EXPECT_EQ(events.frames.size(), 1u);
  }
}

// Holds every frame's view (as TcpSession does when the pipeline is full) and pauses; checks
// that the held views still show the right bytes when decoding resumes.
class HoldingFrames : public FrameEvents {
 public:
  explicit HoldingFrames(LengthPrefixedDecoder*& decoder) : decoder_(decoder) {}
  void on_frame(ByteView payload) override {
    held.push_back(payload);
    decoder_->pause();
  }
  std::vector<ByteView> held;
  std::vector<Bytes> frames;
  void take_held() {
    for (ByteView view : held) frames.emplace_back(view.begin(), view.end());
    held.clear();
  }

 private:
  LengthPrefixedDecoder*& decoder_;
};

TEST(TcpStreamBuffering, PausedDecoderKeepsTheHeldViewsValid) {
  std::vector<Bytes> payloads;
  for (uint32_t i = 0; i < 30; ++i) payloads.push_back(payload(i, 1000 + i * 100, Filler::kNoise));
  const Bytes stream = frames_of(payloads);
  LengthPrefixedDecoder* pointer = nullptr;
  HoldingFrames events(pointer);
  LengthPrefixedDecoder decoder(events, 1 << 20, 8192);
  pointer = &decoder;
  for (size_t pos = 0; pos < stream.size();) {
    const std::span<uint8_t> space = decoder.read_space();
    const size_t n = std::min(space.size(), stream.size() - pos);
    std::memcpy(space.data(), stream.data() + pos, n);
    pos += n;
    ASSERT_TRUE(decoder.commit(n).ok());
    while (decoder.paused()) {
      // One frame per pause: decoding stopped right after it.
      ASSERT_EQ(events.held.size(), 1u);
      events.take_held();
      ASSERT_TRUE(decoder.resume().ok());
    }
  }
  ASSERT_TRUE(decoder.finish().ok());
  events.take_held();
  EXPECT_EQ(events.frames, payloads);
}

// ---- the MCAP stream decoder through the same path ----

class Messages : public DecoderEvents {
 public:
  void on_channel(InBandChannelId, const ChannelDefinition&) override {}
  void on_message(const mcap::Message& m) override {
    if (hold) {
      held.push_back(m.data);
      sequences.push_back(m.sequence);
      decoder->pause();
      return;
    }
    payloads.emplace_back(m.data.begin(), m.data.end());
    if (watch != nullptr && !watch->inside(m.data)) ++copied;
  }
  void take_held() {
    for (ByteView view : held) payloads.emplace_back(view.begin(), view.end());
    held.clear();
  }
  std::vector<Bytes> payloads;
  std::vector<ByteView> held;
  std::vector<uint32_t> sequences;
  bool hold = false;
  McapStreamDecoder* decoder = nullptr;
  BufferWatch* watch = nullptr;
  size_t copied = 0;
};

struct Recording {
  Bytes bytes;
  std::vector<Bytes> payloads;
};

Recording mcap_recording(bool chunked, uint32_t count, size_t big_every) {
  mcap::WriterOptions options;
  options.use_chunks = chunked;
  options.compression = mcap::Compression::kZstd;
  options.chunk_size = 256 * 1024;
  auto writer = mcap::Writer::open(std::make_unique<mcap::MemorySink>(), options);
  EXPECT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->add_schema(mcap::Schema{1, "s", "jsonschema", {'{', '}'}}).ok());
  EXPECT_TRUE((*writer)->add_channel(mcap::Channel{1, 1, "/t", "json", {}}).ok());
  Recording rec;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t size = i % big_every == big_every - 1 ? 1500000 + i : 100 + i * 13;
    rec.payloads.push_back(payload(i, size, Filler::kNoise));
    EXPECT_TRUE((*writer)->write_message(mcap::Message{1, i, i, i, rec.payloads.back()}).ok());
  }
  EXPECT_TRUE((*writer)->close().ok());
  rec.bytes = dynamic_cast<mcap::MemorySink&>((*writer)->sink()).take();
  return rec;
}

TEST(TcpStreamBuffering, McapRecordsArriveWholeWhateverTheReads) {
  for (bool chunked : {false, true}) {
    const Recording rec = mcap_recording(chunked, 200, 50);
    std::mt19937 rng(11);
    for (int split = 0; split < 3; ++split) {
      Messages events;
      BufferWatch watch;
      events.watch = &watch;
      McapStreamDecoder decoder(events);
      auto next = [&]() -> size_t {
        if (split == 0) return SIZE_MAX;
        if (split == 1) return 1 + rng() % 300000;
        return 4099;
      };
      const DecodeStatus st = read_stream(decoder, rec.bytes, next, &watch);
      ASSERT_TRUE(st.ok()) << st.error().to_string();
      EXPECT_TRUE(decoder.done());
      EXPECT_EQ(events.payloads, rec.payloads) << "chunked " << chunked << " split " << split;
      // Outside chunks, messages are views into the read buffer (inside them, into the
      // unpacked chunk).
      if (!chunked) {
        EXPECT_EQ(events.copied, 0u);
      }
    }
  }
}

TEST(TcpStreamBuffering, McapEveryByteBoundaryWithASmallBuffer) {
  const Recording rec = mcap_recording(true, 12, 1000);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{9}, size_t{100}}) {
    Messages events;
    McapStreamDecoder decoder(events, {}, 64);
    const DecodeStatus st = read_stream(decoder, rec.bytes, [piece] { return piece; });
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    EXPECT_EQ(events.payloads, rec.payloads) << piece;
  }
}

TEST(TcpStreamBuffering, McapOversizedAndSkippedRecordsDoNotGrowTheBuffer) {
  DecoderLimits limits;
  limits.max_message_size = 1000;
  {
    // A private record of 10 MB is skipped as it streams by, never buffered.
    Bytes stream;
    mcap::append_record(stream, mcap::Schema{1, "s", "jsonschema", {}});
    mcap::append_record(stream, mcap::UnknownRecord{0x80, Bytes(10 << 20, 0x5A)});
    mcap::append_record(stream, mcap::Schema{1, "s", "jsonschema", {}});
    Messages events;
    McapStreamDecoder decoder(events, limits, 4096);
    ASSERT_TRUE(read_stream(decoder, stream, [] { return SIZE_MAX; }).ok());
    EXPECT_EQ(decoder.buffer_capacity(), 4096u);
  }
  {
    // A Message record claiming 2^40 bytes: refused from its prefix.
    Bytes stream = {uint8_t(mcap::Opcode::kMessage), 0, 0, 0, 0, 0, 1, 0, 0};
    Messages events;
    McapStreamDecoder decoder(events, limits, 4096);
    const DecodeStatus st = read_stream(decoder, stream, [] { return size_t{1}; });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(decode_reason_name(st.error().reason), "oversized");
    EXPECT_EQ(st.error().offset, 0u);
    EXPECT_EQ(decoder.buffer_capacity(), 4096u);
  }
}

TEST(TcpStreamBuffering, McapPauseInsideAChunkHoldsTheRestOfTheChunk) {
  const Recording rec = mcap_recording(true, 300, 1000);
  Messages events;
  McapStreamDecoder decoder(events, {}, 64 * 1024);
  events.decoder = &decoder;
  events.hold = true;
  size_t pauses = 0;
  for (size_t pos = 0; pos < rec.bytes.size();) {
    const std::span<uint8_t> space = decoder.read_space();
    const size_t n = std::min(space.size(), rec.bytes.size() - pos);
    std::memcpy(space.data(), rec.bytes.data() + pos, n);
    pos += n;
    ASSERT_TRUE(decoder.commit(n).ok());
    while (decoder.paused()) {
      ++pauses;
      // Paused at a chunk's first message, the decoder went on to the end of that chunk: the
      // rest of it is held too, and the views are still good.
      EXPECT_GT(events.held.size(), 1u);
      events.take_held();
      ASSERT_TRUE(decoder.resume().ok());
    }
  }
  ASSERT_TRUE(decoder.finish().ok());
  events.take_held();
  EXPECT_GE(pauses, 3u);  // one per chunk
  EXPECT_EQ(events.payloads, rec.payloads);
}

// ---- hand-off: the handler reads a large payload itself ----

// What TcpSession does with a payload it takes: the part received so far is copied, the rest
// is read straight into the payload's own memory; the whole payload then joins the others.
struct HandOff {
  std::vector<Bytes>* out = nullptr;
  Bytes payload;
  size_t filled = 0;
  size_t taken = 0;   // payloads taken
  size_t copied = 0;  // bytes that came with the header's read
  size_t direct = 0;  // bytes read straight into the payload
  bool refuse = false;

  bool take(ByteView received, uint64_t size) {
    if (refuse) return false;
    EXPECT_GE(size, kHandOffBytes);
    EXPECT_LT(received.size(), size);
    payload.assign(size, 0);
    std::memcpy(payload.data(), received.data(), received.size());
    filled = received.size();
    copied += received.size();
    ++taken;
    return true;
  }
  void fill(const uint8_t* bytes, size_t n) {
    std::memcpy(payload.data() + filled, bytes, n);
    filled += n;
    direct += n;
    if (filled == payload.size()) out->push_back(std::move(payload));
  }
};

class TakingFrames : public Frames {
 public:
  TakingFrames() { hand_off.out = &frames; }
  bool on_large_frame(ByteView received, uint64_t size) override {
    return hand_off.take(received, size);
  }
  HandOff hand_off;
};

class TakingMessages : public Messages {
 public:
  TakingMessages() { hand_off.out = &payloads; }
  bool on_large_message(const mcap::Message& message, uint64_t size) override {
    return hand_off.take(message.data, size);
  }
  HandOff hand_off;
};

// read_stream(), where a read into a handed-off payload goes to the handler (at most what the
// payload still lacks, as TcpSession's reads into the segments).
template <class Decoder, class NextSize>
DecodeStatus read_stream_handing_off(Decoder& decoder, HandOff& hand_off, const Bytes& bytes,
                                     NextSize next_size) {
  for (size_t pos = 0; pos < bytes.size();) {
    if (decoder.handed_off() > 0) {
      const size_t n = std::min<size_t>({next_size(), decoder.handed_off(), bytes.size() - pos});
      hand_off.fill(bytes.data() + pos, n);
      pos += n;
      decoder.payload_read(n);
      continue;
    }
    const std::span<uint8_t> space = decoder.read_space();
    const size_t n = std::min({next_size(), space.size(), bytes.size() - pos});
    std::memcpy(space.data(), bytes.data() + pos, n);
    pos += n;
    if (DecodeStatus st = decoder.commit(n); !st.ok()) return st;
  }
  return decoder.finish();
}

TEST(TcpStreamBufferingHandOff, LargeFramesAreTakenAndTheStreamGoesOnAfterThem) {
  const std::vector<Bytes> payloads = awkward_payloads();
  const Bytes stream = frames_of(payloads);
  size_t large = 0;  // payloads a read can bring in part
  for (const Bytes& p : payloads) large += p.size() >= kHandOffBytes ? p.size() : 0;
  std::mt19937 rng(5);
  for (int split = 0; split < 3; ++split) {
    TakingFrames events;
    LengthPrefixedDecoder decoder(events, 16 << 20);
    auto next = [&]() -> size_t {
      if (split == 0) return SIZE_MAX;
      if (split == 1) return 1 + rng() % 200000;
      return 65537;
    };
    const DecodeStatus st = read_stream_handing_off(decoder, events.hand_off, stream, next);
    ASSERT_TRUE(st.ok()) << split << ": " << st.error().to_string();
    EXPECT_EQ(events.frames, payloads) << "split " << split;
    EXPECT_EQ(decoder.offset(), stream.size());
    EXPECT_GT(events.hand_off.taken, 0u) << split;
    // The rest of what a read brought in part was read straight into place.
    EXPECT_GT(events.hand_off.direct, 0u) << split;
    EXPECT_LE(events.hand_off.direct + events.hand_off.copied, large);
  }
}

TEST(TcpStreamBufferingHandOff, LargeMessagesAreTakenAndTheStreamGoesOnAfterThem) {
  const Recording rec = mcap_recording(false, 200, 50);  // four messages of 1.5 MB
  std::mt19937 rng(9);
  for (int split = 0; split < 3; ++split) {
    TakingMessages events;
    McapStreamDecoder decoder(events);
    auto next = [&]() -> size_t {
      if (split == 0) return SIZE_MAX;
      if (split == 1) return 1 + rng() % 300000;
      return 4099;
    };
    const DecodeStatus st = read_stream_handing_off(decoder, events.hand_off, rec.bytes, next);
    ASSERT_TRUE(st.ok()) << split << ": " << st.error().to_string();
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(events.payloads, rec.payloads) << "split " << split;
    EXPECT_EQ(decoder.offset(), rec.bytes.size());
    // No read brings a 1.5 MB message whole (the 1 MiB buffer), so all four are taken.
    EXPECT_EQ(events.hand_off.taken, 4u) << split;
    EXPECT_EQ(events.hand_off.direct + events.hand_off.copied, 4 * 1500000u + 49 + 99 + 149 + 199);
    EXPECT_GT(events.hand_off.direct, 0u) << split;
  }
}

TEST(TcpStreamBufferingHandOff, AStreamCutInsideATakenPayloadSaysHowMuchArrived) {
  const Bytes stream =
      frames_of({payload(1, 100, Filler::kNoise), payload(2, 300000, Filler::kNoise)});
  TakingFrames events;
  LengthPrefixedDecoder decoder(events, 1 << 20);
  const Bytes head(stream.begin(), stream.end() - 1000);
  const DecodeStatus st =
      read_stream_handing_off(decoder, events.hand_off, head, [] { return size_t{50000}; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(events.hand_off.taken, 1u);
  EXPECT_EQ(decode_reason_name(st.error().reason), "truncated");
  EXPECT_EQ(st.error().offset, 104u);
  EXPECT_EQ(st.error().message, "stream ends inside a frame of 300000 bytes, after 299000");

  const Recording rec = mcap_recording(false, 50, 50);  // the last message is 1.5 MB
  TakingMessages messages;
  McapStreamDecoder mcap_decoder(messages);
  const Bytes cut(rec.bytes.begin(), rec.bytes.begin() + long(rec.bytes.size() / 2));
  const DecodeStatus mcap_st =
      read_stream_handing_off(mcap_decoder, messages.hand_off, cut, [] { return size_t{65536}; });
  ASSERT_FALSE(mcap_st.ok());
  EXPECT_EQ(messages.hand_off.taken, 1u);
  EXPECT_EQ(decode_reason_name(mcap_st.error().reason), "truncated");
  EXPECT_NE(mcap_st.error().message.find("stream ends inside a Message record of "),
            std::string::npos)
      << mcap_st.error().message;
  EXPECT_EQ(messages.payloads.size(), 49u);
}

// Bytes that live elsewhere (feed(): tests, fuzzers) are never handed off: the handler could
// not read the rest of them.
TEST(TcpStreamBufferingHandOff, FedBytesAreNeverOffered) {
  const std::vector<Bytes> payloads = awkward_payloads();
  const Bytes stream = frames_of(payloads);
  TakingFrames events;
  LengthPrefixedDecoder decoder(events, 16 << 20);
  for (size_t pos = 0; pos < stream.size(); pos += 50000) {
    ASSERT_TRUE(
        decoder.feed(ByteView(stream).subspan(pos, std::min<size_t>(50000, stream.size() - pos)))
            .ok());
  }
  ASSERT_TRUE(decoder.finish().ok());
  EXPECT_EQ(events.hand_off.taken, 0u);
  EXPECT_EQ(events.frames, payloads);
}

// ---- through a real socket ----

config::Source tcp_source(config::SourceFormat format) {
  config::Source source;
  source.name = "wire";
  source.transport = config::Transport::kTcp;
  source.bind = config::Endpoint{"127.0.0.1", 0};
  source.format = format;
  if (format == config::SourceFormat::kLengthPrefixed) {
    source.topic = "/wire";
    source.message_encoding = "raw";
    source.timestamp = config::TimestampSource::kReceive;
  }
  return source;
}

// Sends `bytes` over loopback in writes of random sizes, into a recording whose disk is stalled
// at first unless `setup` says not (so that the session holds messages and pauses), and returns
// the recorded payloads.
struct OverLoopback {
  std::vector<Bytes> payloads;
  uint64_t direct_bytes = 0;  // the source's: read straight into queue segments
};

struct LoopbackSetup {
  bool stall_disk_first = true;       // the queue fills and the session holds and pauses
  uint64_t queue_bytes = 8ull << 20;  // the channel's queue (overflow: block)
};

OverLoopback record_over_loopback(config::SourceFormat format, const Bytes& bytes,
                                  uint64_t expected, LoopbackSetup setup = {}) {
  pipeline::testing::ScratchDir dir;
  pipeline::testing::WriteGate gate;
  config::Config config;
  config.sources = {tcp_source(format)};
  config::ChannelSettings settings;
  settings.topic = format == config::SourceFormat::kMcap ? "/t" : "/wire";
  settings.queue_bytes = setup.queue_bytes;
  settings.overflow = config::Overflow::kBlock;
  config.channels = {settings};
  config.pipeline.ingest_threads = 1;
  pipeline::PipelineOptions options;
  options.directory = dir.path();
  options.chunk_size = 1 << 20;
  options.compressor_threads = 1;
  options.max_bytes = 0;
  options.open_sink = pipeline::testing::gated_sink_factory(gate);
  auto pipeline = pipeline::Pipeline::start(options);
  EXPECT_TRUE(pipeline.ok());
  if (!pipeline.ok()) return {};
  if (setup.stall_disk_first) gate.close();
  auto server = IngestServer::start(config, **pipeline);
  EXPECT_TRUE(server.ok()) << server.error().to_string();
  if (!server.ok()) return {};
  const std::string bind = (*server)->stats().at(0).bind;
  const uint16_t port = uint16_t(std::stoi(bind.substr(bind.rfind(':') + 1)));

  std::thread sender([&] {
    test_support::TcpClient client(port);
    ASSERT_TRUE(client.connected());
    std::mt19937 rng(3);
    for (size_t pos = 0; pos < bytes.size();) {
      const size_t n = std::min<size_t>(1 + rng() % 300000, bytes.size() - pos);
      ASSERT_TRUE(client.send(mcap::ByteView(bytes).subspan(pos, n)));
      pos += n;
    }
  });
  if (setup.stall_disk_first) {
    std::this_thread::sleep_for(300ms);  // let the queue fill while the disk is stalled
    gate.open();
  }
  sender.join();
  EXPECT_TRUE(pipeline::testing::eventually(
      [&] { return (*server)->stats().at(0).messages == expected; }, 20s))
      << (*server)->stats().at(0).messages;
  EXPECT_TRUE((*server)->stats().at(0).errors.empty());
  const uint64_t direct_bytes = (*server)->stats().at(0).direct_bytes;
  (*server)->stop();
  EXPECT_TRUE((*pipeline)->stop().ok());
  const std::vector<std::string> files = dir.files(".mcap");
  EXPECT_EQ(files.size(), 1u);
  if (files.empty()) return {};
  const pipeline::testing::FileContents contents = pipeline::testing::read_file(files.front());
  EXPECT_EQ(contents.error, "");
  OverLoopback out;
  out.direct_bytes = direct_bytes;
  for (const auto& message : contents.messages) out.payloads.push_back(message.data);
  return out;
}

TEST(TcpStreamBufferingLoopback, LengthPrefixedFramesOfEverySizeAreRecordedExactly) {
  const std::vector<Bytes> payloads = awkward_payloads();
  const OverLoopback recorded = record_over_loopback(config::SourceFormat::kLengthPrefixed,
                                                     frames_of(payloads), payloads.size());
  ASSERT_EQ(recorded.payloads.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) EXPECT_EQ(recorded.payloads[i], payloads[i]) << i;
  // Large frames were read straight into the queue (while it had room).
  EXPECT_GT(recorded.direct_bytes, 0u);
}

TEST(TcpStreamBufferingLoopback, McapChunksWithLargeMessagesAreRecordedExactly) {
  const Recording rec = mcap_recording(true, 400, 40);
  const OverLoopback recorded =
      record_over_loopback(config::SourceFormat::kMcap, rec.bytes, rec.payloads.size());
  ASSERT_EQ(recorded.payloads.size(), rec.payloads.size());
  for (size_t i = 0; i < rec.payloads.size(); ++i) {
    EXPECT_EQ(recorded.payloads[i], rec.payloads[i]) << i;
  }
  EXPECT_EQ(recorded.direct_bytes, 0u);  // messages inside chunks are never read in place
}

// Outside chunks, the large messages are read from the socket straight into their segments:
// most of their bytes, counted in direct_bytes, and the file is the same. The queue holds them
// all, so that every message finds room: a full queue (a slow disk on a loaded machine) sends
// messages through the decoder's buffer instead, which is right but not what this test is about.
TEST(TcpStreamBufferingLoopback, LargeMcapMessagesAreReadStraightIntoTheQueue) {
  const Recording rec = mcap_recording(false, 400, 20);  // 20 messages of 1.5 MB
  const OverLoopback recorded =
      record_over_loopback(config::SourceFormat::kMcap, rec.bytes, rec.payloads.size(),
                           {.stall_disk_first = false, .queue_bytes = 64ull << 20});
  ASSERT_EQ(recorded.payloads.size(), rec.payloads.size());
  for (size_t i = 0; i < rec.payloads.size(); ++i) {
    EXPECT_EQ(recorded.payloads[i], rec.payloads[i]) << i;
  }
  // Each message bar what the read before it took (a short read after a payload read in place,
  // up to 1 MiB after one that was not): 86-92 % in five runs on a quiet machine.
  const uint64_t payload_bytes = 20 * 1500000u;
  EXPECT_GT(recorded.direct_bytes, payload_bytes * 2 / 3);
}

TEST(ReceiveBuffer, AnIncompleteRecordStaysInPlaceUntilItWouldNotFit) {
  ReceiveBuffer buffer(1000);
  std::span<uint8_t> space = buffer.space(10);
  ASSERT_EQ(space.size(), 1000u);
  const uint8_t* block = space.data();
  std::memset(space.data(), 1, 800);
  buffer.commit(800);
  buffer.consume(750);  // 50 bytes of a 100-byte record wait at offset 750
  space = buffer.space(100);
  EXPECT_EQ(space.data(), block + 800);  // fits: the next read goes after it, nothing moves
  EXPECT_EQ(space.size(), 200u);
  space = buffer.space(300);  // would not fit: moved to the front
  EXPECT_EQ(buffer.pending().data(), block);
  EXPECT_EQ(space.size(), 950u);
  space = buffer.space(5000);  // larger than the block: grows, keeping the bytes
  EXPECT_EQ(buffer.pending().size(), 50u);
  EXPECT_GE(space.size(), 4950u);
  EXPECT_TRUE(std::all_of(buffer.pending().begin(), buffer.pending().end(),
                          [](uint8_t b) { return b == 1; }));
  buffer.consume(50);
  EXPECT_TRUE(buffer.empty());
}

}  // namespace
}  // namespace mcaprec::ingest
