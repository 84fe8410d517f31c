#pragma once
// The bytes recovery appends after the valid prefix of a file: the Message Index records the
// last chunk lacks, a `mcaprec.recovery` Metadata record, Data End with the data section CRC,
// the summary (schemas, channels, statistics, metadata, attachment and chunk indexes), the
// summary offsets, the Footer with the summary CRC, and the magic. The layout matches what
// mcap::Writer writes on close.
#include <cstdint>

#include "mcap/reader.hpp"
#include "mcap/records.hpp"

namespace mcaprec::storage {

// Builds the tail for the valid prefix `scan` describes, to be written at scan.valid_end.
// `scan` is updated to describe the completed file (indexes and statistics include what the
// tail adds).
mcap::Bytes build_recovery_tail(mcap::ScanReport& scan, const mcap::Metadata& recovery_record);

}  // namespace mcaprec::storage
