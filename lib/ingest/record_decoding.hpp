#pragma once
// Internal to lib/ingest: the per-record rules shared by the stream, chunk and datagram paths.
// Each function checks one record against the limits and the sender's channels and says what
// to report; the callers decide when to report it.
#include <cstdint>
#include <optional>
#include <string>

#include "ingest/decode_error.hpp"
#include "ingest/decoder_limits.hpp"
#include "ingest/sender_channels.hpp"
#include "mcap/records.hpp"

namespace mcaprec::ingest::detail {

// "Schema", "Message", "Unknown(0x47)", "Private(0x89)".
std::string opcode_label(uint8_t opcode);

// True for the opcodes the MCAP spec defines (0x01..0x0F).
bool is_spec_opcode(uint8_t opcode);

// Largest content length accepted for a record, judged from its prefix alone, so that nothing
// larger is ever buffered: Message 22 + max_message_size; Chunk max_chunk_bytes plus codec
// framing; every other record max_message_size + kRecordOverhead, except that records which
// are only skipped may be as large as a Chunk (Message Index runs grow with their chunk).
uint64_t content_limit(uint8_t opcode, const DecoderLimits& limits);

// Refuses a record whose content length exceeds content_limit(), or a Message too short for
// its fixed fields. `offset` is the record's.
DecodeStatus check_content_length(uint8_t opcode, uint64_t length, uint64_t offset,
                                  const DecoderLimits& limits);

// A Message record's content: fields parsed, payload size checked, channel known.
DecodeResult<mcap::Message> decode_message(mcap::ByteView content, uint64_t offset,
                                           const SenderChannels& channels,
                                           const DecoderLimits& limits);

// A Schema record added to the sender's channels. Returns the schema when it is new (to
// report); nothing for an identical repeat or for schema id 0, which the spec says to ignore.
DecodeResult<std::optional<mcap::Schema>> decode_schema(mcap::ByteView content, uint64_t offset,
                                                        SenderChannels& channels);

// A Channel record added to the sender's channels. Returns its id when it is new (to report).
DecodeResult<std::optional<InBandChannelId>> decode_channel(mcap::ByteView content, uint64_t offset,
                                                            SenderChannels& channels);

// Attachment (CRC checked when non-zero) and Metadata records, parsed.
DecodeResult<mcap::Attachment> decode_attachment(mcap::ByteView content, uint64_t offset);
DecodeResult<mcap::Metadata> decode_metadata(mcap::ByteView content, uint64_t offset);
DecodeResult<mcap::Header> decode_header(mcap::ByteView content, uint64_t offset);

}  // namespace mcaprec::ingest::detail
