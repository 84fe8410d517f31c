#pragma once
// Full linear verification of an MCAP file held in memory: framing, every CRC, every index
// against what it indexes, the statistics against the real counts, and the summary layout.
// Unlike the readers, it does not stop at the first problem: it lists everything it can find,
// so that `mcaprec verify`, recovery and tests can say exactly what is wrong and where.
#include <cstdint>
#include <string>
#include <vector>

#include "mcap/compression.hpp"
#include "mcap/records.hpp"

namespace mcaprec::mcap {

// Errors make a file invalid: damaged bytes, broken indexes, wrong counts, rules readers rely
// on. Warnings are departures from the specification that readers tolerate and that the
// official conformance corpus itself contains (such as indexed chunks whose channels are not
// repeated in the summary); they do not fail verification.
enum class Severity { kError, kWarning };

// One problem, placed at the file offset of the record it concerns.
struct Finding {
  uint64_t offset = 0;
  std::string message;
  Severity severity = Severity::kError;

  std::string to_string() const {
    return "offset " + std::to_string(offset) +
           (severity == Severity::kWarning ? ": warning: " : ": ") + message;
  }
};

struct VerifyOptions {
  // Chunks claiming a larger uncompressed size are reported, not decompressed.
  uint64_t max_chunk_bytes = kDefaultMaxChunkBytes;
  // Findings kept in the report; further ones are only counted (a badly damaged file would
  // otherwise produce one per message).
  size_t max_findings = 1000;
};

struct VerifyReport {
  std::vector<Finding> findings;  // sorted by offset; at most VerifyOptions::max_findings
  uint64_t error_count = 0;       // every error found, kept in `findings` or not
  uint64_t warning_count = 0;     // every warning found, kept in `findings` or not
  // What the data section holds, as counted while checking it.
  uint64_t message_count = 0;
  uint64_t chunk_count = 0;
  uint64_t attachment_count = 0;
  uint64_t metadata_count = 0;

  bool ok() const { return error_count == 0; }
  uint64_t dropped() const { return error_count + warning_count - findings.size(); }
};

VerifyReport verify_file(ByteView file, const VerifyOptions& options = {});

}  // namespace mcaprec::mcap
