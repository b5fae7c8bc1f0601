// SPDX-License-Identifier: Apache-2.0
// AVX-512 event kernels (Conv and Gemm/MatMul). Compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl (+ the AVX2 set) and only called
// when cpu_isa() says avx512. The kernels themselves are event_kernels.inl.
//
// GCC 12 warns about the deliberately undefined first operand inside its own
// AVX-512 intrinsics (_mm512_undefined_ps); the warning is not about this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "ops/event_kernels.hpp"

namespace tspike::ops {
namespace {

struct V {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
};

// 16 zmm accumulators (of 32 registers): up to 256 output channels per walk
// of the event lists.
constexpr int kBlockVectors = 16;
constexpr int64_t kPixBlock = 16;

inline __mmask16 lanes(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

bool classify(const float* p, int64_t n, uint32_t* plus, uint32_t* minus) {
  const __m512 v = _mm512_maskz_loadu_ps(lanes(n), p);
  const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);
  const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_set1_ps(-1.0f), _CMP_EQ_OQ);
  const __mmask16 nonzero = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);  // NaN counts
  // Both masks pass through a general register as 32-bit values: in a
  // caller that kept one live across its loops (an earlier kernel),
  // GCC 12 spilled the mask register with a 16-bit store and reloaded it
  // with a 32-bit load, garbage in the upper half (events far out of the map).
  uint32_t p32 = pos, m32 = neg;
  __asm__("" : "+r"(p32), "+r"(m32));
  *plus = p32;
  *minus = m32;
  return static_cast<__mmask16>(pos | neg) == nonzero;
}

inline void copy_offsets(uint32_t* dst, const uint32_t* src, uint32_t count, uint32_t add) {
  const __m512i a = _mm512_set1_epi32(static_cast<int>(add));
  uint32_t i = 0;
  do {  // one step for up to 16 events, without a branch on the count
    _mm512_storeu_si512(dst + i, _mm512_add_epi32(_mm512_loadu_si512(src + i), a));
    i += 16;
  } while (i < count);
}

// 16 x 16 transpose in registers: r[i] = 16 channels of pixel i becomes
// r[j] = 16 pixels of channel j.
inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // u[4i + k] holds, in 128-bit lane L, column 4L + k of rows 4i..4i+3.
  for (int k = 0; k < 4; ++k) {
    const __m512 x0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88),
                 x1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
    const __m512 y0 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 y1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
    r[k] = _mm512_shuffle_f32x4(x0, y0, 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(x0, y0, 0xdd);
    r[4 + k] = _mm512_shuffle_f32x4(x1, y1, 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(x1, y1, 0xdd);
  }
}

void store_transposed(const float* tmp, int64_t tmp_stride, int64_t npx, int64_t nch, float* out,
                      int64_t out_stride) {
  const __mmask16 mask = lanes(npx);
  for (int64_t c0 = 0; c0 < nch; c0 += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(tmp + i * tmp_stride + c0);
    transpose16(r);
    const int64_t count = nch - c0 < 16 ? nch - c0 : 16;
    for (int64_t j = 0; j < count; ++j) _mm512_mask_storeu_ps(out + (c0 + j) * out_stride, mask, r[j]);
  }
}

#include "ops/event_kernels.inl"

}  // namespace

const EventConvKernels& event_conv_kernels_avx512() {
  static const EventConvKernels k{Isa::kAvx512, conv_compact, count_spikes, conv_accumulate};
  return k;
}

const EventGemmKernels& event_gemm_kernels_avx512() {
  static const EventGemmKernels k{gemm_compact, gemm_accumulate};
  return k;
}

}  // namespace tspike::ops
