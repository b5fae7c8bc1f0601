// Declares the factory of each op; ops/registry.cpp lists them.
#pragma once

#include <memory>

#include "ops/op.hpp"

#define TSPIKE_DEFINE_OP_FACTORY(Class) \
  std::unique_ptr<Op> create_##Class(const OpBuildContext& b) { return std::make_unique<Class>(b); }

namespace tspike::ops {
#define TSPIKE_OPS(X)                                                                              \
  X(TernarySpike) X(Conv) X(Gemm) X(MatMul) X(Add) X(Sub) X(Mul) X(Div) X(BatchNormalization)      \
  X(Relu) X(MaxPool) X(AveragePool) X(GlobalAveragePool) X(Flatten) X(Reshape) X(Identity)        \
  X(Concat) X(Shape) X(Gather) X(Unsqueeze) X(Squeeze) X(Cast) X(Constant)
#define TSPIKE_DECLARE_FACTORY(Class) std::unique_ptr<Op> create_##Class(const OpBuildContext& b);
TSPIKE_OPS(TSPIKE_DECLARE_FACTORY)
#undef TSPIKE_DECLARE_FACTORY
}  // namespace tspike::ops
