#pragma once
// Errors as values, shared by every layer: a failure says what went wrong and, where it is about
// a position in a file or stream, where. Nothing in mcaprec throws or aborts on bad input.
#include <cstdint>
#include <string>

namespace mcaprec::base {

struct Error {
  uint64_t offset = 0;  // byte offset in the file or stream where the problem was found (0 when
                        // the error is not about a position, e.g. a socket or a directory)
  std::string message;  // what was wrong, for a person to read

  std::string to_string() const { return "at offset " + std::to_string(offset) + ": " + message; }
};

}  // namespace mcaprec::base
