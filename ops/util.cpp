// SPDX-License-Identifier: Apache-2.0
#include "ops/util.hpp"

#include <fmt/format.h>

#include "base/thread_pool.hpp"

namespace tspike::ops {

void parallel_for(const RunContext& ctx, int64_t n, void (*fn)(void*, int64_t, int64_t), void* arg) {
  if (ctx.pool)
    ctx.pool->parallel_for(n, [&](int64_t b, int64_t e) { fn(arg, b, e); });
  else if (n > 0)
    fn(arg, 0, n);
}

int64_t normalize_axis(const Op& op, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    throw op.error(ErrorCode::kInvalidModel,
                   fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Op& op, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw op.error(ErrorCode::kShapeMismatch, fmt::format("shapes {} and {} cannot be broadcast together",
                                                            shape_to_string(a), shape_to_string(b)));
    out[k] = da == 1 ? db : da;
  }
  return out;
}

const ValueDesc& require_input(const Op& op, const PrepareContext& ctx, size_t k, const char* what,
                               size_t min_rank, size_t max_rank) {
  if (k >= ctx.inputs.size() || ctx.inputs[k] == nullptr)
    throw op.error(ErrorCode::kInvalidModel, fmt::format("input {} ({}) is missing", k, what));
  const ValueDesc& v = *ctx.inputs[k];
  if (v.shape.size() < min_rank || v.shape.size() > max_rank) {
    std::string range = min_rank == max_rank ? std::to_string(min_rank)
                        : max_rank >= 64     ? fmt::format(">= {}", min_rank)
                                             : fmt::format("{} to {}", min_rank, max_rank);
    throw op.error(ErrorCode::kShapeMismatch, fmt::format("input {} ({}) has shape {}, rank {} is required",
                                                          k, what, shape_to_string(v.shape), range));
  }
  return v;
}

const ConstTensor& require_constant(const Op& op, const PrepareContext& ctx, size_t k, const char* what) {
  const ValueDesc& v = require_input(op, ctx, k, what);
  if (!v.constant)
    throw op.error(ErrorCode::kUnsupportedOp,
                   fmt::format("input {} ({}) must be known at load time (an initializer or a "
                               "shape computation); tspike does not compute it per input",
                               k, what));
  return *v.constant;
}

ValueDesc output_like(const ValueDesc& in, Shape shape) {
  ValueDesc d;
  d.dtype = in.dtype;
  d.shape = std::move(shape);
  return d;
}

void require_float(const Op& op, const ValueDesc& v, const char* what) {
  if (v.dtype != DType::kFloat32)
    throw op.error(ErrorCode::kUnsupportedOp, fmt::format("{} must be float32", what));
}

}  // namespace tspike::ops
