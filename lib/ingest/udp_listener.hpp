#pragma once
// One UDP source: a non-blocking socket watched by the Asio reactor (async_wait on read
// readiness); each wake-up drains the socket with recvmmsg, up to the source's receive_batch
// buffers per call (recvmsg when it is 0 or 1), straight into buffers reused for the
// listener's lifetime. Kernel receive timestamps
// (SO_TIMESTAMPNS) give the receive time; SO_RXQ_OVFL reports what the kernel dropped.
// With UDP_GRO on (the default), the kernel may hand over several equal-sized datagrams of one
// sender in one buffer (a sender's GSO batch, or a NIC's GRO): the buffer is split back into
// its datagrams by the segment size the kernel reports.
// A busy source (a wake-up that read 2+ datagrams, or came soon after the previous one) is not
// watched for up to 500 us (less with a small receive buffer) before the next read, so that each
// wake-up finds many datagrams; this bounds the latency added.
//
// Formats: `raw` (a datagram is one message on the source's topic) and `mcap` (whole records
// per datagram, ids scoped to the sender address: one SenderChannels and one ChannelMapping per
// sender, at most kMaxSenders senders). A full queue drops the newest datagram (the channel's
// policy, counted by the pipeline); bad datagrams are counted per reason and dropped.
//
// Runs on one io_context; every handler runs on that context's single thread.
#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/result.hpp"
#include "ingest/channel_mapping.hpp"
#include "ingest/decoder_events.hpp"
#include "ingest/ingest_server.hpp"
#include "ingest/mcap_datagram_decoder.hpp"
#include "ingest/peer_address.hpp"
#include "ingest/sender_channels.hpp"
#include "ingest/source_context.hpp"

namespace mcaprec::ingest {

class UdpListener {
 public:
  // Senders with their own channel ids one mcap source keeps; datagrams from further senders
  // are refused (counted as too_many_senders) so that stray traffic cannot exhaust memory.
  static constexpr size_t kMaxSenders = 256;

  // Opens, configures and binds the socket (and joins the multicast group): an error names the
  // source and the address.
  static base::Result<std::unique_ptr<UdpListener>> open(boost::asio::io_context& io,
                                                         SourceContext& source,
                                                         const IngestOptions& options);
  ~UdpListener();

  void start();  // arms the first wait
  void close();  // on the context's thread, or after it stopped

 private:
  struct Sender {
    explicit Sender(SourceContext& source) : definitions(source.limits()), channels(source) {}
    SenderChannels definitions;
    ChannelMapping channels;
  };
  // Reports one datagram's records to the pipeline.
  class Events : public DecoderEvents {
   public:
    explicit Events(UdpListener& listener) : listener_(listener) {}
    void on_channel(InBandChannelId id, const ChannelDefinition& definition) override;
    void on_message(const mcap::Message& message) override;

    Sender* sender = nullptr;
    const PeerKey* peer = nullptr;
    uint64_t receive_ns = 0;

   private:
    UdpListener& listener_;
  };

  UdpListener(boost::asio::io_context& io, SourceContext& source, const IngestOptions& options);
  base::Status configure(const config::Source& config);
  base::Status join_multicast(const config::Source& config);
  void arm();
  void on_readable();
  void pause();  // reads again after pause_
  // Receives what the socket holds (a batch at most); returns the buffers read, 0 when empty.
  int receive();
  // One received buffer: one datagram, or several of `segment` bytes each (the last may be
  // shorter) when the kernel coalesced them. Returns the datagrams it held.
  uint64_t handle_buffer(const uint8_t* data, size_t size, size_t segment, bool truncated,
                         const sockaddr_storage& from, uint64_t receive_ns);
  void handle_datagram(const uint8_t* data, size_t size, const PeerKey& peer, uint64_t receive_ns);
  // Adds a batch's messages and bytes, then its datagrams, to the source's counters.
  void publish_counts(uint64_t datagrams);
  void handle_raw(const uint8_t* data, size_t size, uint64_t receive_ns);
  // Pushes the raw datagrams gathered from one receive as one batch (one channel lock).
  void push_raw_batch();
  void handle_mcap(const uint8_t* data, size_t size, const PeerKey& peer, uint64_t receive_ns);
  void report_oversized(const PeerKey& peer);
  void note_sender(const PeerKey& peer);

  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp protocol_ = boost::asio::ip::udp::v4();
  int fd_ = -1;
  bool watched_ = true;  // registered with the reactor (false while pausing)
  boost::asio::steady_timer pause_timer_;
  SourceContext& source_;
  const bool raw_;
  const unsigned batch_;
  const bool batched_;
  // Pausing between reads of a busy source (see on_readable).
  std::chrono::microseconds pause_{0};
  std::chrono::steady_clock::time_point last_wakeup_{};
  uint64_t wakeup_datagrams_ = 0;   // read since the current wake-up began
  uint32_t kernel_drops_seen_ = 0;  // the socket's SO_RXQ_OVFL count at the last receive
  bool closed_ = false;

  // Receive buffers, reused: batch_ slots of kSlotBytes, their addresses and control data.
  std::vector<uint8_t> buffers_;
  std::vector<mmsghdr> headers_;
  std::vector<iovec> iovecs_;
  std::vector<sockaddr_storage> addresses_;
  std::vector<uint8_t> controls_;

  pipeline::ChannelHandle raw_channel_;
  uint32_t raw_sequence_ = 0;
  // A receive's raw datagrams, in order; the payloads point into buffers_ until pushed.
  std::vector<pipeline::OutgoingMessage> raw_batch_;
  // Counted per batch rather than per datagram (one atomic add each per batch).
  uint64_t pending_messages_ = 0;
  uint64_t pending_bytes_ = 0;
  McapDatagramDecoder decoder_;
  Events events_;
  std::unordered_map<PeerKey, std::unique_ptr<Sender>, PeerKeyHash> senders_;
  std::unordered_set<PeerKey, PeerKeyHash> seen_;  // senders listed in the stats (capped)
  PeerKey last_seen_;
  bool any_seen_ = false;
};

}  // namespace mcaprec::ingest
