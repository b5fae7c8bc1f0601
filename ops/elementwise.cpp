// SPDX-License-Identifier: Apache-2.0
// Add, Sub, Mul, Div with numpy broadcasting; float32 at run time, float32
// or int64 when folded at plan time (shape arithmetic). Kernels: see
// ops/elementwise.hpp.
#include "ops/elementwise.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "base/thread_pool.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

template <typename T>
T apply(BinaryKind kind, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Shape arithmetic from the file: wraps (two's complement) instead of
    // overflowing; x / 0 is 0. Nonsense results fail the shape checks later.
    using U = std::make_unsigned_t<T>;
    switch (kind) {
      case BinaryKind::kAdd:
        return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case BinaryKind::kSub:
        return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case BinaryKind::kMul:
        return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      case BinaryKind::kDiv:
        if (b == 0) return T{0};
        if (b == -1) return static_cast<T>(U{0} - static_cast<U>(a));
        return a / b;
    }
  }
  switch (kind) {
    case BinaryKind::kAdd:
      return a + b;
    case BinaryKind::kSub:
      return a - b;
    case BinaryKind::kMul:
      return a * b;
    case BinaryKind::kDiv:
      if constexpr (std::is_integral_v<T>)
        return b == 0 ? T{0} : a / b;
      else
        return a / b;
  }
  return a;
}

// Strides of `in` seen through the broadcast output shape (0 where broadcast).
BroadcastDims broadcast_strides(const Shape& in, const Shape& out) {
  BroadcastDims strides{};
  int64_t stride = 1;
  for (size_t d = in.size(); d-- > 0;) {
    const size_t od = d + out.size() - in.size();
    strides[od] = in[d] == 1 ? 0 : stride;
    stride *= in[d];
  }
  return strides;
}

