// SPDX-License-Identifier: Apache-2.0
// Conv, 2-D (stride, pads, auto_pad, dilation, groups).
//
// Kernels, chosen at creation (event) and per plan in prepare() (oneDNN):
// - event-driven (conv_event.*) when the input is pure spikes (found at
//   load, OpBuildContext::input_is_spikes), the weights and bias are
//   constant and LoadOptions::engine is event or auto (auto: a sample denser
//   than the measured crossover runs on oneDNN);
// - oneDNN (conv_onednn.cpp) when the build has it and the weights are
//   constant: every other Conv, and every Conv with engine dense;
// - otherwise, or with reference_kernels, the reference kernel here, the
//   definition one output element at a time, which computes every Conv.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "base/thread_pool.hpp"
#include "ops/attributes.hpp"
#include "ops/conv_event.hpp"
#include "ops/conv_onednn.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"
#include "ops/window.hpp"

namespace tspike::ops {
namespace {

class Conv final : public Op {
 public:
  explicit Conv(const OpBuildContext& b)
      : window_(parse_window(b, /*is_conv=*/true)), reference_kernels_(b.reference_kernels) {
    Attributes attrs(b.node, b.name);
    group_ = attrs.get_int("group", 1);
    if (group_ < 1 || group_ > (int64_t{1} << 24))  // bounded: C = W.shape[1] * group must not overflow
      throw attrs.error(ErrorCode::kInvalidModel, fmt::format("group {} must be in 1..2^24", group_));
    const auto& w = b.initializers.size() > 1 ? b.initializers[1] : nullptr;
    const auto& bias = b.initializers.size() > 2 ? b.initializers[2] : nullptr;
    const bool has_bias = b.node.input_size() > 2 && !b.node.input(2).empty();
    if (b.input_is_spikes && !reference_kernels_ && b.engine != Engine::kDense && w &&
        w->dtype == DType::kFloat32 && w->shape.size() == 4 &&
        (!has_bias || (bias && bias->dtype == DType::kFloat32 && bias->size() == w->shape[0])))
      try {
        event_ = EventConv::make(w->f.data(), w->shape[0], w->shape[1], w->shape[2], w->shape[3], group_,
                                 has_bias ? bias->f.data() : nullptr, b.isa, b.engine == Engine::kAuto,
                                 {0, 0}, b.half_weights);
      } catch (const Error& e) {
        throw attrs.error(e.code(), e.what());
      }
  }

  // The event kernel packed W and B at creation and reads only its copy.
  bool packed_input(size_t input) const override { return event_ && (input == 1 || input == 2); }

  std::string kernel() const override {
    if (event_) return event_->describe();
    return !reference_kernels_ && onednn_available() ? "oneDNN" : "reference";
  }

  // Per input row (column): the (output row, kernel row) pairs that read it.
  bool fan_out(const std::vector<const ValueDesc*>& inputs, FanOut& fan) const override {
    const Shape &x = inputs.at(0)->shape, &w = inputs.at(1)->shape;
    const Window2D win = resolve_window(*this, window_, x, w[2], w[3]);
    auto axis = [](int64_t size, int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
      std::vector<int64_t> fan(size, 0);
      for (int64_t o = 0; o < out; ++o)
        for (int64_t k = 0; k < kernel; ++k) {
          const int64_t i = o * stride - pad + k * dilation;
          if (i >= 0 && i < size) fan[i]++;
        }
      return fan;
    };
    fan.per_element = w[0] / group_;
    fan.axes = {axis(x[2], win.out_h, win.kernel_h, win.stride_h, win.pad_top, win.dilation_h),
                axis(x[3], win.out_w, win.kernel_w, win.stride_w, win.pad_left, win.dilation_w)};
    return true;
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 4, 4);
    const ValueDesc& w = require_input(*this, ctx, 1, "W", 4, 4);
    require_float(*this, x, "X");
    require_float(*this, w, "W");
    const int64_t c = x.shape[1], m = w.shape[0];
    if (m % group_ != 0 || c != w.shape[1] * group_)
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("X {} and W {} do not fit with group {}", shape_to_string(x.shape),
                              shape_to_string(w.shape), group_));
    if (ctx.inputs.size() > 2 && ctx.inputs[2]) {
      const ValueDesc& bias = *ctx.inputs[2];
      if (bias.shape != Shape{m})
        throw error(ErrorCode::kShapeMismatch,
                    fmt::format("bias {} must have shape [{}]", shape_to_string(bias.shape), m));
    }
    Window2D win = resolve_window(*this, window_, x.shape, w.shape[2], w.shape[3]);
    ctx.outputs = {output_like(x, {x.shape[0], m, win.out_h, win.out_w})};

