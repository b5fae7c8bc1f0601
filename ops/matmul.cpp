// SPDX-License-Identifier: Apache-2.0
// MatMul with numpy semantics: 1-D operands promoted, batch dims broadcast.
// Kernels: event-driven (gemm_event.*) when A is pure spikes of rank >= 2, B
// a constant matrix and LoadOptions::engine is not dense; else the reference
// kernel here.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <array>

#include "ops/gemm_event.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

// Fixed-size so that run() does not allocate.
constexpr size_t kMaxBatchRank = 6;
struct MatMulGeometry {
  std::array<int64_t, kMaxBatchRank> batch{};  // broadcast batch dims
  size_t batch_rank = 0;
  int64_t m, k, n;
};

class MatMul final : public Op {
 public:
  explicit MatMul(const OpBuildContext& b) {
    const auto& w = b.initializers.size() > 1 ? b.initializers[1] : nullptr;
    if (b.input_is_spikes && !b.reference_kernels && b.engine != Engine::kDense && w &&
        w->dtype == DType::kFloat32 && w->shape.size() == 2)
      event_ = EventGemm::make(w->f.data(), w->shape[0], w->shape[1], /*trans_b=*/false, b.isa);
  }

  std::string kernel() const override { return event_ ? event_->describe() : "reference"; }

  // Each element of Y reads K elements of A, and broadcasting spreads that
  // evenly over A's elements.
  bool fan_out(const std::vector<const ValueDesc*>& inputs, FanOut& fan) const override {
    const Shape &a = inputs.at(0)->shape, &b = inputs.at(1)->shape;
    const int64_t a_size = element_count(a);
    fan.per_element = a_size > 0 ? element_count(output_shape(a, b)) * a.back() / a_size : 0;
    fan.axes.clear();
    return true;
  }

  // Checked in prepare(); run() relies on it.
  MatMulGeometry geometry(const Shape& a, const Shape& b) const {
    MatMulGeometry g;
    g.m = a.size() == 1 ? 1 : a[a.size() - 2];
    g.k = a.back();
    g.n = b.size() == 1 ? 1 : b.back();
    const size_t ra = a.size() > 2 ? a.size() - 2 : 0, rb = b.size() > 2 ? b.size() - 2 : 0;
    g.batch_rank = std::max(ra, rb);
    for (size_t d = 0; d < g.batch_rank; ++d) {
      const int64_t da = d + ra >= g.batch_rank ? a[d + ra - g.batch_rank] : 1;
      const int64_t db = d + rb >= g.batch_rank ? b[d + rb - g.batch_rank] : 1;
      g.batch[d] = da == 1 ? db : da;
    }
    return g;
  }

  Shape output_shape(const Shape& a, const Shape& b) const {
    if (a.empty() || b.empty())
      throw error(ErrorCode::kShapeMismatch, "MatMul operands must be at least 1-D");
    const int64_t kb = b.size() == 1 ? b[0] : b[b.size() - 2];
    if (a.back() != kb)
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("A {} and B {} do not fit", shape_to_string(a), shape_to_string(b)));
    Shape batch = broadcast_shapes(*this, a.size() > 2 ? Shape(a.begin(), a.end() - 2) : Shape{},
                                   b.size() > 2 ? Shape(b.begin(), b.end() - 2) : Shape{});
    if (batch.size() > kMaxBatchRank)
      throw error(ErrorCode::kUnsupportedOp, fmt::format("more than {} batch dims", kMaxBatchRank));
    Shape out = batch;
    if (a.size() > 1) out.push_back(a[a.size() - 2]);
    if (b.size() > 1) out.push_back(b.back());
    return out;
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& a = require_input(*this, ctx, 0, "A", 1);
    const ValueDesc& b = require_input(*this, ctx, 1, "B", 1);
    require_float(*this, a, "A");
    require_float(*this, b, "B");
    ctx.outputs = {output_like(a, output_shape(a.shape, b.shape))};
    if (event_ && a.shape.size() >= 2)
      ctx.node_state = event_->prepare(element_count(a.shape) / a.shape.back());
  }

  // Y = A x B: the event kernel, or the reference when it cannot run.
  void run(RunContext& ctx) const override {
    const TensorRef &a = ctx.inputs[0], &b = ctx.inputs[1];
    // Event kernel: A as [rows, K] against the constant [K, N].
    if (ctx.node_state && event_->run(ctx, *ctx.node_state, a.f(), ctx.outputs[0].f())) return;
    const MatMulGeometry g = geometry(a.shape, b.shape);
    int64_t batches = 1;
    for (size_t d = 0; d < g.batch_rank; ++d) batches *= g.batch[d];
    // Offset of each batch's matrix in A and B, broadcasting size-1 dims.
    auto batch_offset = [&](const Shape& full, int64_t index, int64_t matrix_size) {
      const size_t own = full.size() - 2;      // its own batch rank
      const size_t skip = g.batch_rank - own;  // leading broadcast dims it lacks
      int64_t offset = 0, stride = 1;
      for (size_t d = g.batch_rank; d-- > 0;) {
        const int64_t coord = index % g.batch[d];
        index /= g.batch[d];
        if (d < skip) continue;
        const int64_t dim = full[d - skip];
        if (dim != 1) offset += coord * stride;
        stride *= dim;
      }
      return offset * matrix_size;
    };
    float* y = ctx.outputs[0].f();
    for (int64_t bi = 0; bi < batches; ++bi) {
      const float* pa = a.f() + (a.shape.size() > 2 ? batch_offset(a.shape, bi, g.m * g.k) : 0);
      const float* pb = b.f() + (b.shape.size() > 2 ? batch_offset(b.shape, bi, g.k * g.n) : 0);
      float* py = y + bi * g.m * g.n;
      for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
          float acc = 0;
          for (int64_t p = 0; p < g.k; ++p) acc += pa[i * g.k + p] * pb[p * g.n + j];
          py[i * g.n + j] = acc;
        }
    }
  }

 private:
  std::unique_ptr<EventGemm> event_;  // made at creation for spike-fed layers
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(MatMul)

namespace {
// [N, F] x [F, out]: the features of A are the rows of B.
std::string matmul_weight_layout(const onnx::NodeProto& n, const Shape& w, int64_t data_rank,
                                 WeightLayout& layout) {
  if (w.size() != 2) return fmt::format("the right operand of MatMul {} is not 2-D", n.name());
  layout = {1, 0, 1, {}};
  if (data_rank != 2)
    layout.data_problem = fmt::format("MatMul {} is not a [N, F] x [F, out] product", n.name());
  return {};
}
const LayerTraits matmul_layer{&matmul_weight_layout, /*folds_batchnorm=*/false, nullptr,
                               PoolFold::kFeatures};
}  // namespace

const OpTraits traits_MatMul{
    .scale = ScaleFlow::kIntoWeights, .layer = &matmul_layer, .first_weight_input = 0};

}  // namespace tspike::ops
