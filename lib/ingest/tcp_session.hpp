#pragma once
// One TCP connection of a source, in the style of the Asio examples: the session owns its
// socket and its decoder, and keeps itself alive through the shared_ptr its pending handlers
// hold. The socket reads straight into the decoder's buffer (ByteStreamDecoder::read_space()),
// records are decoded in place and each payload is copied once, by the pipeline's push (large
// ones not at all: below); the next read is issued only once what was read is in the pipeline.
//
// Backpressure without parking the thread: pushes never wait (Pipeline::try_push). When a
// block-policy channel is full, the message is held (a view: the decoder is paused, so the
// bytes behind the view stay put; a Chunk's later messages are held too), the session stops
// reading (the kernel's receive window closes and TCP flow control slows the sender) and
// retries on a timer with a growing backoff; once all held messages are in, decoding resumes
// and then reading. Other sessions on the same io_context keep flowing.
//
// Large payloads (kHandOffBytes and more) that a read brings only in part are read from the
// socket straight into their record's queue segments, reserved in the pipeline
// (Pipeline::reserve_payload): the part already received is copied once, the rest not at all.
// The read after such a payload is short (kShortReadBytes), so that the next large message's
// header comes with little of its payload, which would be copied. With no room reserved now
// (a full queue, a latched channel), the message takes the usual path.
//
// Memory per connection: the decoder's buffer, kDefaultReadBytes (1 MiB), or while a larger
// record is in flight that record (at most max_message_size + 4 for length_prefixed, the
// DecoderLimits for mcap: a Chunk up to max_chunk_bytes); plus, for mcap, an unpacked chunk.
//
// Formats: `mcap` (in-band ids remapped per connection: SenderChannels inside the decoder and a
// ChannelMapping to pipeline channels) and `length_prefixed` (the source's channel).
// Bad input is counted, logged (rate-limited) and closes the connection.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/byte_stream_decoder.hpp"
#include "ingest/channel_mapping.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/length_prefixed_decoder.hpp"
#include "ingest/mcap_stream_decoder.hpp"
#include "ingest/source_context.hpp"

namespace mcaprec::ingest {

class TcpSession : public std::enable_shared_from_this<TcpSession>,
                   private DecoderEvents,
                   private FrameEvents {
 public:
  // `fixed_channel` is the source's channel for length_prefixed, unused for mcap.
  TcpSession(boost::asio::ip::tcp::socket socket, SourceContext& source,
             pipeline::ChannelHandle fixed_channel, std::string peer);
  ~TcpSession() override;
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  void start();
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }
  // Closes the socket; pending handlers finish with an error and release the session. Call on
  // the session's context thread, or once that thread has stopped.
  void close();

 private:
  // A message that a full block-policy channel refused, kept until it has room. The payload
  // is a view into the paused decoder's buffer or unpacked chunk.
  struct HeldMessage {
    pipeline::ChannelHandle channel;
    mcap::Timestamp log_time = 0;
    mcap::Timestamp publish_time = 0;
    uint32_t sequence = 0;
    mcap::ByteView payload;
  };
  static constexpr std::chrono::microseconds kFirstBackoff{100};
  static constexpr std::chrono::microseconds kMaxBackoff{4000};
  static constexpr size_t kShortReadBytes = 64 << 10;

  // A large payload being read straight into its reserved record.
  struct DirectPayload {
    pipeline::ReservedRecord record;
    pipeline::ChannelHandle channel;
    mcap::Timestamp log_time = 0;
    mcap::Timestamp publish_time = 0;
    uint32_t sequence = 0;
    size_t copied = 0;  // payload bytes that came with the header's read, copied from the buffer
  };

  void read();
  void on_read(boost::system::error_code error, size_t size);
  void read_payload();
  void on_payload_read(boost::system::error_code error, size_t size);
  // Reserves the message's record for a hand-off and copies `received` into it.
  bool take_payload(pipeline::ChannelHandle channel, mcap::Timestamp log_time,
                    mcap::Timestamp publish_time, uint32_t sequence, mcap::ByteView received,
                    uint64_t payload_size);
  // After a read was decoded: retry held messages, or read on, or (`last`) close.
  void continue_after_piece(bool last);
  bool holding() const { return next_held_ < held_.size(); }
  void arm_retry();
  void retry_held();
  void count_pushed(const pipeline::PushResult& result, size_t payload_size);
  void arm_idle_timer(std::chrono::steady_clock::duration after);
  void fail(std::string_view reason, const std::string& what);

  // DecoderEvents (mcap)
  void on_channel(InBandChannelId id, const ChannelDefinition& definition) override;
  void on_message(const mcap::Message& message) override;
  bool on_large_message(const mcap::Message& message, uint64_t payload_size) override;
  void on_metadata(const mcap::Metadata& metadata) override;
  void on_attachment(const mcap::Attachment& attachment) override;
  // FrameEvents (length_prefixed)
  void on_frame(mcap::ByteView payload) override;
  bool on_large_frame(mcap::ByteView received, uint64_t frame_size) override;

  void push(pipeline::ChannelHandle channel, mcap::Timestamp log_time, mcap::Timestamp publish_time,
            uint32_t sequence, mcap::ByteView payload);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer retry_timer_;
  SourceContext& source_;
  const std::string peer_;
  std::unique_ptr<ByteStreamDecoder> decoder_;  // McapStreamDecoder or LengthPrefixedDecoder
  pipeline::ChannelHandle fixed_channel_;
  ChannelMapping channels_;  // mcap only
  uint32_t frame_sequence_ = 0;
  uint64_t receive_ns_ = 0;  // when the bytes being decoded arrived
  bool failed_ = false;      // a declaration failed inside feed(): close after it
  bool closed_ = false;
  bool ending_ = false;  // close once the held messages are in (end of stream or bad input)
  // Held messages, oldest first; reused (no allocation once grown).
  std::vector<HeldMessage> held_;
  size_t next_held_ = 0;
  std::chrono::microseconds backoff_ = kFirstBackoff;
  std::chrono::steady_clock::time_point last_activity_;
  DirectPayload direct_;
  std::vector<boost::asio::mutable_buffer> direct_buffers_;  // reused for each read into it
  bool short_read_next_ = false;
};

}  // namespace mcaprec::ingest