    // A NodeState means the event kernel or oneDNN; none the reference kernel.
    const ValueDesc* bias = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
    const ConvGeometry g{x.shape[0], c, x.shape[2], x.shape[3], m, group_, win};
    if (event_) {
      ctx.node_state = event_->prepare(g, ctx.threads, &ctx.scratch_bytes);
      return;
    }
    if (!reference_kernels_ && w.constant && (!bias || (bias->constant && bias->dtype == DType::kFloat32))) {
      ctx.node_state =
          make_onednn_conv(g, w.constant->f.data(), bias ? bias->constant->f.data() : nullptr, ctx.threads);
    }
  }

  void run(RunContext& ctx) const override {
    const float* bias = ctx.inputs.size() > 2 ? ctx.inputs[2].f() : nullptr;
    if (event_) {
      event_->run(ctx, *ctx.node_state, ctx.inputs[0].f(), ctx.outputs[0].f());
      return;
    }
    if (ctx.node_state) {
      run_onednn_conv(label, *ctx.node_state, ctx.inputs[0].f(), ctx.outputs[0].f(), ctx);
      return;
    }
    const TensorRef &x = ctx.inputs[0], &w = ctx.inputs[1];
    const Window2D win = resolve_window(*this, window_, x.shape, w.shape[2], w.shape[3]);
    const ConvGeometry g{x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], group_, win};
    conv_reference(g, x.f(), w.f(), bias, ctx.outputs[0].f());
  }

 private:
  WindowAttrs window_;
  int64_t group_ = 1;
  bool reference_kernels_ = false;
  std::unique_ptr<EventConv> event_;  // made at creation for spike-fed layers
};

}  // namespace

void conv_reference(const ConvGeometry& g, const float* in, const float* wt, const float* bias, float* out) {
  const Window2D& win = g.win;
  const int64_t n = g.n, c = g.c, h = g.h, wd = g.w, m = g.m, cg = c / g.group, kh = win.kernel_h,
                kw = win.kernel_w;
  const int64_t mg = m / g.group;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t grp = oc / mg;
      for (int64_t oy = 0; oy < win.out_h; ++oy)
        for (int64_t ox = 0; ox < win.out_w; ++ox) {
          float acc = bias ? bias[oc] : 0.0f;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t ky = 0; ky < kh; ++ky) {
              const int64_t iy = oy * win.stride_h - win.pad_top + ky * win.dilation_h;
              if (iy < 0 || iy >= h) continue;
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = ox * win.stride_w - win.pad_left + kx * win.dilation_w;
                if (ix < 0 || ix >= wd) continue;
                acc += in[((s * c + grp * cg + ic) * h + iy) * wd + ix] *
                       wt[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          out[((s * m + oc) * win.out_h + oy) * win.out_w + ox] = acc;
        }
    }
}

TSPIKE_DEFINE_OP_FACTORY(Conv)

namespace {
// W is [M, C/group, kH, kW]: output channel m sees input channel
// (m / (M/group)) * (C/group) + c.
std::string conv_weight_layout(const onnx::NodeProto& n, const Shape& w, int64_t /*data_rank*/,
                               WeightLayout& layout) {
  const int64_t group = Attributes(n, n.name()).get_int("group", 1);
  if (w.size() < 3 || group < 1 || w[0] % group != 0)
    return fmt::format("the weights of Conv {} do not have the shape [M, C/group, ...]", n.name());
  layout = {0, 1, group, {}};
  return {};
}
const LayerTraits conv_layer{&conv_weight_layout, /*folds_batchnorm=*/true, nullptr, PoolFold::kSpatial};

// A convolution pads with zeros: a zero padding before it adds to its pads.
bool conv_absorb_padding(onnx::NodeProto& node, const std::vector<int64_t>& pads, float value) {
  return value == 0.0f && add_to_pads_attribute(node, pads);
}
}  // namespace

const OpTraits traits_Conv{.scale = ScaleFlow::kIntoWeights,
                           .layer = &conv_layer,
                           .first_weight_input = 0,
                           .absorb_padding = &conv_absorb_padding};

}  // namespace tspike::ops
