// Conv, 2-D (stride, pads, auto_pad, dilation, groups).
//
// Two kernels, chosen once per plan in prepare(): oneDNN (conv_onednn.cpp)
// when the build has it, the weights are constant and the model was not
// loaded with reference_kernels; otherwise the reference kernel here, the
// definition one output element at a time, which computes every Conv.
// Every Conv takes oneDNN when allowed: spike-fed layers will move to the
// event-driven kernels when those exist. (LoadOptions::reference_kernels
// defaults to true for now because oneDNN's execute allocates per call.)
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ops/attributes.hpp"
#include "ops/conv_onednn.hpp"
#include "runtime/thread_pool.hpp"
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

    // A NodeState means oneDNN; none means the reference kernel.
    const ValueDesc* bias = ctx.inputs.size() > 2 ? ctx.inputs[2] : nullptr;
    if (!reference_kernels_ && w.constant && (!bias || (bias->constant && bias->dtype == DType::kFloat32))) {
      const ConvGeometry g{x.shape[0], c, x.shape[2], x.shape[3], m, group_, win};
      ctx.node_state = make_onednn_conv(g, w.constant->f.data(), bias ? bias->constant->f.data() : nullptr, ctx.threads);
    }
  }

  void run(RunContext& ctx) const override {
    if (ctx.node_state) {
      run_onednn_conv(label, *ctx.node_state, ctx.inputs[0].f(), ctx.outputs[0].f(),
                      ctx.pool ? ctx.pool->threads() : 1);
      return;
    }
    const TensorRef &x = ctx.inputs[0], &w = ctx.inputs[1];
    const float* bias = ctx.inputs.size() > 2 ? ctx.inputs[2].f() : nullptr;
    Window2D win = resolve_window(*this, window_, x.shape, w.shape[2], w.shape[3]);
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
    const int64_t m = w.shape[0], cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    const int64_t mg = m / group_;
    const float *in = x.f(), *wt = w.f();
    float* out = ctx.outputs[0].f();
    for (int64_t s = 0; s < n; ++s)
      for (int64_t oc = 0; oc < m; ++oc) {
        const int64_t g = oc / mg;
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
                  acc += in[((s * c + g * cg + ic) * h + iy) * wd + ix] *
                         wt[((oc * cg + ic) * kh + ky) * kw + kx];
                }
              }
            out[((s * m + oc) * win.out_h + oy) * win.out_w + ox] = acc;
          }
      }
  }

 private:
  WindowAttrs window_;
  int64_t group_ = 1;
  bool reference_kernels_ = false;
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Conv)

}  // namespace tspike::ops
