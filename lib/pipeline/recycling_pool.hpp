#pragma once
// Objects handed from stage to stage (sealed chunks, encoded chunks) are recycled with their
// buffers' capacity instead of being allocated per chunk.
#include <memory>
#include <mutex>
#include <vector>

namespace mcaprec::pipeline {

template <class T>
class RecyclingPool {
 public:
  // A recycled object (as its last user left it) or a new one (only when more are out than were
  // ever made: past fill()'s count). Owned by the caller until recycle().
  T* acquire() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        T* object = free_.back().release();
        free_.pop_back();
        return object;
      }
    }
    return new T();
  }

  // Makes `count` objects now (each prepared by `prepare(T&)`), and room to keep them, so that
  // acquiring up to `count` at once never allocates.
  template <class Prepare>
  void fill(size_t count, Prepare prepare) {
    std::lock_guard lock(mu_);
    free_.reserve(free_.size() + count);
    for (size_t i = 0; i < count; ++i) {
      auto object = std::make_unique<T>();
      prepare(*object);
      free_.push_back(std::move(object));
    }
  }

  void recycle(T* object) {
    std::lock_guard lock(mu_);
    free_.emplace_back(object);
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;  // guarded by mu_
};

}  // namespace mcaprec::pipeline
