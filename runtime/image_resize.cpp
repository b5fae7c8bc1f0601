// SPDX-License-Identifier: Apache-2.0
// Image resizing for load_image: plain bilinear, PIL's antialiased
// bilinear, nearest, and the centre crop (runtime/image_resize.hpp).
#include "runtime/image_resize.hpp"

#include <algorithm>
#include <cmath>

namespace tspike::detail {
namespace {

// Source position and weights of one output coordinate along one axis.
struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

std::vector<Tap> bilinear_taps(int in, int out) {
  std::vector<Tap> t(out);
  const double scale = double(in) / out;
  for (int d = 0; d < out; ++d) {
    double src = (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const int i0 = int(src);
    t[d] = i0 >= in - 1 ? Tap{in - 1, in - 1, 0.0f} : Tap{i0, i0 + 1, float(src - i0)};
  }
  return t;
}

Planes resize_bilinear(const Planes& src, int height, int width) {
  const std::vector<Tap> ty = bilinear_taps(src.height, height), tx = bilinear_taps(src.width, width);
  Planes out{src.channels, height, width, std::vector<float>(std::size_t(src.channels) * height * width)};
  for (int c = 0; c < src.channels; ++c) {
    const float* s = src.data.data() + std::size_t(c) * src.height * src.width;
    float* d = out.data.data() + std::size_t(c) * height * width;
    for (int y = 0; y < height; ++y) {
      const float* r0 = s + std::size_t(ty[y].i0) * src.width;
      const float* r1 = s + std::size_t(ty[y].i1) * src.width;
      const float wy = ty[y].w1;
      for (int x = 0; x < width; ++x) {
        const Tap& t = tx[x];
        const float top = r0[t.i0] + (r0[t.i1] - r0[t.i0]) * t.w1;
        const float bottom = r1[t.i0] + (r1[t.i1] - r1[t.i0]) * t.w1;
        d[std::size_t(y) * width + x] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

// PIL's precompute_coeffs for the bilinear (triangle) filter: output d reads
// inputs [first[d], first[d] + count[d]) with the normalized weights.
struct Coefficients {
  std::vector<int> first, count;
  std::vector<double> weights;  // `span` per output
  int span = 0;
};

Coefficients antialias_coefficients(int in, int out) {
  const double scale = double(in) / out;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;
  Coefficients c;
  c.span = int(std::ceil(support)) * 2 + 1;
  c.first.resize(out);
  c.count.resize(out);
  c.weights.assign(std::size_t(out) * c.span, 0.0);
  for (int d = 0; d < out; ++d) {
    const double center = (d + 0.5) * scale;
    const int lo = std::max(int(center - support + 0.5), 0);
    const int hi = std::min(int(center + support + 0.5), in);
    double* w = c.weights.data() + std::size_t(d) * c.span;
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      const double x = std::abs((i - center + 0.5) / filter_scale);
      w[i - lo] = x < 1.0 ? 1.0 - x : 0.0;
      total += w[i - lo];
    }
    if (total != 0)
      for (int i = lo; i < hi; ++i) w[i - lo] /= total;
    c.first[d] = lo;
    c.count[d] = hi - lo;
  }
  return c;
}

Planes resize_antialias(const Planes& src, int height, int width) {
  const Coefficients cx = antialias_coefficients(src.width, width);
  const Coefficients cy = antialias_coefficients(src.height, height);
  // Horizontal pass into [C, src.height, width], then vertical, as PIL.
  std::vector<float> rows(std::size_t(src.channels) * src.height * width);
  for (int c = 0; c < src.channels; ++c)
    for (int y = 0; y < src.height; ++y) {
      const float* s = src.data.data() + (std::size_t(c) * src.height + y) * src.width;
      float* d = rows.data() + (std::size_t(c) * src.height + y) * width;
      for (int x = 0; x < width; ++x) {
        const double* w = cx.weights.data() + std::size_t(x) * cx.span;
        double sum = 0;
        for (int k = 0; k < cx.count[x]; ++k) sum += s[cx.first[x] + k] * w[k];
        d[x] = float(sum);
      }
    }
  Planes out{src.channels, height, width, std::vector<float>(std::size_t(src.channels) * height * width)};
  for (int c = 0; c < src.channels; ++c)
    for (int y = 0; y < height; ++y) {
      const double* w = cy.weights.data() + std::size_t(y) * cy.span;
      const float* s = rows.data() + std::size_t(c) * src.height * width;
      float* d = out.data.data() + (std::size_t(c) * height + y) * width;
      for (int x = 0; x < width; ++x) {
        double sum = 0;
        for (int k = 0; k < cy.count[y]; ++k) sum += s[std::size_t(cy.first[y] + k) * width + x] * w[k];
        d[x] = float(sum);
      }
    }
  return out;
}

Planes resize_nearest(const Planes& src, int height, int width) {
  auto index = [](int in, int out) {
    std::vector<int> idx(out);
    const double scale = double(in) / out;
    for (int d = 0; d < out; ++d) idx[d] = std::min(int((d + 0.5) * scale), in - 1);
    return idx;
  };
  const std::vector<int> iy = index(src.height, height), ix = index(src.width, width);
  Planes out{src.channels, height, width, std::vector<float>(std::size_t(src.channels) * height * width)};
  for (int c = 0; c < src.channels; ++c)
    for (int y = 0; y < height; ++y) {
      const float* s = src.data.data() + (std::size_t(c) * src.height + iy[y]) * src.width;
      float* d = out.data.data() + (std::size_t(c) * height + y) * width;
      for (int x = 0; x < width; ++x) d[x] = s[ix[x]];
    }
  return out;
}

}  // namespace

Planes resize_planes(const Planes& src, int height, int width, ImageResize method) {
  if (src.height == height && src.width == width) return src;
  switch (method) {
    case ImageResize::kBilinearAntialias:
      return resize_antialias(src, height, width);
    case ImageResize::kNearest:
      return resize_nearest(src, height, width);
    case ImageResize::kBilinear:
      break;
  }
  return resize_bilinear(src, height, width);
}

void cover_size(int src_height, int src_width, int height, int width, int& out_height, int& out_width) {
  // Wider than the target (src_w / src_h >= w / h): the height fits.
  if (int64_t(src_width) * height >= int64_t(src_height) * width) {
    out_height = height;
    out_width = std::max(width, int(int64_t(height) * src_width / src_height));
  } else {
    out_width = width;
    out_height = std::max(height, int(int64_t(width) * src_height / src_width));
  }
}

Planes crop_center(const Planes& src, int height, int width) {
  if (src.height == height && src.width == width) return src;
  const int top = int(std::nearbyint((src.height - height) / 2.0));
  const int left = int(std::nearbyint((src.width - width) / 2.0));
  Planes out{src.channels, height, width, std::vector<float>(std::size_t(src.channels) * height * width)};
  for (int c = 0; c < src.channels; ++c)
    for (int y = 0; y < height; ++y) {
      const float* s = src.data.data() + (std::size_t(c) * src.height + top + y) * src.width + left;
      std::copy(s, s + width, out.data.data() + (std::size_t(c) * height + y) * width);
    }
  return out;
}

}  // namespace tspike::detail
