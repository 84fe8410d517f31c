#include "synth/datagram_packer.hpp"

#include "mcap/serialize.hpp"

namespace mcaprec::synth {

DatagramPacker::DatagramPacker(size_t max_datagram_bytes, uint64_t definitions_every)
    : max_bytes_(max_datagram_bytes), definitions_every_(definitions_every) {}

bool DatagramPacker::fits_message(uint64_t data_size) const {
  return data_size <= max_bytes_ &&
         mcap::kRecordPrefixSize + mcap::kMessageHeaderSize + data_size <= max_bytes_;
}

bool DatagramPacker::add_schema(const mcap::Schema& schema) {
  mcap::Bytes record;
  mcap::append_record(record, schema);
  return add_definition(std::move(record));
}

bool DatagramPacker::add_channel(const mcap::Channel& channel) {
  mcap::Bytes record;
  mcap::append_record(record, channel);
  return add_definition(std::move(record));
}

bool DatagramPacker::add_definition(mcap::Bytes record) {
  if (record.size() > max_bytes_) return false;
  reserve_record(record.size());
  buffer_.insert(buffer_.end(), record.begin(), record.end());
  definitions_.push_back(std::move(record));
  open_has_definitions_ = true;  // a new definition restarts the count, like a repeat
  return true;
}

bool DatagramPacker::add_message(const mcap::Message& message) {
  if (!fits_message(message.data.size())) return false;
  reserve_record(mcap::kRecordPrefixSize + mcap::kMessageHeaderSize + message.data.size());
  mcap::append_message_header(buffer_, message.channel_id, message.sequence, message.log_time,
                              message.publish_time, message.data.size());
  buffer_.insert(buffer_.end(), message.data.begin(), message.data.end());
  ++open_messages_;
  return true;
}

void DatagramPacker::add_raw(mcap::ByteView payload) {
  finish_datagram();
  buffer_.insert(buffer_.end(), payload.begin(), payload.end());
  open_messages_ = 1;
  finish_datagram();
}

void DatagramPacker::reserve_record(size_t bytes) {
  if (open_size() > 0 && open_size() + bytes > max_bytes_) finish_datagram();
  const bool repeat_due =
      definitions_every_ > 0 && since_definitions_ >= definitions_every_ && !definitions_.empty();
  if (open_size() == 0 && repeat_due) {
    ++definition_repeats_;
    for (const mcap::Bytes& record : definitions_) {
      if (open_size() + record.size() > max_bytes_) finish_datagram();
      buffer_.insert(buffer_.end(), record.begin(), record.end());
      open_has_definitions_ = true;
    }
    if (open_size() + bytes > max_bytes_) finish_datagram();
  }
}

void DatagramPacker::finish_datagram() {
  if (open_size() == 0) return;
  ready_.push_back(Datagram{open_start_, open_size(), open_messages_});
  open_start_ = buffer_.size();
  open_messages_ = 0;
  since_definitions_ = open_has_definitions_ ? 0 : since_definitions_ + 1;
  open_has_definitions_ = false;
}

void DatagramPacker::clear_ready() {
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(open_start_));
  open_start_ = 0;
  ready_.clear();
}

}  // namespace mcaprec::synth
