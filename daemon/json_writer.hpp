#pragma once
// A small streaming JSON writer for /status: objects, arrays, strings, numbers and booleans,
// with commas placed by the writer. Strings are escaped; bytes that are not valid UTF-8 become
// U+FFFD so that the output always parses.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mcaprec::daemon {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // Inside an object: the key of the next value.
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int64_t number);
  JsonWriter& value(double number);  // non-finite numbers are written as null
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& text() const { return out_; }

 private:
  void before_value();
  void write_string(std::string_view text);

  std::string out_;
  std::vector<bool> first_in_level_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace mcaprec::daemon
