#include "ingest/tcp_session.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <optional>
#include <span>
#include <utility>

namespace mcaprec::ingest {

namespace asio = boost::asio;

namespace {

uint64_t realtime_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

TcpSession::TcpSession(asio::ip::tcp::socket socket, SourceContext& source,
                       pipeline::ChannelHandle fixed_channel, std::string peer)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      retry_timer_(socket_.get_executor()),
      source_(source),
      peer_(std::move(peer)),
      fixed_channel_(fixed_channel),
      channels_(source) {
  if (source_.source().format == config::SourceFormat::kMcap) {
    decoder_ =
        std::make_unique<McapStreamDecoder>(static_cast<DecoderEvents&>(*this), source_.limits());
  } else {
    decoder_ = std::make_unique<LengthPrefixedDecoder>(static_cast<FrameEvents&>(*this),
                                                       source_.max_message_size());
  }
  source_.connections_open.fetch_add(1, std::memory_order_relaxed);
  source_.add_peer(peer_);
}

TcpSession::~TcpSession() {
  source_.remove_peer(peer_);
  source_.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void TcpSession::start() {
  last_activity_ = std::chrono::steady_clock::now();
  if (source_.source().idle_timeout.count() > 0) arm_idle_timer(source_.source().idle_timeout);
  read();
}

void TcpSession::close() {
  if (closed_) return;
  closed_ = true;
  // Only the server's stop closes a session that still holds messages (the session itself
  // closes once they are in), after the context threads stopped: wait for room here, as a
  // blocking push would have, so that nothing read from the socket is lost. The same for what
  // waits in the paused decoder: push() blocks from now on.
  for (; holding(); ++next_held_) {
    const HeldMessage& held = held_[next_held_];
    count_pushed(source_.pipeline().push(held.channel, held.log_time, held.publish_time,
                                         held.sequence, held.payload),
                 held.payload.size());
  }
  if (decoder_->paused() && !decoder_->failed()) {
    const DecodeStatus status = decoder_->resume();
    if (!status) {
      source_.report_error(decode_reason_name(status.error().reason), peer_,
                           status.error().to_string() + "; connection closed");
    }
  }
  // A payload cut short by the stop is lost like the bytes still in the socket: never queued.
  direct_.record.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  idle_timer_.cancel();
  retry_timer_.cancel();
}

void TcpSession::read() {
  if (decoder_->handed_off() > 0) {
    read_payload();
    return;
  }
  std::span<uint8_t> space = decoder_->read_space();
  if (short_read_next_) {
    short_read_next_ = false;
    space = space.first(std::min(space.size(), kShortReadBytes));
  }
  socket_.async_read_some(asio::buffer(space.data(), space.size()),
                          [self = shared_from_this()](boost::system::error_code error,
                                                      size_t size) { self->on_read(error, size); });
}

void TcpSession::on_read(boost::system::error_code error, size_t size) {
  if (closed_) return;
  if (error) {
    if (error == asio::error::eof) {
      const DecodeStatus status = decoder_->finish();
      if (!status) {
        fail(decode_reason_name(status.error().reason), status.error().to_string());
        return;
      }
    }
    continue_after_piece(true);
    return;
  }
  last_activity_ = std::chrono::steady_clock::now();
  receive_ns_ = realtime_ns();
  const DecodeStatus status = decoder_->commit(size);
  if (!status) {
    fail(decode_reason_name(status.error().reason), status.error().to_string());
    return;
  }
  continue_after_piece(failed_);
}

void TcpSession::read_payload() {
  direct_buffers_.clear();
  const size_t filled = direct_.record.payload_size() - decoder_->handed_off();
  direct_.record.for_each_piece_from(filled, [this](std::span<uint8_t> room) {
    direct_buffers_.emplace_back(room.data(), room.size());
  });
  socket_.async_read_some(
      direct_buffers_, [self = shared_from_this()](boost::system::error_code error, size_t size) {
        self->on_payload_read(error, size);
      });
}

void TcpSession::on_payload_read(boost::system::error_code error, size_t size) {
  if (closed_) return;
  if (error) {
    direct_.record.cancel();  // the decoder reports the payload as truncated
    on_read(error, 0);
    return;
  }
  last_activity_ = std::chrono::steady_clock::now();
  decoder_->payload_read(size);
  if (decoder_->handed_off() == 0) {
    const size_t payload_size = direct_.record.payload_size();
    const pipeline::PushResult result = source_.pipeline().commit_payload(
        direct_.channel, direct_.record, direct_.log_time, direct_.publish_time, direct_.sequence);
    count_pushed(result, payload_size);
    if (result.ok()) {
      source_.direct_bytes.fetch_add(payload_size - direct_.copied, std::memory_order_relaxed);
    }
    short_read_next_ = true;
  }
  continue_after_piece(false);
}

bool TcpSession::take_payload(pipeline::ChannelHandle channel, mcap::Timestamp log_time,
                              mcap::Timestamp publish_time, uint32_t sequence,
                              mcap::ByteView received, uint64_t payload_size) {
  // Held messages go first, in order; a closing session reads nothing more.
  if (closed_ || ending_ || holding()) return false;
  if (!source_.pipeline().reserve_payload(channel, payload_size, direct_.record)) return false;
  direct_.record.write(0, received);
  direct_.channel = channel;
  direct_.log_time = log_time;
  direct_.publish_time = publish_time;
  direct_.sequence = sequence;
  direct_.copied = received.size();
  return true;
}

void TcpSession::continue_after_piece(bool last) {
  ending_ = ending_ || last;
  if (holding()) {
    // Not reading is the backpressure: the socket's buffer fills and the sender's window
    // closes.
    arm_retry();
  } else if (ending_) {
    close();
  } else {
    read();
  }
}

void TcpSession::arm_retry() {
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (error || self->closed_) return;
    self->retry_held();
  });
}

void TcpSession::retry_held() {
  for (; holding(); ++next_held_) {
    const HeldMessage& held = held_[next_held_];
    const std::optional<pipeline::PushResult> result = source_.pipeline().try_push(
        held.channel, held.log_time, held.publish_time, held.sequence, held.payload);
    if (!result) {
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
      arm_retry();
      return;
    }
    count_pushed(*result, held.payload.size());
  }
  held_.clear();
  next_held_ = 0;
  backoff_ = kFirstBackoff;
  last_activity_ = std::chrono::steady_clock::now();
  // The rest of what was read waited behind the held messages: decode it now (it may fill the
  // channel and pause again) before reading more.
  if (!ending_) {
    const DecodeStatus status = decoder_->resume();
    if (!status) {
      fail(decode_reason_name(status.error().reason), status.error().to_string());
      return;
    }
  }
  continue_after_piece(failed_);
}

void TcpSession::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code error) {
    if (error || self->closed_) return;
    const auto timeout = self->source_.source().idle_timeout;
    // A session holding messages stopped reading itself: the sender is not idle.
    if (self->holding()) self->last_activity_ = std::chrono::steady_clock::now();
    const auto silent = std::chrono::steady_clock::now() - self->last_activity_;
    if (silent >= timeout) {
      self->fail(kIdleTimeout, "nothing received for " + std::to_string(timeout.count()) + " ms");
      return;
    }
    self->arm_idle_timer(timeout - silent);
  });
}