template <typename T>
void reference_kernel(BinaryKind kind, const TensorRef& a, const TensorRef& b, const TensorRef& y) {
  const Shape& out = y.shape;
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  T* py = static_cast<T*>(y.data);
  const int64_t total = y.size();
  if (a.shape == b.shape) {
    for (int64_t k = 0; k < total; ++k) py[k] = apply(kind, pa[k], pb[k]);
    return;
  }
  const auto sa = broadcast_strides(a.shape, out), sb = broadcast_strides(b.shape, out);
  BroadcastDims index{};
  int64_t ia = 0, ib = 0;
  for (int64_t k = 0; k < total; ++k) {
    py[k] = apply(kind, pa[ia], pb[ib]);
    for (size_t d = out.size(); d-- > 0;) {  // odometer increment
      index[d]++;
      ia += sa[d];
      ib += sb[d];
      if (index[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      index[d] = 0;
    }
  }
}

// The fast path: one run, the op and the operands' layout fixed at compile
// time so that the loop vectorizes.
template <BinaryKind K>
inline float op(float a, float b) {
  if constexpr (K == BinaryKind::kAdd)
    return a + b;
  else if constexpr (K == BinaryKind::kSub)
    return a - b;
  else if constexpr (K == BinaryKind::kMul)
    return a * b;
  else
    return a / b;
}

template <BinaryKind K, bool AScalar, bool BScalar>
void run_one(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n) {
  if constexpr (AScalar) {
    const float s = *a;
    for (int64_t k = 0; k < n; ++k) y[k] = op<K>(s, b[k]);
  } else if constexpr (BScalar) {
    const float s = *b;
    for (int64_t k = 0; k < n; ++k) y[k] = op<K>(a[k], s);
  } else {
    for (int64_t k = 0; k < n; ++k) y[k] = op<K>(a[k], b[k]);
  }
}

template <BinaryKind K, bool AScalar, bool BScalar>
void walk_runs(const BroadcastRuns& p, const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  const int64_t inner = p.inner;
  int64_t run = begin / inner, i = begin % inner;
  // Where run `run` starts in A and B.
  BroadcastDims index{};
  int64_t oa = 0, ob = 0;
  for (int d = p.outer_rank; d-- > 0;) {
    index[d] = run % p.outer[d];
    run /= p.outer[d];
    oa += index[d] * p.a_stride[d];
    ob += index[d] * p.b_stride[d];
  }
  for (int64_t k = begin; k < end;) {
    const int64_t n = std::min(inner - i, end - k);
    run_one<K, AScalar, BScalar>(a + oa + (AScalar ? 0 : i), b + ob + (BScalar ? 0 : i), y + k, n);
    k += n;
    i = 0;
    for (int d = p.outer_rank; d-- > 0;) {  // next run
      index[d]++;
      oa += p.a_stride[d];
      ob += p.b_stride[d];
      if (index[d] < p.outer[d]) break;
      oa -= p.a_stride[d] * p.outer[d];
      ob -= p.b_stride[d] * p.outer[d];
      index[d] = 0;
    }
  }
}

template <BinaryKind K>
void walk_runs(const BroadcastRuns& p, const float* a, const float* b, float* y, int64_t begin, int64_t end) {
  if (p.a_scalar)
    walk_runs<K, true, false>(p, a, b, y, begin, end);
  else if (p.b_scalar)
    walk_runs<K, false, true>(p, a, b, y, begin, end);
  else
    walk_runs<K, false, false>(p, a, b, y, begin, end);
}

// The plan's choice of kernel for one node (none: the reference kernel).
struct BinaryState final : NodeState {
  explicit BinaryState(const BroadcastRuns& p) : plan(p) {}
  BroadcastRuns plan;
};

class Binary : public Op {
 public:
  Binary(BinaryKind kind, const OpBuildContext& b) : kind_(kind), reference_kernels_(b.reference_kernels) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& a = require_input(*this, ctx, 0, "A");
    const ValueDesc& b = require_input(*this, ctx, 1, "B");
    if (a.dtype != b.dtype)
      throw error(ErrorCode::kInvalidModel,
                  fmt::format("A is {} but B is {}", to_string(a.dtype), to_string(b.dtype)));
    ctx.outputs = {output_like(a, broadcast_shapes(*this, a.shape, b.shape))};
    if (ctx.outputs[0].shape.size() > kMaxBroadcastRank && a.shape != b.shape)
      throw error(ErrorCode::kUnsupportedOp,
                  fmt::format("broadcasting over more than {} dims", kMaxBroadcastRank));
    if (a.dtype == DType::kFloat32 && !reference_kernels_)
      if (auto plan = elementwise_plan(a.shape, b.shape, ctx.outputs[0].shape))
        ctx.node_state = std::make_unique<BinaryState>(*plan);
  }
  void run(RunContext& ctx) const override {
    if (ctx.node_state && ctx.outputs[0].dtype == DType::kFloat32)
      binary_parallel(ctx, kind_, static_cast<const BinaryState&>(*ctx.node_state).plan, ctx.inputs[0].f(),
                      ctx.inputs[1].f(), ctx.outputs[0].f());
    else
      binary_reference(kind_, ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]);
  }

 private:
  BinaryKind kind_;
  bool reference_kernels_;
};

struct Add final : Binary {
  explicit Add(const OpBuildContext& b) : Binary(BinaryKind::kAdd, b) {}
};
struct Sub final : Binary {
  explicit Sub(const OpBuildContext& b) : Binary(BinaryKind::kSub, b) {}
};
struct Mul final : Binary {
  explicit Mul(const OpBuildContext& b) : Binary(BinaryKind::kMul, b) {}
};
struct Div final : Binary {
  explicit Div(const OpBuildContext& b) : Binary(BinaryKind::kDiv, b) {}
};

}  // namespace

int64_t BroadcastRuns::runs() const {
  int64_t n = 1;
  for (int d = 0; d < outer_rank; ++d) n *= outer[d];
  return n;
}

