// SPDX-License-Identifier: Apache-2.0
// BatchNormalization (inference): y = (x - mean) / sqrt(var + eps) * scale + B
// along axis 1. Normally folded into the Conv/Gemm before it; runs here when
// it cannot be.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class BatchNormalization final : public Op {
 public:
  explicit BatchNormalization(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    epsilon_ = attrs.get_float("epsilon", 1e-5f);
    if (attrs.get_int("training_mode", 0) != 0 || b.node.output_size() > 1)
      throw attrs.error(ErrorCode::kUnsupportedOp, "training mode is not supported (inference only)");
    if (attrs.get_int("spatial", 1) != 1)
      throw attrs.error(ErrorCode::kUnsupportedOp, "spatial=0 is not supported");
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 2);
    require_float(*this, x, "X");
    const char* names[] = {"scale", "B", "mean", "var"};
    for (size_t k = 1; k <= 4; ++k) {
      const ValueDesc& p = require_input(*this, ctx, k, names[k - 1]);
      if (p.shape != Shape{x.shape[1]})
        throw error(ErrorCode::kShapeMismatch, fmt::format("{} has shape {}, expected [{}]", names[k - 1],
                                                           shape_to_string(p.shape), x.shape[1]));
    }
    ctx.outputs = {output_like(x, x.shape)};
  }

  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    const float *scale = ctx.inputs[1].f(), *bias = ctx.inputs[2].f();
    const float *mean = ctx.inputs[3].f(), *var = ctx.inputs[4].f();
    const int64_t n = x.shape[0], c = x.shape[1];
    const int64_t inner = n * c == 0 ? 0 : x.size() / (n * c);
    for (int64_t s = 0; s < n; ++s)
      for (int64_t ch = 0; ch < c; ++ch) {
        const float k = scale[ch] / std::sqrt(var[ch] + epsilon_);
        const float* in = x.f() + (s * c + ch) * inner;
        float* out = ctx.outputs[0].f() + (s * c + ch) * inner;
        for (int64_t e = 0; e < inner; ++e) out[e] = (in[e] - mean[ch]) * k + bias[ch];
      }
  }

 private:
  float epsilon_;
};

class Relu final : public Op {
 public:
  explicit Relu(const OpBuildContext&) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X");
    require_float(*this, x, "X");
    ctx.outputs = {output_like(x, x.shape)};
  }
  void run(RunContext& ctx) const override {
    const float* in = ctx.inputs[0].f();
    float* out = ctx.outputs[0].f();
    for (int64_t k = 0, n = ctx.inputs[0].size(); k < n; ++k) out[k] = in[k] > 0 ? in[k] : 0.0f;
  }
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(BatchNormalization)
TSPIKE_DEFINE_OP_FACTORY(Relu)

namespace {
// (x - mean) * gamma / sqrt(var + eps) + beta, in double for the folding.
bool batchnorm_affine(const onnx::NodeProto& node, const std::vector<const ConstTensor*>& inputs,
                      int64_t channels, PerChannelAffine& affine) {
  const Attributes attrs(node, node.name());
  if (inputs.size() != 5 || attrs.get_int("training_mode", 0) != 0) return false;
  for (int k = 1; k < node.output_size(); ++k)
    if (!node.output(k).empty()) return false;  // training outputs in use
  for (size_t k = 1; k <= 4; ++k)
    if (!inputs[k] || inputs[k]->dtype != DType::kFloat32 || inputs[k]->size() != channels) return false;
  const double eps = attrs.get_float("epsilon", 1e-5f);
  const auto &gamma = inputs[1]->f, &beta = inputs[2]->f, &mean = inputs[3]->f, &var = inputs[4]->f;
  affine = {};
  for (int64_t m = 0; m < channels; ++m) {
    affine.center.push_back(mean[m]);
    affine.factor.push_back(gamma[m] / std::sqrt(double(var[m]) + eps));
    affine.shift.push_back(beta[m]);
  }
  return true;
}
}  // namespace

const OpTraits traits_BatchNormalization{.first_weight_input = 0, .per_channel_affine = &batchnorm_affine};
// max(s, 0) of spikes is a spike; it commutes with a scale >= 0 only.
const OpTraits traits_Relu{.spikes = SpikeFlow::kKeeps, .scale = ScaleFlow::kThroughNonNegative};

}  // namespace tspike::ops
