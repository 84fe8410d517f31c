#pragma once
// Packs MCAP records into datagrams for the `mcap` format over UDP (docs/ARCHITECTURE.md §6): each
// datagram holds whole Schema, Channel and Message records, no magic, at most
// `max_datagram_bytes` long. UDP may lose the datagram that defined a channel, and the receiver
// keeps definitions per sender, so every known Schema and Channel is packed again at the start
// of a datagram once `definitions_every` datagrams went out without any definition (a datagram
// that carries a newly added definition counts as one with definitions).
//
// Datagrams are kept back to back in one buffer, ready to hand to sendmmsg, until the caller
// has sent them and calls clear_ready().
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "mcap/records.hpp"

namespace mcaprec::synth {

class DatagramPacker {
 public:
  // `definitions_every` 0: definitions go out only once, when they are added.
  DatagramPacker(size_t max_datagram_bytes, uint64_t definitions_every);

  // Each returns false, packing nothing, when the record alone is larger than a datagram.
  bool add_schema(const mcap::Schema& schema);
  bool add_channel(const mcap::Channel& channel);
  bool add_message(const mcap::Message& message);
  // A message record with `data_size` payload bytes fits in one datagram.
  bool fits_message(uint64_t data_size) const;

  // `payload` as one datagram of its own, whatever its size (the `raw` format).
  void add_raw(mcap::ByteView payload);

  // Closes the datagram being filled, so that everything packed is ready to send.
  void finish_datagram();

  size_t ready_count() const { return ready_.size(); }
  mcap::ByteView ready(size_t i) const {
    return mcap::ByteView(buffer_).subspan(ready_[i].offset, ready_[i].size);
  }
  // Message records in ready datagram `i`.
  uint64_t ready_messages(size_t i) const { return ready_[i].messages; }
  // Forgets the ready datagrams; the one being filled stays.
  void clear_ready();

  size_t max_datagram_bytes() const { return max_bytes_; }
  uint64_t definition_repeats() const { return definition_repeats_; }

 private:
  struct Datagram {
    size_t offset = 0;
    size_t size = 0;
    uint64_t messages = 0;
  };

  size_t open_size() const { return buffer_.size() - open_start_; }
  // Makes room for a record of `bytes` in the open datagram, repeating definitions when due.
  void reserve_record(size_t bytes);
  bool add_definition(mcap::Bytes record);

  size_t max_bytes_;
  uint64_t definitions_every_;
  mcap::Bytes buffer_;  // ready datagrams, then the open one from open_start_
  std::vector<Datagram> ready_;
  size_t open_start_ = 0;
  uint64_t open_messages_ = 0;
  std::vector<mcap::Bytes> definitions_;  // every Schema and Channel record, in order
  uint64_t since_definitions_ = 0;        // datagrams finished since definitions last went out
  bool open_has_definitions_ = false;     // the open datagram carries definitions
  uint64_t definition_repeats_ = 0;
};

}  // namespace mcaprec::synth
