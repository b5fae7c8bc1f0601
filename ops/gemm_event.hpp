// SPDX-License-Identifier: Apache-2.0
// Event-driven Gemm and MatMul for a left operand of {-1, 0, +1} (fed
// directly by a TernarySpike without amplitude, found at load time) and
// constant weights.
//
// Made once at load (EventGemm::make): B is repacked to [K][N padded to 16],
// a contiguous row of output features per input feature. Per plan a
// NodeState holds the spike lists of every row of A; per timestep each row
// of A is compacted into its +1 and -1 features, and each event adds or
// subtracts its weight row into accumulators held in vector registers
// (blocks of up to 128 outputs). Gemm applies alpha and beta * C once per
// output afterwards. The kernels live in the same per-ISA files as the Conv
// ones (conv_event_<isa>.cpp); a value that is not -1, 0 or +1 makes the
// timestep run the dense reference instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/conv_event.hpp"

namespace tspike::ops {

// What EventGemm::run does to each row of sums once it has them, while the
// row is in cache: y = alpha * y + beta * C (Gemm).
struct GemmEpilogue {
  float alpha = 1.0f, beta = 0.0f;
  const float* c =
      nullptr;  // C broadcast to [rows, n]: c[(c_rows > 1 ? i : 0) * c_cols + (c_cols > 1 ? j : 0)]
  int64_t c_rows = 1, c_cols = 1;
};

class EventGemm {
 public:
  // b: [k, n] (trans_b false) or [n, k] (trans_b true). Null when the sizes
  // do not suit the kernel.
  static std::unique_ptr<EventGemm> make(const float* b, int64_t k, int64_t n, bool trans_b, Isa isa);

  // Scratch for A with `rows` rows.
  std::unique_ptr<NodeState> prepare(int64_t rows) const;

  // y [rows, n] = a [rows, k] x B as raw sums, then `epilogue` (if any) on
  // each row. Returns false (y undefined) when a holds a value other than
  // -1, 0, +1: the caller then runs its reference kernel. Allocates nothing.
  bool run(const RunContext& ctx, NodeState& state, const float* a, float* y,
           const GemmEpilogue* epilogue = nullptr) const;

  // "event/avx512".
  std::string describe() const;
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }

 private:
  EventGemm() = default;
  const EventGemmKernels* kernels_ = nullptr;
  Isa isa_ = Isa::kPortable;
  int64_t k_ = 0, n_ = 0, np_ = 0;
  AlignedBuffer<float> weights_;  // [k][np]
};

}  // namespace tspike::ops
