// tspike::TernarySpike: the neuron (spec section 1).
//
// Reference kernel: one pass over the elements, in the spec's order:
// u = tau*u + x; fire (ternary >=, binary >); hard reset; y = a*s
// (neuron_planes, also the fallback of the layers that fuse the neuron into
// their kernels: ops/neuron.hpp).
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cmath>

#include "ops/attributes.hpp"
#include "ops/neuron.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class TernarySpike final : public Op {
 public:
  explicit TernarySpike(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    p_.node = b.name;
    const float threshold = p_.threshold = attrs.get_float("threshold", 0.5f);
    const float decay = p_.decay = attrs.get_float("decay", 0.25f);
    std::string mode = attrs.get_string("mode", "ternary");
    if (!(std::isfinite(threshold) && threshold > 0))
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("threshold {} must be finite and > 0", threshold));
    if (!(decay >= 0 && decay <= 1))
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("decay {} must be in [0, 1]", decay));
    if (mode != "ternary" && mode != "binary")
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("mode \"{}\" must be ternary or binary", mode));
    p_.binary = mode == "binary";
    if (b.node.input_size() > 1 && !b.node.input(1).empty()) {
      if (!b.initializers.at(1))
        throw attrs.error(ErrorCode::kInvalidModel, "amplitude must be an initializer");
      const ConstTensor& a = *b.initializers[1];
      if (a.dtype != DType::kFloat32) throw attrs.error(ErrorCode::kInvalidModel, "amplitude must be float32");
      int64_t non_unit = 0;
      for (int64_t d : a.shape) non_unit += d != 1;
      if (non_unit > 1)
        throw attrs.error(ErrorCode::kShapeMismatch,
                          fmt::format("amplitude of shape {}: it must have 1 or C elements, other dimensions 1",
                                      shape_to_string(a.shape)));
      for (float v : a.f)
        if (!std::isfinite(v)) throw attrs.error(ErrorCode::kInvalidModel, "amplitude is not finite");
      p_.amplitude = a.f;
    }
  }

  bool stateful() const override { return true; }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 2);
    require_float(*this, x, "X");
    if (p_.amplitude.size() > 1 && static_cast<int64_t>(p_.amplitude.size()) != x.shape[1])
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("amplitude has {} elements but X {} has {} channels", p_.amplitude.size(),
                              shape_to_string(x.shape), x.shape[1]));
    ctx.outputs = {output_like(x, x.shape)};
    ctx.state_floats = element_count(x.shape);
  }

  const NeuronParams* neuron() const override { return &p_; }

  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    const int64_t n = x.shape[0], c = x.shape[1];
    const int64_t inner = c == 0 ? 0 : x.size() / (n * c);
    const int64_t fired = neuron_run(ctx, p_, x.f(), ctx.state, ctx.outputs[0].f(), n, c, inner);
    if (ctx.nonzero_count) *ctx.nonzero_count += fired;
  }

 private:
  NeuronParams p_;
};

}  // namespace

int64_t neuron_planes(const NeuronParams& p, const float* x, float* u, float* y, int64_t c, int64_t inner,
                      int64_t plane0, int64_t plane1) {
  const float threshold = p.threshold, decay = p.decay;
  int64_t count = 0;
  for (int64_t plane = plane0; plane < plane1; ++plane) {
    const int64_t ch = plane % c;
    const float a = p.amplitude.empty() ? 1.0f : p.amplitude.size() == 1 ? p.amplitude[0] : p.amplitude[ch];
    for (int64_t k = plane * inner; k < (plane + 1) * inner; ++k) {
      const float v = decay * u[k] + x[k];
      float spike;
      if (p.binary) spike = v > threshold ? 1.0f : 0.0f;
      else spike = v >= threshold ? 1.0f : (v <= -threshold ? -1.0f : 0.0f);
      u[k] = spike != 0.0f ? 0.0f : v;
      y[k] = a * spike;
      count += spike != 0.0f;
    }
  }
  return count;
}

int64_t neuron_run(const RunContext& ctx, const NeuronParams& p, const float* x, float* u, float* y, int64_t n,
                   int64_t c, int64_t inner) {
  std::atomic<int64_t> fired{0};
  // Planes (sample, channel) are independent: split them over threads.
  parallel_for(ctx, n * c, [&](int64_t begin, int64_t end) { fired += neuron_planes(p, x, u, y, c, inner, begin, end); });
  return fired.load();
}

TSPIKE_DEFINE_OP_FACTORY(TernarySpike)

}  // namespace tspike::ops
