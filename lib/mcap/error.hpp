#pragma once
// The format layer's errors are base's: a parse or I/O failure says what went wrong and at which
// byte offset of the file or stream. These names keep the format code reading as it always has.
#include "base/error.hpp"
#include "base/result.hpp"

namespace mcaprec::mcap {

using Error = base::Error;
template <class T, class E = Error>
using Result = base::Result<T, E>;
template <class E = Error>
using BasicStatus = base::BasicStatus<E>;
using Status = base::Status;

}  // namespace mcaprec::mcap
