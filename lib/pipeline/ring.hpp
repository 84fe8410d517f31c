#pragma once
// A FIFO in a ring of slots that grows (doubling) but never shrinks, so that a queue that has
// reached its working size pushes and pops without allocating (std::deque allocates and frees
// a block every few dozen elements).
#include <algorithm>
#include <cstddef>
#include <vector>

namespace mcaprec::pipeline {

template <class T>
class Ring {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& front() { return slots_[head_]; }
  T& back() { return slots_[(head_ + size_ - 1) % slots_.size()]; }
  const T& at(size_t i) const { return slots_[(head_ + i) % slots_.size()]; }
  void pop_front() { head_ = (head_ + 1) % slots_.size(), --size_; }
  void pop_back() { --size_; }
  void push_back(const T& value) {
    if (size_ == slots_.size()) grow(std::max<size_t>(4, slots_.size() * 2));
    slots_[(head_ + size_) % slots_.size()] = value;
    ++size_;
  }
  // Room for `count` elements, so that a ring whose working size is known never grows.
  void reserve(size_t count) {
    if (count > slots_.size()) grow(count);
  }

 private:
  void grow(size_t slots) {
    std::vector<T> grown(slots);
    for (size_t i = 0; i < size_; ++i) grown[i] = slots_[(head_ + i) % slots_.size()];
    slots_ = std::move(grown);
    head_ = 0;
  }

  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace mcaprec::pipeline
