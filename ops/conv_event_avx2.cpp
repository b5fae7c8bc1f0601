// SPDX-License-Identifier: Apache-2.0
// AVX2 event kernels (Conv and Gemm/MatMul). Compiled with -mavx2 -mfma -mbmi
// -mbmi2 -mpopcnt and only called when cpu_isa() says avx2 or better. The
// kernels themselves are event_kernels.inl.
#include <immintrin.h>

#include "ops/event_kernels.hpp"

namespace tspike::ops {
namespace {

struct V {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
};

// 16 ymm accumulators (all 16 registers; the adds take the weights from
// memory): 128 output channels per walk of the event lists.
constexpr int kBlockVectors = 16;
constexpr int64_t kPixBlock = 8;

bool classify(const float* p, int64_t n, uint32_t* plus, uint32_t* minus) {
  if (n < 8) {  // the tail of a row: one value at a time
    uint32_t pos = 0, neg = 0;
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) {
      const float v = p[i];
      if (v == 1.0f)
        pos |= 1u << i;
      else if (v == -1.0f)
        neg |= 1u << i;
      else if (v != 0.0f)
        ok = false;
    }
    *plus = pos;
    *minus = neg;
    return ok;
  }
  const __m256 v = _mm256_loadu_ps(p);
  const uint32_t pos = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(1.0f), _CMP_EQ_OQ));
  const uint32_t neg = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(-1.0f), _CMP_EQ_OQ));
  const uint32_t nonzero = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ));
  *plus = pos;
  *minus = neg;
  return (pos | neg) == nonzero;
}

inline void copy_offsets(uint32_t* dst, const uint32_t* src, uint32_t count, uint32_t add) {
  const __m256i a = _mm256_set1_epi32(static_cast<int>(add));
  uint32_t i = 0;
  do {  // one step for up to 16 events, without a branch on the count
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_add_epi32(lo, a));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 8), _mm256_add_epi32(hi, a));
    i += 16;
  } while (i < count);
}

// 8 x 8 transpose in registers: r[i] = 8 channels of pixel i becomes
// r[j] = 8 pixels of channel j.
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
    r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
  }
}

void store_transposed(const float* tmp, int64_t tmp_stride, int64_t npx, int64_t nch, float* out,
                      int64_t out_stride) {
  const __m256i mask =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(npx)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t c0 = 0; c0 < nch; c0 += 8) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(tmp + i * tmp_stride + c0);
    transpose8(r);
    const int64_t count = nch - c0 < 8 ? nch - c0 : 8;
    if (npx == 8)
      for (int64_t j = 0; j < count; ++j) _mm256_storeu_ps(out + (c0 + j) * out_stride, r[j]);
    else
      for (int64_t j = 0; j < count; ++j) _mm256_maskstore_ps(out + (c0 + j) * out_stride, mask, r[j]);
  }
}

#include "ops/event_kernels.inl"

}  // namespace

const EventConvKernels& event_conv_kernels_avx2() {
  static const EventConvKernels k{Isa::kAvx2, conv_compact, count_spikes, conv_accumulate};
  return k;
}

const EventGemmKernels& event_gemm_kernels_avx2() {
  static const EventGemmKernels k{gemm_compact, gemm_accumulate};
  return k;
}

}  // namespace tspike::ops
