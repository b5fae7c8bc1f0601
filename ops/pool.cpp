// SPDX-License-Identifier: Apache-2.0
// MaxPool and AveragePool, 2-D (strides, pads, auto_pad, dilations for
// MaxPool, ceil_mode, count_include_pad), and GlobalAveragePool.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <limits>

#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"
#include "ops/window.hpp"

namespace tspike::ops {
namespace {

class Pool : public Op {
 public:
  Pool(const OpBuildContext& b, bool is_max) : window_(parse_window(b, false)), max_(is_max) {
    Attributes attrs(b.node, b.name);
    count_include_pad_ = attrs.get_int("count_include_pad", 0) != 0;
    if (is_max && b.node.output_size() > 1)
      throw attrs.error(ErrorCode::kUnsupportedOp, "the Indices output of MaxPool is not supported");
    if (!is_max && !window_.dilations.empty() && (window_.dilations[0] != 1 || window_.dilations[1] != 1))
      throw attrs.error(ErrorCode::kUnsupportedOp, "AveragePool with dilations is not supported");
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 4, 4);
    require_float(*this, x, "X");
    Window2D w = resolve_window(*this, window_, x.shape);
    ctx.outputs = {output_like(x, {x.shape[0], x.shape[1], w.out_h, w.out_w})};
  }

  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    Window2D w = resolve_window(*this, window_, x.shape);
    const int64_t planes = x.shape[0] * x.shape[1], h = x.shape[2], wd = x.shape[3];
    const float* in = x.f();
    float* out = ctx.outputs[0].f();
    // Planes are independent: split them over threads.
    parallel_for(ctx, planes, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p)
        for (int64_t oy = 0; oy < w.out_h; ++oy)
          for (int64_t ox = 0; ox < w.out_w; ++ox) {
            const int64_t y0 = oy * w.stride_h - w.pad_top, x0 = ox * w.stride_w - w.pad_left;
            float best = -std::numeric_limits<float>::infinity(), sum = 0;
            int64_t inside = 0;
            for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
              const int64_t iy = y0 + ky * w.dilation_h;
              if (iy < 0 || iy >= h) continue;
              for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                const int64_t ix = x0 + kx * w.dilation_w;
                if (ix < 0 || ix >= wd) continue;
                const float v = in[(p * h + iy) * wd + ix];
                best = std::max(best, v);
                sum += v;
                inside++;
              }
            }
            float result;
            if (max_) {
              result = best;
            } else {
              int64_t count = inside;
              if (count_include_pad_) {
                // The window clipped to the padded input (not to the extra
                // area that ceil_mode may add beyond the padding).
                const int64_t y1 = std::min(y0 + w.kernel_h, h + w.pad_bottom);
                const int64_t x1 = std::min(x0 + w.kernel_w, wd + w.pad_right);
                count = (y1 - y0) * (x1 - x0);
              }
              result = count > 0 ? sum / static_cast<float>(count) : 0.0f;
            }
            out[(p * w.out_h + oy) * w.out_w + ox] = result;
          }
    });
  }

 private:
  WindowAttrs window_;
  bool max_;
  bool count_include_pad_ = false;
};

struct MaxPool final : Pool {
  explicit MaxPool(const OpBuildContext& b) : Pool(b, true) {}
};
struct AveragePool final : Pool {
  explicit AveragePool(const OpBuildContext& b) : Pool(b, false) {}
};

class GlobalAveragePool final : public Op {
 public:
  explicit GlobalAveragePool(const OpBuildContext&) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "X", 3);
    require_float(*this, x, "X");
    Shape out = x.shape;
    std::fill(out.begin() + 2, out.end(), 1);
    ctx.outputs = {output_like(x, out)};
  }
  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    const int64_t planes = x.shape[0] * x.shape[1];
    const int64_t inner = planes == 0 ? 0 : x.size() / planes;
    for (int64_t p = 0; p < planes; ++p) {
      float sum = 0;
      for (int64_t k = 0; k < inner; ++k) sum += x.f()[p * inner + k];
      ctx.outputs[0].f()[p] = sum / static_cast<float>(inner);
    }
  }
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(MaxPool)
TSPIKE_DEFINE_OP_FACTORY(AveragePool)
TSPIKE_DEFINE_OP_FACTORY(GlobalAveragePool)

