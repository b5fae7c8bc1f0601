// SPDX-License-Identifier: Apache-2.0
// tspike::TernarySpike: the neuron (spec section 1).
//
// Reference kernel: one pass over the elements, in the spec's order:
// u = tau*u + x; fire (ternary >=, binary >); hard reset; y = a*s
// (neuron_planes, ops/neuron.hpp).
#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>
#include <onnx/onnx_pb.h>

#include <atomic>
#include <bit>
#include <cmath>

#include "ops/attributes.hpp"
#include "ops/neuron.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

// The format's rules for a TernarySpike node (spec section 1), in one place:
// the model checker applies them through the op's traits, the op's
// constructor directly.

NeuronParams read_attributes(const onnx::NodeProto& node, const Attributes& attrs) {
  for (const auto& a : node.attribute())
    if (a.name() != "threshold" && a.name() != "decay" && a.name() != "mode")
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("unknown attribute '{}'", a.name()));
  NeuronParams p;
  p.node = attrs.node_name();
  p.threshold = attrs.get_float("threshold", 0.5f);
  p.decay = attrs.get_float("decay", 0.25f);
  const std::string mode = attrs.get_string("mode", "ternary");
  if (!(std::isfinite(p.threshold) && p.threshold > 0))
    throw attrs.error(ErrorCode::kInvalidModel,
                      fmt::format("threshold {} must be finite and > 0", p.threshold));
  if (!(p.decay >= 0 && p.decay <= 1))
    throw attrs.error(ErrorCode::kInvalidModel, fmt::format("decay {} must be in [0, 1]", p.decay));
  if (mode != "ternary" && mode != "binary")
    throw attrs.error(ErrorCode::kInvalidModel,
                      fmt::format("mode \"{}\" must be \"ternary\" or \"binary\"", mode));
  p.binary = mode == "binary";
  return p;
}

// One element, or C (`channels`, -1 when unknown) in a shape whose other
// dimensions are 1.
void check_amplitude_shape(const Attributes& attrs, const std::string& name, const Shape& shape,
                           int64_t channels) {
  int64_t count = 1, non_unit = 0;
  for (int64_t d : shape) {
    count *= d;
    non_unit += d != 1;
  }
  if (count == 1) return;
  if (non_unit > 1 || (channels > 0 && count != channels))
    throw attrs.error(
        ErrorCode::kShapeMismatch,
        fmt::format("amplitude '{}' of shape {} has {} elements; it must have 1 or C{} elements in "
                    "a shape whose other dimensions are 1",
                    name, shape_to_string(shape), count, channels > 0 ? fmt::format(" = {}", channels) : ""));
}

void check_ternary_spike(const onnx::NodeProto& node, const NodeFacts& facts) {
  const Attributes attrs(node, node.name());
  read_attributes(node, attrs);
  const auto& x = facts.input_shapes.at(0);
  if (x && x->size() < 2)
    throw attrs.error(
        ErrorCode::kShapeMismatch,
        fmt::format("input '{}' must be at least 2-D [N, C, ...], has rank {}", node.input(0), x->size()));
  if (node.input_size() < 2 || node.input(1).empty()) return;
  const onnx::TensorProto* amplitude = facts.initializers.at(1);
  if (!amplitude)
    throw attrs.error(ErrorCode::kInvalidModel,
                      fmt::format("amplitude '{}' must be an initializer", node.input(1)));
  check_amplitude_shape(attrs, node.input(1), Shape(amplitude->dims().begin(), amplitude->dims().end()),
                        x && (*x)[1] > 0 ? (*x)[1] : -1);
}

class TernarySpike final : public Op {
 public:
  explicit TernarySpike(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    p_ = read_attributes(b.node, attrs);
    if (b.node.input_size() > 1 && !b.node.input(1).empty()) {
      if (!b.initializers.at(1))
        throw attrs.error(ErrorCode::kInvalidModel, "amplitude must be an initializer");
      const ConstTensor& a = *b.initializers[1];
      if (a.dtype != DType::kFloat32)
        throw attrs.error(ErrorCode::kInvalidModel, "amplitude must be float32");
      check_amplitude_shape(attrs, b.node.input(1), a.shape, -1);
      for (float v : a.f)
        if (!std::isfinite(v)) throw attrs.error(ErrorCode::kInvalidModel, "amplitude is not finite");
      p_.amplitude = a.f;
    }
  }

