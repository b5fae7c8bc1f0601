// SPDX-License-Identifier: Apache-2.0
// Portable event kernels (Conv and Gemm/MatMul): plain C++ for any CPU,
// compiled with the library's own flags. Vectors of 8 floats as arrays (the
// compiler may map them onto SSE2). The kernels themselves are
// event_kernels.inl.
#include "ops/event_kernels.hpp"

namespace tspike::ops {
namespace {

struct V {
  struct T {
    float f[8];
  };
  static constexpr int W = 8;
  static T zero() { return T{}; }
  static T load(const float* p) {
    T t;
    for (int i = 0; i < W; ++i) t.f[i] = p[i];
    return t;
  }
  static T load(const uint16_t* p) {
    T t;
    for (int i = 0; i < W; ++i) t.f[i] = half_to_float(p[i]);
    return t;
  }
  static T add(T a, T b) {
    for (int i = 0; i < W; ++i) a.f[i] += b.f[i];
    return a;
  }
  static T sub(T a, T b) {
    for (int i = 0; i < W; ++i) a.f[i] -= b.f[i];
    return a;
  }
  static void store(float* p, T v) {
    for (int i = 0; i < W; ++i) p[i] = v.f[i];
  }
};

constexpr int kBlockVectors = 8;
constexpr int64_t kPixBlock = 8;

bool classify(const float* p, int64_t n, uint32_t* plus, uint32_t* minus) {
  uint32_t pos = 0, neg = 0;
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) {
    const float v = p[i];
    if (v == 0.0f) continue;
    if (v == 1.0f)
      pos |= 1u << i;
    else if (v == -1.0f)
      neg |= 1u << i;
    else
      ok = false;  // also NaN
  }
  *plus = pos;
  *minus = neg;
  return ok;
}

void copy_offsets(uint32_t* dst, const uint32_t* src, uint32_t count, uint32_t add) {
  for (uint32_t i = 0; i < count; ++i) dst[i] = src[i] + add;
}

void store_transposed(const float* tmp, int64_t tmp_stride, int64_t npx, int64_t nch, float* out,
                      int64_t out_stride) {
  for (int64_t c = 0; c < nch; ++c)
    for (int64_t px = 0; px < npx; ++px) out[c * out_stride + px] = tmp[px * tmp_stride + c];
}

#include "ops/event_kernels.inl"

}  // namespace

const EventConvKernels& event_conv_kernels_portable() {
  static const EventConvKernels k{Isa::kPortable, conv_compact, count_spikes, conv_accumulate};
  return k;
}

const EventGemmKernels& event_gemm_kernels_portable() {
  static const EventGemmKernels k{gemm_compact, gemm_accumulate};
  return k;
}

}  // namespace tspike::ops