namespace {

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  return std::all_of(v.begin(), v.end(), [&](int64_t y) { return y == x; });
}

// kernel = strides, no padding or dilation, and windows that divide H and W
// (then ceil_mode changes nothing).
bool average_pool_window(const onnx::NodeProto& n, const Shape& input, int64_t window[2], std::string& why) {
  const Attributes attrs(n, n.name());
  const auto kernel = attrs.get_ints("kernel_shape");
  const auto pad_mode = attrs.get_string("auto_pad", "NOTSET");
  if (kernel.size() != 2 || input.size() != 4) {
    why = fmt::format("AveragePool {} is not a 2-D pool of a [N, C, H, W] input", n.name());
  } else if (attrs.get_ints("strides", {1, 1}) != kernel) {
    why = fmt::format("AveragePool {} has a stride other than its kernel", n.name());
  } else if (!all_equal(attrs.get_ints("pads", {0, 0, 0, 0}), 0) ||
             (pad_mode != "NOTSET" && pad_mode != "VALID")) {
    why = fmt::format("AveragePool {} pads its input", n.name());
  } else if (!all_equal(attrs.get_ints("dilations", {1, 1}), 1)) {
    why = fmt::format("AveragePool {} is dilated", n.name());
  } else if (input[2] < 1 || input[3] < 1 || input[2] % kernel[0] || input[3] % kernel[1]) {
    // With ceil_mode a partial window would average fewer inputs; without,
    // the rows left over would be dropped: either way not one layer.
    why = fmt::format("the {}x{} input of AveragePool {} is not a multiple of its {}x{} window", input[2],
                      input[3], n.name(), kernel[0], kernel[1]);
  } else {
    window[0] = kernel[0];
    window[1] = kernel[1];
    return true;
  }
  return false;
}

bool global_pool_window(const onnx::NodeProto& n, const Shape& input, int64_t window[2], std::string& why) {
  if (input.size() != 4 || input[2] < 1 || input[3] < 1) {
    why = fmt::format("the H and W of the input of GlobalAveragePool {} are not known", n.name());
    return false;
  }
  window[0] = input[2];
  window[1] = input[3];
  return true;
}

}  // namespace

// The maximum of spikes is a spike (and commutes with a scale >= 0 only);
// an average of spikes is a multiple of 1/k (and commutes with any scale).
namespace {
// MaxPool's own padding never wins a maximum: only a -inf padding is the same.
bool maxpool_absorb_padding(onnx::NodeProto& node, const std::vector<int64_t>& pads, float value) {
  return value == -std::numeric_limits<float>::infinity() && add_to_pads_attribute(node, pads);
}
// A zero padding is what AveragePool's own padding is with
// count_include_pad = 1 (torch exports AvgPool2d(padding=p) as a Pad and an
// unpadded AveragePool). Its own pads, if any, must already count.
bool averagepool_absorb_padding(onnx::NodeProto& node, const std::vector<int64_t>& pads, float value) {
  if (value != 0.0f) return false;
  bool own_pads = false, counts_pads = false;
  onnx::AttributeProto* count = nullptr;
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == "pads")
      for (int64_t p : a.ints()) own_pads |= p != 0;
    if (a.name() == "count_include_pad") {
      count = &a;
      counts_pads = a.i() != 0;
    }
  }
  if (own_pads && !counts_pads) return false;
  if (!add_to_pads_attribute(node, pads)) return false;
  if (!count) {
    count = node.add_attribute();
    count->set_name("count_include_pad");
    count->set_type(onnx::AttributeProto::INT);
  }
  count->set_i(1);
  return true;
}
}  // namespace

const OpTraits traits_MaxPool{.spikes = SpikeFlow::kKeeps,
                              .scale = ScaleFlow::kThroughNonNegative,
                              .absorb_padding = &maxpool_absorb_padding};
const OpTraits traits_AveragePool{.spikes = SpikeFlow::kAverages,
                                  .scale = ScaleFlow::kThrough,
                                  .tiling_window = &average_pool_window,
                                  .absorb_padding = &averagepool_absorb_padding};
const OpTraits traits_GlobalAveragePool{
    .spikes = SpikeFlow::kAverages, .scale = ScaleFlow::kThrough, .tiling_window = &global_pool_window};

}  // namespace tspike::ops
