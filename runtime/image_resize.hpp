// SPDX-License-Identifier: Apache-2.0
// Resizing and cropping image planes for load_image, by the model's
// tspike.image.resize (docs/format.md). Internal.
#pragma once

#include <vector>

#include "tspike/model.hpp"

namespace tspike::detail {

// An image as float planes: data[c * height * width + y * width + x].
struct Planes {
  int channels = 0, height = 0, width = 0;
  std::vector<float> data;
};

// Every plane resized to height x width:
// - kBilinear: half-pixel centres, src = (dst + 0.5) * in / out - 0.5,
//   clamped (PyTorch's interpolate(mode="bilinear", align_corners=False,
//   antialias=False), OpenCV's INTER_LINEAR): downscaling reads only the two
//   nearest pixels;
// - kBilinearAntialias: PIL's BILINEAR (and torchvision's Resize with
//   antialias): a triangle filter whose support grows with the downscale
//   factor, weights normalized, horizontal pass then vertical;
// - kNearest: PIL's NEAREST, src = floor((dst + 0.5) * in / out).
Planes resize_planes(const Planes& src, int height, int width, ImageResize method);

// The size that covers height x width with src's aspect ratio: the side
// that is relatively shorter becomes the target's, the other is truncated
// like torchvision's Resize(int).
void cover_size(int src_height, int src_width, int height, int width, int& out_height, int& out_width);

// The centre height x width of src, offsets rounded as torchvision's
// CenterCrop (round half to even).
Planes crop_center(const Planes& src, int height, int width);

}  // namespace tspike::detail
