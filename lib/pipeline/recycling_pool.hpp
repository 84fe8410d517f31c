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
  // A recycled object (as its last user left it) or a new one. Owned by the caller until
  // recycle().
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

  void recycle(T* object) {
    std::lock_guard lock(mu_);
    free_.emplace_back(object);
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;  // guarded by mu_
};

}  // namespace mcaprec::pipeline
