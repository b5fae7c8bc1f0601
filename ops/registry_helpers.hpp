// SPDX-License-Identifier: Apache-2.0
// Declares the factory and the traits of each op; ops/registry.cpp lists them.
// An op's file defines both: TSPIKE_DEFINE_OP_FACTORY(Class), and
// `const OpTraits traits_Class{...}` (ops/traits.hpp).
#pragma once

#include <memory>

#include "ops/op.hpp"
#include "ops/traits.hpp"

#define TSPIKE_DEFINE_OP_FACTORY(Class) \
  std::unique_ptr<Op> create_##Class(const OpBuildContext& b) { return std::make_unique<Class>(b); }

namespace tspike::ops {
// The one list of ops: X(domain, Class), domain `onnx` (the default domain)
// or `tspike`.
// clang-format off: one op per line (clang-format does not keep a macro list stable)
#define TSPIKE_OPS(X)         \
  X(tspike, TernarySpike)     \
  X(onnx, Conv)               \
  X(onnx, Gemm)               \
  X(onnx, MatMul)             \
  X(onnx, Add)                \
  X(onnx, Sub)                \
  X(onnx, Mul)                \
  X(onnx, Div)                \
  X(onnx, BatchNormalization) \
  X(onnx, Relu)               \
  X(onnx, MaxPool)            \
  X(onnx, AveragePool)        \
  X(onnx, GlobalAveragePool)  \
  X(onnx, Flatten)            \
  X(onnx, Reshape)            \
  X(onnx, Identity)           \
  X(onnx, Concat)             \
  X(onnx, Shape)              \
  X(onnx, Gather)             \
  X(onnx, Unsqueeze)          \
  X(onnx, Squeeze)            \
  X(onnx, Cast)               \
  X(onnx, Constant)           \
  X(onnx, Pad)
// clang-format on
#define TSPIKE_DECLARE_OP(domain, Class)                       \
  std::unique_ptr<Op> create_##Class(const OpBuildContext& b); \
  extern const OpTraits traits_##Class;
TSPIKE_OPS(TSPIKE_DECLARE_OP)
#undef TSPIKE_DECLARE_OP
}  // namespace tspike::ops
