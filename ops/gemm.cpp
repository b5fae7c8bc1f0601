// SPDX-License-Identifier: Apache-2.0
// Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N].
// Kernels: event-driven (gemm_event.*) when A is pure spikes (transA = 0),
// B and C are constant and LoadOptions::engine is not dense; else the
// reference kernel here.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ops/attributes.hpp"
#include "ops/gemm_event.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class Gemm final : public Op {
 public:
  explicit Gemm(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    alpha_ = attrs.get_float("alpha", 1.0f);
    beta_ = attrs.get_float("beta", 1.0f);
    trans_a_ = attrs.get_int("transA", 0) != 0;
    trans_b_ = attrs.get_int("transB", 0) != 0;
    const auto& bw = b.initializers.size() > 1 ? b.initializers[1] : nullptr;
    const bool has_c = b.node.input_size() > 2 && !b.node.input(2).empty();
    const bool c_constant = !has_c || (b.initializers.size() > 2 && b.initializers[2]);
    if (b.input_is_spikes && !trans_a_ && !b.reference_kernels && b.engine != Engine::kDense && bw &&
        bw->dtype == DType::kFloat32 && bw->shape.size() == 2 && c_constant)
      event_ = EventGemm::make(bw->f.data(), bw->shape[trans_b_ ? 1 : 0], bw->shape[trans_b_ ? 0 : 1],
                               trans_b_, b.isa);
  }

  std::string kernel() const override { return event_ ? event_->describe() : "reference"; }

  // Each element of A reaches one row (or column, transA) of Y: N outputs.
  bool fan_out(const std::vector<const ValueDesc*>& inputs, FanOut& fan) const override {
    const Shape& b = inputs.at(1)->shape;
    fan.per_element = b.size() == 2 ? b[trans_b_ ? 0 : 1] : 0;
    fan.axes.clear();
    return true;
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& a = require_input(*this, ctx, 0, "A", 2, 2);
    const ValueDesc& b = require_input(*this, ctx, 1, "B", 2, 2);
    require_float(*this, a, "A");
    require_float(*this, b, "B");
    const int64_t m = trans_a_ ? a.shape[1] : a.shape[0], k = trans_a_ ? a.shape[0] : a.shape[1];
    const int64_t kb = trans_b_ ? b.shape[1] : b.shape[0], n = trans_b_ ? b.shape[0] : b.shape[1];
    if (k != kb)
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("A {} and B {} do not fit (transA={}, transB={})", shape_to_string(a.shape),
                              shape_to_string(b.shape), trans_a_, trans_b_));
    if (ctx.inputs.size() > 2 && ctx.inputs[2]) {
      const Shape& c = ctx.inputs[2]->shape;
      require_float(*this, *ctx.inputs[2], "C");
      // C must broadcast unidirectionally to [M, N].
      bool ok = c.size() <= 2;
      for (size_t d = 0; ok && d < c.size(); ++d) {
        const int64_t target = (c.size() == 2 && d == 0) ? m : n;
        ok = c[d] == 1 || c[d] == target;
      }
      if (!ok)
        throw error(ErrorCode::kShapeMismatch,
                    fmt::format("C {} does not broadcast to [{},{}]", shape_to_string(c), m, n));
    }
    ctx.outputs = {output_like(a, {m, n})};
    if (event_) ctx.node_state = event_->prepare(m);
  }

  void run(RunContext& ctx) const override {
    const TensorRef &a = ctx.inputs[0], &b = ctx.inputs[1];
    const int64_t m = ctx.outputs[0].shape[0], n = ctx.outputs[0].shape[1];
    const int64_t k = trans_a_ ? a.shape[0] : a.shape[1];
    const TensorRef* c = ctx.inputs.size() > 2 && ctx.inputs[2].data ? &ctx.inputs[2] : nullptr;
    float* y = ctx.outputs[0].f();
    // Event kernel: raw sums, then per row alpha and beta * C.
    if (event_) {
      GemmEpilogue e{alpha_, beta_};
      if (c) {
        const Shape& cs = c->shape;
        e.c = c->f();
        e.c_rows = cs.size() == 2 ? cs[0] : 1;
        e.c_cols = cs.empty() ? 1 : cs.back();
      }
      if (event_->run(ctx, *ctx.node_state, a.f(), y, &e)) return;
    }
    // Output elements are independent: split them over threads.
    parallel_for(ctx, m * n, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        const int64_t i = e / n, j = e % n;
        float acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const float av = trans_a_ ? a.f()[p * m + i] : a.f()[i * k + p];
          const float bv = trans_b_ ? b.f()[j * k + p] : b.f()[p * n + j];
          acc += av * bv;
        }
        float bias = 0;
        if (c) {
          const Shape& cs = c->shape;
          const int64_t ci = (cs.size() == 2 && cs[0] != 1) ? i : 0;
          const int64_t cj = (!cs.empty() && cs.back() != 1) ? j : 0;
          const int64_t cols = cs.empty() ? 1 : cs.back();
          bias = c->f()[ci * cols + cj];
        }
        y[i * n + j] = alpha_ * acc + beta_ * bias;
      }
    });
  }

 private:
  float alpha_ = 1, beta_ = 1;
  bool trans_a_ = false, trans_b_ = false;
  std::unique_ptr<EventGemm> event_;  // made at creation for spike-fed layers
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Gemm)

namespace {
// B is [F, out], or [out, F] with transB; A must be [N, F] (transA = 0) for
// its features to be B's.
std::string gemm_weight_layout(const onnx::NodeProto& n, const Shape& w, int64_t /*data_rank*/,
                               WeightLayout& layout) {
  if (w.size() != 2) return fmt::format("operand B of Gemm {} is not 2-D", n.name());
  const Attributes attrs(n, n.name());
  const bool trans_b = attrs.get_int("transB", 0) != 0;
  layout = {trans_b ? 0 : 1, trans_b ? 1 : 0, 1, {}};
  if (attrs.get_int("transA", 0)) layout.data_problem = fmt::format("Gemm {} has transA = 1", n.name());
  return {};
}
const LayerTraits gemm_layer{&gemm_weight_layout, /*folds_batchnorm=*/true, /*bias_scale_attribute=*/"beta",
                             PoolFold::kFeatures};
}  // namespace

const OpTraits traits_Gemm{.scale = ScaleFlow::kIntoWeights, .layer = &gemm_layer, .first_weight_input = 0};

}  // namespace tspike::ops
