// SPDX-License-Identifier: Apache-2.0
// Small shape helpers shared by the ops.
#pragma once

#include <cstdint>
#include <string>

#include "ops/op.hpp"

namespace tspike::ops {

// Maps a possibly negative axis into [0, rank); throws via op.error.
int64_t normalize_axis(const Op& op, int64_t axis, int64_t rank, const char* what = "axis");

// Numpy-style multidirectional broadcast of two shapes; throws via op.error.
Shape broadcast_shapes(const Op& op, const Shape& a, const Shape& b);

// Requires input k to be present and known at plan time (an initializer or
// a folded shape computation).
const ConstTensor& require_constant(const Op& op, const PrepareContext& ctx, size_t k, const char* what);

// Requires input k to be present and of a rank in [lo, hi].
const ValueDesc& require_input(const Op& op, const PrepareContext& ctx, size_t k, const char* what,
                               size_t min_rank = 0, size_t max_rank = 64);

// Output desc with a shape and the dtype of input 0.
ValueDesc output_like(const ValueDesc& in, Shape shape);

// Requires the given float32 dtype (dynamic values always are).
void require_float(const Op& op, const ValueDesc& v, const char* what);

}  // namespace tspike::ops
