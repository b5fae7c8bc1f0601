// SPDX-License-Identifier: Apache-2.0
// Pieces shared by the event-driven Conv and Gemm/MatMul (conv_event.*,
// gemm_event.*) outside the kernels: aligned storage, rounding.
//
// Event-driven means: a layer fed directly by a TernarySpike without
// amplitude (spec section 3) sees only {-1, 0, +1}; its input is compacted
// into lists of events (the +1 and the -1 inputs), and each event adds or
// subtracts one contiguous weight row, Cout wide. No multiplication.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace tspike::ops {

inline int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// A zero-filled 64-byte-aligned array of T (weights, spike maps).
template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t count) : size_(count) {
    const size_t bytes = static_cast<size_t>(round_up(count > 0 ? count : 1, 64 / sizeof(T))) * sizeof(T);
    data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw std::bad_alloc();
    for (int64_t k = 0; k < count; ++k) data_.get()[k] = T{};
  }
  T* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  T& operator[](int64_t k) const { return data_.get()[k]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  int64_t size_ = 0;
};

}  // namespace tspike::ops