  bool stateful() const override { return true; }
  const NeuronParams* neuron_params() const override { return &p_; }

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

namespace {

// One plane, BINARY hoisted. Masks instead of branches or selects, which
// GCC does not vectorize here (float compares may trap); the values are the
// same: spike exactly 1, -1 or +0, u reset to +0.
template <bool BINARY>
int64_t neuron_plane(const float* __restrict x, float* __restrict u, float* __restrict y, int64_t count,
                     float threshold, float decay, float a) {
  int32_t fired = 0;  // a plane has far fewer than 2^31 elements (Limits)
  for (int64_t k = 0; k < count; ++k) {
    const float v = decay * u[k] + x[k];
    const int32_t pos = -static_cast<int32_t>(BINARY ? v > threshold : v >= threshold);  // all ones or 0
    const int32_t neg = BINARY ? 0 : -static_cast<int32_t>(v <= -threshold);
    const int32_t fire = pos | neg;  // threshold > 0: at most one of them
    const float spike =
        std::bit_cast<float>((pos & 0x3f800000) | (neg & static_cast<int32_t>(0xbf800000)));  // 1, -1, 0
    u[k] = std::bit_cast<float>(std::bit_cast<int32_t>(v) & ~fire);
    y[k] = a * spike;
    fired -= fire;
  }
  return fired;
}

}  // namespace

int64_t neuron_planes(const NeuronParams& p, const float* x, float* u, float* y, int64_t c, int64_t inner,
                      int64_t plane0, int64_t plane1) {
  int64_t count = 0;
  for (int64_t plane = plane0; plane < plane1; ++plane) {
    const int64_t ch = plane % c, at = plane * inner;
    const float a = p.amplitude.empty() ? 1.0f : p.amplitude.size() == 1 ? p.amplitude[0] : p.amplitude[ch];
    count += p.binary ? neuron_plane<true>(x + at, u + at, y + at, inner, p.threshold, p.decay, a)
                      : neuron_plane<false>(x + at, u + at, y + at, inner, p.threshold, p.decay, a);
  }
  return count;
}

int64_t neuron_run(const RunContext& ctx, const NeuronParams& p, const float* x, float* u, float* y,
                   int64_t n, int64_t c, int64_t inner) {
  std::atomic<int64_t> fired{0};
  // Planes (sample, channel) are independent: split them over threads.
  parallel_for(ctx, n * c,
               [&](int64_t begin, int64_t end) { fired += neuron_planes(p, x, u, y, c, inner, begin, end); });
  return fired.load();
}

TSPIKE_DEFINE_OP_FACTORY(TernarySpike)

namespace {
// For ONNX's checker and shape inference (called once, by register_schemas).
void register_ternary_spike_schema() {
  using onnx::OpSchema;
  static OpSchema schema;
  schema.SetName("TernarySpike")
      .SetDomain(kDomain)
      .SinceVersion(1)
      .SetDoc(
          "Ternary (or binary) spiking neuron with hard reset, one timestep. "
          "u = decay*u + X; ternary: s = +1 if u >= threshold, -1 if u <= -threshold; "
          "binary: s = 1 if u > threshold; u = u*(1-|s|); Y = amplitude*s along axis 1.")
      .Input(0, "X", "Input current of this timestep, [N, C, ...].", "T")
      .Input(1, "amplitude", "Spike amplitude: 1 or C elements along axis 1.", "T", OpSchema::Optional)
      .Output(0, "Y", "Spikes times amplitude, same shape as X.", "T")
      .Attr("threshold", "Firing threshold, > 0.", onnx::AttributeProto::FLOAT, 0.5f)
      .Attr("decay", "Membrane decay in [0, 1].", onnx::AttributeProto::FLOAT, 0.25f)
      .Attr("mode", "\"ternary\" or \"binary\".", onnx::AttributeProto::STRING, std::string("ternary"))
      .TypeConstraint("T", {"tensor(float)"}, "float32 only.")
      .TypeAndShapeInferenceFunction([](onnx::InferenceContext& ctx) {
        onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
        if (onnx::hasInputShape(ctx, 0)) onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
      });
  onnx::OpSchemaRegistry::OpSchemaRegisterOnce registration(schema);
}
}  // namespace

// Its input is real-valued (a current, not a scaled spike): an amplitude
// reaching it stays before it.
const OpTraits traits_TernarySpike{.neuron = true,
                                   .first_weight_input = 1,
                                   .register_schema = &register_ternary_spike_schema,
                                   .check = &check_ternary_spike};

}  // namespace tspike::ops
