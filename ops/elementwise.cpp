// Add, Sub, Mul, Div with numpy broadcasting; float32 at run time, float32
// or int64 when folded at plan time (shape arithmetic).
#include <fmt/format.h>

#include <array>
#include <type_traits>

#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

enum class BinaryKind { kAdd, kSub, kMul, kDiv };

template <typename T>
T apply(BinaryKind kind, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Shape arithmetic from the file: wraps (two's complement) instead of
    // overflowing; x / 0 is 0. Nonsense results fail the shape checks later.
    using U = std::make_unsigned_t<T>;
    switch (kind) {
      case BinaryKind::kAdd: return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case BinaryKind::kSub: return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case BinaryKind::kMul: return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      case BinaryKind::kDiv:
        if (b == 0) return T{0};
        if (b == -1) return static_cast<T>(U{0} - static_cast<U>(a));
        return a / b;
    }
  }
  switch (kind) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T{0} : a / b;
      else return a / b;
  }
  return a;
}

// Broadcasting walks at most this many dims, in fixed arrays: run() must
// not allocate.
constexpr size_t kMaxRank = 8;
using Dims = std::array<int64_t, kMaxRank>;

// Strides of `in` seen through the broadcast output shape (0 where broadcast).
Dims broadcast_strides(const Shape& in, const Shape& out) {
  Dims strides{};
  int64_t stride = 1;
  for (size_t d = in.size(); d-- > 0;) {
    const size_t od = d + out.size() - in.size();
    strides[od] = in[d] == 1 ? 0 : stride;
    stride *= in[d];
  }
  return strides;
}

template <typename T>
void binary_kernel(BinaryKind kind, const TensorRef& a, const TensorRef& b, const TensorRef& y) {
  const Shape& out = y.shape;
  const auto sa = broadcast_strides(a.shape, out), sb = broadcast_strides(b.shape, out);
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  T* py = static_cast<T*>(y.data);
  const int64_t total = y.size();
  if (a.shape == b.shape) {
    for (int64_t k = 0; k < total; ++k) py[k] = apply(kind, pa[k], pb[k]);
    return;
  }
  Dims index{};
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

class Binary : public Op {
 public:
  explicit Binary(BinaryKind kind) : kind_(kind) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& a = require_input(*this, ctx, 0, "A");
    const ValueDesc& b = require_input(*this, ctx, 1, "B");
    if (a.dtype != b.dtype)
      throw error(ErrorCode::kInvalidModel, fmt::format("A is {} but B is {}", to_string(a.dtype), to_string(b.dtype)));
    ctx.outputs = {output_like(a, broadcast_shapes(*this, a.shape, b.shape))};
    if (ctx.outputs[0].shape.size() > kMaxRank && a.shape != b.shape)
      throw error(ErrorCode::kUnsupportedOp, fmt::format("broadcasting over more than {} dims", kMaxRank));
  }
  void run(RunContext& ctx) const override {
    if (ctx.outputs[0].dtype == DType::kFloat32)
      binary_kernel<float>(kind_, ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]);
    else
      binary_kernel<int64_t>(kind_, ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]);
  }

 private:
  BinaryKind kind_;
};

struct Add final : Binary { explicit Add(const OpBuildContext&) : Binary(BinaryKind::kAdd) {} };
struct Sub final : Binary { explicit Sub(const OpBuildContext&) : Binary(BinaryKind::kSub) {} };
struct Mul final : Binary { explicit Mul(const OpBuildContext&) : Binary(BinaryKind::kMul) {} };
struct Div final : Binary { explicit Div(const OpBuildContext&) : Binary(BinaryKind::kDiv) {} };

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Add)
TSPIKE_DEFINE_OP_FACTORY(Sub)
TSPIKE_DEFINE_OP_FACTORY(Mul)
TSPIKE_DEFINE_OP_FACTORY(Div)

}  // namespace tspike::ops
