// SPDX-License-Identifier: Apache-2.0
// Add, Sub, Mul, Div kernels (ops/elementwise.cpp), exposed for the tests
// and benchmarks.
//
// binary_reference walks the broadcast element by element (int64 shape
// arithmetic at plan time, and the yardstick). The float32 fast path first
// collapses the broadcast into runs (elementwise_plan, once per prepare):
// y is `runs` consecutive runs of `inner` elements, and over one run each
// operand is either contiguous or a single value, so the inner loop is a
// plain vectorizable loop. Which run starts where in A and B follows from
// the outer dims and their strides. Both kernels perform the same single
// IEEE operation per element, so their results are bit-identical.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ops/op.hpp"

namespace tspike::ops {

enum class BinaryKind { kAdd, kSub, kMul, kDiv };

// Broadcasting walks at most this many dims, in fixed arrays: run() must
// not allocate.
constexpr size_t kMaxBroadcastRank = 8;
using BroadcastDims = std::array<int64_t, kMaxBroadcastRank>;

struct BroadcastRuns {
  int64_t inner = 1;      // elements per run
  bool a_scalar = false;  // A is one value over a run (else contiguous)
  bool b_scalar = false;
  int outer_rank = 0;                    // dims that enumerate the runs, row-major
  BroadcastDims outer{};                 // their sizes
  BroadcastDims a_stride{}, b_stride{};  // elements of A / B per step of each (0: broadcast)
  int64_t runs() const;
};

// The runs of y = A op B, y of shape `out` (the broadcast of a and b): size-1
// dims dropped, adjacent dims that broadcast the same way merged. Empty when
// the shapes have more than kMaxBroadcastRank dims.
std::optional<BroadcastRuns> elementwise_plan(const Shape& a, const Shape& b, const Shape& out);

// The reference kernel: float32 or int64 (integer ops wrap; x / 0 is 0).
void binary_reference(BinaryKind kind, const TensorRef& a, const TensorRef& b, const TensorRef& y);

// The fast float32 kernel over runs: y's elements [begin, end).
void binary_runs(BinaryKind kind, const BroadcastRuns& plan, const float* a, const float* b, float* y,
                 int64_t begin, int64_t end);

// Below this many output elements binary_parallel runs on the calling thread.
// bench/bench_elementwise, 2 threads against 1, quiet machine, workers
// polling (runtime/thread_pool): 0.74x at 16K elements, 1.13-1.24x at 32K,
// 1.5-1.6x at 64K, 1.7-1.9x at 128K (ResNet-19's three stages at batch 1).
// When the workers sleep (the pool's sleeping phase on a busy machine, or
// SessionOptions::allow_spinning off) a hand-off costs tens of
// microseconds, and a split measured slower up to a few 100K elements.
constexpr int64_t kElementwiseParallelMin = int64_t{1} << 15;
constexpr int64_t kElementwiseParallelMinSleeping = int64_t{1} << 18;

// binary_runs over all of y, split over the context's threads when y has at
// least `parallel_min` elements (< 0: kElementwiseParallelMin while the
// pool's workers poll, else kElementwiseParallelMinSleeping). Chunks are
// element ranges: every element is computed the same way whatever the split.
void binary_parallel(const RunContext& ctx, BinaryKind kind, const BroadcastRuns& plan, const float* a,
                     const float* b, float* y, int64_t parallel_min = -1);

}  // namespace tspike::ops
