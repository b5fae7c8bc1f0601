// tspike::TernarySpike: the neuron (spec section 1).
//
// Reference kernel: one pass over the elements, in the spec's order:
// u = tau*u + x; fire (ternary >=, binary >); hard reset; y = a*s.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cmath>

#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class TernarySpike final : public Op {
 public:
  explicit TernarySpike(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    threshold_ = attrs.get_float("threshold", 0.5f);
    decay_ = attrs.get_float("decay", 0.25f);
    std::string mode = attrs.get_string("mode", "ternary");
    if (!(std::isfinite(threshold_) && threshold_ > 0))
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("threshold {} must be finite and > 0", threshold_));
    if (!(decay_ >= 0 && decay_ <= 1))
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("decay {} must be in [0, 1]", decay_));
    if (mode != "ternary" && mode != "binary")
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("mode \"{}\" must be ternary or binary", mode));
    binary_ = mode == "binary";
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
      amplitude_ = a.f;
    }
  }

  bool stateful() const override { return true; }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 2);
    require_float(*this, x, "X");
    if (amplitude_.size() > 1 && static_cast<int64_t>(amplitude_.size()) != x.shape[1])
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("amplitude has {} elements but X {} has {} channels", amplitude_.size(),
                              shape_to_string(x.shape), x.shape[1]));
    ctx.outputs = {output_like(x, x.shape)};
    ctx.state_floats = element_count(x.shape);
  }

  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    const int64_t n = x.shape[0], c = x.shape[1];
    const int64_t inner = c == 0 ? 0 : x.size() / (n * c);
    const float* in = x.f();
    float* out = ctx.outputs[0].f();
    float* u = ctx.state;
    std::atomic<int64_t> fired{0};
    // Planes (sample, channel) are independent: split them over threads.
    parallel_for(ctx, n * c, [&](int64_t begin, int64_t end) {
      int64_t count = 0;
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t ch = plane % c;
        const float a = amplitude_.empty() ? 1.0f : amplitude_.size() == 1 ? amplitude_[0] : amplitude_[ch];
        for (int64_t k = plane * inner; k < (plane + 1) * inner; ++k) {
          const float v = decay_ * u[k] + in[k];
          float spike;
          if (binary_) spike = v > threshold_ ? 1.0f : 0.0f;
          else spike = v >= threshold_ ? 1.0f : (v <= -threshold_ ? -1.0f : 0.0f);
          u[k] = spike != 0.0f ? 0.0f : v;
          out[k] = a * spike;
          count += spike != 0.0f;
        }
      }
      fired += count;
    });
    if (ctx.nonzero_count) *ctx.nonzero_count += fired.load();
  }

 private:
  float threshold_ = 0.5f, decay_ = 0.25f;
  bool binary_ = false;
  std::vector<float> amplitude_;  // empty: a = 1
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(TernarySpike)

}  // namespace tspike::ops
