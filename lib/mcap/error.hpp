#pragma once
// Errors as values: every parse or I/O failure says what went wrong and where (a byte offset
// into the file or stream), and never throws or aborts.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace mcaprec::mcap {

struct Error {
  uint64_t offset = 0;  // byte offset in the file or stream where the problem was found
  std::string message;  // what was wrong, for a person to read

  std::string to_string() const { return "at offset " + std::to_string(offset) + ": " + message; }
};

// A value or an error: an Error, or another error type (the ingest decoders' carries a reason
// code). Deliberately tiny: C++20 has no std::expected.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(E error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// Success, or an error (see Result).
template <class E = Error>
class [[nodiscard]] BasicStatus {
 public:
  BasicStatus() = default;
  BasicStatus(E error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const E& error() const { return error_; }

 private:
  E error_;
  bool failed_ = false;
};
using Status = BasicStatus<>;

}  // namespace mcaprec::mcap