void TcpSession::fail(std::string_view reason, const std::string& what) {
  source_.report_error(reason, peer_, what + "; connection closed");
  // The messages before the bad input are good: they still go in before the close.
  continue_after_piece(true);
}

void TcpSession::on_channel(InBandChannelId id, const ChannelDefinition& definition) {
  if (failed_) return;
  if (base::Status declared = channels_.declare(id, definition); !declared) {
    failed_ = true;
    source_.report_error(kDeclareFailed, peer_, declared.error().message + "; connection closed");
  }
}

void TcpSession::on_message(const mcap::Message& message) {
  if (failed_) return;
  const std::optional<ChannelMapping::Route> route = channels_.route(message, receive_ns_);
  if (!route) return;
  push(route->channel, route->log_time, message.publish_time, message.sequence, message.data);
}

bool TcpSession::on_large_message(const mcap::Message& message, uint64_t payload_size) {
  if (failed_) return false;
  const std::optional<ChannelMapping::Route> route = channels_.route(message, receive_ns_);
  if (!route) return false;  // on_message() skips it once it is whole
  return take_payload(route->channel, route->log_time, message.publish_time, message.sequence,
                      message.data, payload_size);
}

void TcpSession::on_metadata(const mcap::Metadata& metadata) {
  if (!failed_) source_.pipeline().write_metadata(metadata);
}

void TcpSession::on_attachment(const mcap::Attachment& attachment) {
  if (!failed_) source_.pipeline().write_attachment(attachment);
}

void TcpSession::on_frame(mcap::ByteView payload) {
  push(fixed_channel_, receive_ns_, receive_ns_, frame_sequence_++, payload);
}

bool TcpSession::on_large_frame(mcap::ByteView received, uint64_t frame_size) {
  if (!take_payload(fixed_channel_, receive_ns_, receive_ns_, frame_sequence_, received,
                    frame_size)) {
    return false;
  }
  ++frame_sequence_;
  return true;
}

void TcpSession::push(pipeline::ChannelHandle channel, mcap::Timestamp log_time,
                      mcap::Timestamp publish_time, uint32_t sequence, mcap::ByteView payload) {
  if (closed_) {  // the server's stop: wait for room (see close())
    count_pushed(source_.pipeline().push(channel, log_time, publish_time, sequence, payload),
                 payload.size());
    return;
  }
  if (!holding()) {
    const std::optional<pipeline::PushResult> result =
        source_.pipeline().try_push(channel, log_time, publish_time, sequence, payload);
    if (result) {
      count_pushed(*result, payload.size());
      return;
    }
  }
  // The channel is full (or earlier messages are held): keep the order, hold it, and stop
  // decoding after this record so that the bytes behind the view stay where they are.
  held_.push_back(HeldMessage{channel, log_time, publish_time, sequence, payload});
  decoder_->pause();
}

void TcpSession::count_pushed(const pipeline::PushResult& result, size_t payload_size) {
  if (!result.ok()) return;  // dropped: counted by the pipeline
  source_.messages.fetch_add(1, std::memory_order_relaxed);
  source_.bytes.fetch_add(payload_size, std::memory_order_relaxed);
}

}  // namespace mcaprec::ingest
