#pragma once
// A value or an error, and success or an error. Deliberately tiny: C++20 has no std::expected.
// The error type is a parameter because some layers carry more than base::Error (the ingest
// decoders' errors carry a reason code, the configuration's a file, line and key path).
#include <utility>
#include <variant>

#include "base/error.hpp"

namespace mcaprec::base {

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

}  // namespace mcaprec::base
