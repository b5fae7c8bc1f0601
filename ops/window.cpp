// SPDX-License-Identifier: Apache-2.0
#include "ops/window.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ops/attributes.hpp"

namespace tspike::ops {

constexpr int64_t kMaxWindowValue = int64_t{1} << 24;

bool add_to_pads_attribute(onnx::NodeProto& node, const std::vector<int64_t>& pads) {
  onnx::AttributeProto* own = nullptr;
  for (auto& a : *node.mutable_attribute()) {
    if (a.name() == "auto_pad" && a.s() != "NOTSET") return false;
    if (a.name() == "ceil_mode" && a.i() != 0) return false;
    if (a.name() == "pads") own = &a;
  }
  if (pads.size() != 4) return false;
  if (own && own->ints_size() != 4) return false;
  if (!own) {
    own = node.add_attribute();
    own->set_name("pads");
    own->set_type(onnx::AttributeProto::INTS);
    for (int k = 0; k < 4; ++k) own->add_ints(0);
  }
  for (int k = 0; k < 4; ++k) own->set_ints(k, own->ints(k) + pads[k]);
  return true;
}

WindowAttrs parse_window(const OpBuildContext& b, bool is_conv) {
  Attributes attrs(b.node, b.name);
  WindowAttrs w;
  w.kernel = attrs.get_ints("kernel_shape");
  w.strides = attrs.get_ints("strides");
  w.pads = attrs.get_ints("pads");
  w.dilations = attrs.get_ints("dilations");
  w.auto_pad = attrs.get_string("auto_pad", "NOTSET");
  w.ceil_mode = attrs.get_int("ceil_mode", 0) != 0;
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" &&
      w.auto_pad != "SAME_LOWER")
    throw attrs.error(ErrorCode::kInvalidModel, fmt::format("auto_pad \"{}\" is not valid", w.auto_pad));
  if (!is_conv && w.kernel.empty()) throw attrs.error(ErrorCode::kInvalidModel, "kernel_shape is required");
  auto check = [&](const std::vector<int64_t>& v, size_t n, const char* name, int64_t min) {
    if (!v.empty() && v.size() != n)
      throw attrs.error(ErrorCode::kUnsupportedOp,
                        fmt::format("{} has {} values; only 2-D windows are supported", name, v.size()));
    for (int64_t x : v) {
      if (x < min) throw attrs.error(ErrorCode::kInvalidModel, fmt::format("{} value {} < {}", name, x, min));
      // Bounded so that window arithmetic cannot overflow int64.
      if (x > kMaxWindowValue)
        throw attrs.error(ErrorCode::kUnsupportedOp,
                          fmt::format("{} value {} is over the supported {}", name, x, kMaxWindowValue));
    }
  };
  check(w.kernel, 2, "kernel_shape", 1);
  check(w.strides, 2, "strides", 1);
  check(w.pads, 4, "pads", 0);
  check(w.dilations, 2, "dilations", 1);
  return w;
}

Window2D resolve_window(const Op& op, const WindowAttrs& a, const Shape& input, int64_t kernel_h,
                        int64_t kernel_w) {
  if (input.size() != 4)
    throw op.error(
        ErrorCode::kUnsupportedOp,
        fmt::format("input {} is not 4-D; only 2-D windows are supported", shape_to_string(input)));
  Window2D w{};
  if (!a.kernel.empty() && kernel_h > 0 && (a.kernel[0] != kernel_h || a.kernel[1] != kernel_w))
    throw op.error(ErrorCode::kShapeMismatch, "kernel_shape does not match the weights");
  w.kernel_h = a.kernel.empty() ? kernel_h : a.kernel[0];
  w.kernel_w = a.kernel.empty() ? kernel_w : a.kernel[1];
  w.stride_h = a.strides.empty() ? 1 : a.strides[0];
  w.stride_w = a.strides.empty() ? 1 : a.strides[1];
  w.dilation_h = a.dilations.empty() ? 1 : a.dilations[0];
  w.dilation_w = a.dilations.empty() ? 1 : a.dilations[1];
  const int64_t h = input[2], wd = input[3];
  const int64_t eff_h = (w.kernel_h - 1) * w.dilation_h + 1, eff_w = (w.kernel_w - 1) * w.dilation_w + 1;
  if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
    auto same = [&](int64_t size, int64_t stride, int64_t eff, int64_t& lo, int64_t& hi, int64_t& out) {
      out = (size + stride - 1) / stride;
      int64_t total = std::max<int64_t>(0, (out - 1) * stride + eff - size);
      lo = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    same(h, w.stride_h, eff_h, w.pad_top, w.pad_bottom, w.out_h);
    same(wd, w.stride_w, eff_w, w.pad_left, w.pad_right, w.out_w);
    return w;
  }
  if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
    w.pad_top = a.pads[0];
    w.pad_left = a.pads[1];
    w.pad_bottom = a.pads[2];
    w.pad_right = a.pads[3];
  }
  auto out_size = [&](int64_t size, int64_t lo, int64_t hi, int64_t eff, int64_t stride) {
    const int64_t span = size + lo + hi - eff;
    if (span < 0) return int64_t{0};
    int64_t out = (a.ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    // A last window that would start inside the end padding is dropped.
    if (a.ceil_mode && (out - 1) * stride >= size + lo) out--;
    return out;
  };
  w.out_h = out_size(h, w.pad_top, w.pad_bottom, eff_h, w.stride_h);
  w.out_w = out_size(wd, w.pad_left, w.pad_right, eff_w, w.stride_w);
  if (w.out_h <= 0 || w.out_w <= 0)
    throw op.error(ErrorCode::kShapeMismatch, fmt::format("a {}x{} window does not fit the input {}",
                                                          w.kernel_h, w.kernel_w, shape_to_string(input)));
  return w;
}

}  // namespace tspike::ops
