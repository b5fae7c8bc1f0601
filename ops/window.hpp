// SPDX-License-Identifier: Apache-2.0
// Sliding-window geometry shared by Conv and the pools: kernel, strides,
// pads (explicit or auto_pad), dilations, ceil_mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.hpp"

namespace tspike::ops {

struct WindowAttrs {
  std::vector<int64_t> kernel;     // empty for Conv: taken from W
  std::vector<int64_t> strides;    // default 1
  std::vector<int64_t> pads;       // [top, left, bottom, right], default 0
  std::vector<int64_t> dilations;  // default 1
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// The window resolved for one input shape.
struct Window2D {
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  int64_t out_h, out_w;
};

// Adds `pads` ([top, left, bottom, right]) to the node's pads attribute;
// false (and the node untouched) when auto_pad is set or ceil_mode is on
// (the ceil rule depends on where the input ends, which padding moves).
bool add_to_pads_attribute(onnx::NodeProto& node, const std::vector<int64_t>& pads);

WindowAttrs parse_window(const OpBuildContext& b, bool is_conv);

// Resolves the window for an NCHW input; kernel from the attributes or
// `kernel_hw` (Conv). Throws via op.error when the output would be empty.
// kernel_h/kernel_w of 0: from the attributes.
Window2D resolve_window(const Op& op, const WindowAttrs& a, const Shape& input, int64_t kernel_h = 0,
                        int64_t kernel_w = 0);

}  // namespace tspike::ops