std::optional<BroadcastRuns> elementwise_plan(const Shape& a, const Shape& b, const Shape& out) {
  // Dims of y other than 1, innermost first, each with A's and B's stride
  // (0: broadcast); adjacent dims that broadcast alike merge into one.
  struct Dim {
    int64_t size, sa, sb;
  };
  std::vector<Dim> dims;
  int64_t stride_a = 1, stride_b = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t d = out.size() - 1 - k;
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (out[d] == 1) continue;
    const Dim dim{out[d], da == 1 ? 0 : stride_a, db == 1 ? 0 : stride_b};
    stride_a *= da;
    stride_b *= db;
    if (!dims.empty() && (dims.back().sa == 0) == (dim.sa == 0) && (dims.back().sb == 0) == (dim.sb == 0))
      dims.back().size *= dim.size;  // contiguous strides continue, broadcast ones stay 0
    else
      dims.push_back(dim);
  }
  BroadcastRuns p;
  if (dims.empty()) return p;  // one element
  if (dims.size() - 1 > kMaxBroadcastRank) return std::nullopt;
  p.inner = dims[0].size;
  p.a_scalar = dims[0].sa == 0;
  p.b_scalar = dims[0].sb == 0;
  p.outer_rank = static_cast<int>(dims.size() - 1);
  for (int d = 0; d < p.outer_rank; ++d) {
    const Dim& dim = dims[dims.size() - 1 - d];
    p.outer[d] = dim.size;
    p.a_stride[d] = dim.sa;
    p.b_stride[d] = dim.sb;
  }
  return p;
}

void binary_reference(BinaryKind kind, const TensorRef& a, const TensorRef& b, const TensorRef& y) {
  if (y.dtype == DType::kFloat32)
    reference_kernel<float>(kind, a, b, y);
  else
    reference_kernel<int64_t>(kind, a, b, y);
}

void binary_runs(BinaryKind kind, const BroadcastRuns& plan, const float* a, const float* b, float* y,
                 int64_t begin, int64_t end) {
  if (begin >= end) return;
  switch (kind) {
    case BinaryKind::kAdd:
      return walk_runs<BinaryKind::kAdd>(plan, a, b, y, begin, end);
    case BinaryKind::kSub:
      return walk_runs<BinaryKind::kSub>(plan, a, b, y, begin, end);
    case BinaryKind::kMul:
      return walk_runs<BinaryKind::kMul>(plan, a, b, y, begin, end);
    case BinaryKind::kDiv:
      return walk_runs<BinaryKind::kDiv>(plan, a, b, y, begin, end);
  }
}

void binary_parallel(const RunContext& ctx, BinaryKind kind, const BroadcastRuns& plan, const float* a,
                     const float* b, float* y, int64_t parallel_min) {
  const int64_t total = plan.runs() * plan.inner;
  if (parallel_min < 0 && ctx.pool)
    parallel_min = ctx.pool->polling() ? kElementwiseParallelMin : kElementwiseParallelMinSleeping;
  if (!ctx.pool || total < parallel_min) return binary_runs(kind, plan, a, b, y, 0, total);
  // Chunks of whole cache lines of y (64-byte aligned in the arena).
  constexpr int64_t kBlock = 16;
  parallel_for(ctx, (total + kBlock - 1) / kBlock, [&](int64_t begin, int64_t end) {
    binary_runs(kind, plan, a, b, y, begin * kBlock, std::min(end * kBlock, total));
  });
}

TSPIKE_DEFINE_OP_FACTORY(Add)
TSPIKE_DEFINE_OP_FACTORY(Sub)
TSPIKE_DEFINE_OP_FACTORY(Mul)
TSPIKE_DEFINE_OP_FACTORY(Div)

// A sum has no weight to absorb an amplitude: it stays on the edge as a
// per-channel constant, added once per event. A product or quotient by a
// constant composes with it.
const OpTraits traits_Add{.scale = ScaleFlow::kOnEdge};
const OpTraits traits_Sub{.scale = ScaleFlow::kOnEdge};
const OpTraits traits_Mul{.scale = ScaleFlow::kMulByConstant};
const OpTraits traits_Div{.scale = ScaleFlow::kDivByConstant};

}  // namespace tspike::ops
