// SPDX-License-Identifier: Apache-2.0
// The register-only fp32 add loop, and the same adds with one operand
// loaded from a weight row, compiled once per instruction set
// (peak_add_avx512.cpp, peak_add_avx2.cpp, peak_add_portable.cpp define
// PEAK_ADD_NAME, PEAK_ROW_ADD_NAME and PEAK_ADD_BYTES). 16 independent
// accumulators cover the add latency x throughput of current cores;
// without -ffast-math the compiler must do every add.
#include <cstdint>

namespace tspike::bench {

typedef float PeakVec __attribute__((vector_size(PEAK_ADD_BYTES)));

int64_t PEAK_ADD_NAME(int64_t iterations) {
  constexpr int kLanes = PEAK_ADD_BYTES / 4;
  PeakVec inc;
  for (int l = 0; l < kLanes; ++l) inc[l] = 1e-7f * static_cast<float>(l + 1);
  // Named accumulators, not an array, so that they live in registers.
  PeakVec a0 = inc, a1 = inc * 2, a2 = inc * 3, a3 = inc * 4, a4 = inc * 5, a5 = inc * 6, a6 = inc * 7,
          a7 = inc * 8, a8 = inc * 9, a9 = inc * 10, a10 = inc * 11, a11 = inc * 12, a12 = inc * 13,
          a13 = inc * 14, a14 = inc * 15, a15 = inc * 16;
  for (int64_t it = 0; it < iterations; ++it) {
    a0 += inc, a1 += inc, a2 += inc, a3 += inc, a4 += inc, a5 += inc, a6 += inc, a7 += inc;
    a8 += inc, a9 += inc, a10 += inc, a11 += inc, a12 += inc, a13 += inc, a14 += inc, a15 += inc;
  }
  PeakVec sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) +
                ((a12 + a13) + (a14 + a15));
  volatile float sink = sum[0];
  (void)sink;
  return iterations * 16 * kLanes;
}

// The event kernels' inner loop without their bookkeeping: for each entry
// of `offsets` (row starts in floats, multiples of the row length), add
// that row to accumulators held in registers. Rows of 128 floats with
// AVX-512 and AVX2 (ResNet-19's 128 output channels: 8 and 16 vectors),
// 64 with 128-bit vectors (16 registers). Returns the adds done.
int64_t PEAK_ROW_ADD_NAME(const float* rows, const uint32_t* offsets, int64_t count, int64_t passes) {
  constexpr int kLanes = PEAK_ADD_BYTES / 4;
  constexpr int kVecs = PEAK_ADD_BYTES == 64 ? 8 : 16;
  PeakVec a[kVecs];
  for (int k = 0; k < kVecs; ++k)
    for (int l = 0; l < kLanes; ++l) a[k][l] = 0.0f;
  for (int64_t p = 0; p < passes; ++p)
    for (int64_t i = 0; i < count; ++i) {
      const PeakVec* r = reinterpret_cast<const PeakVec*>(rows + offsets[i]);
#pragma GCC unroll 16
      for (int k = 0; k < kVecs; ++k) a[k] += r[k];
    }
  PeakVec sum = a[0];
  for (int k = 1; k < kVecs; ++k) sum += a[k];
  volatile float sink = sum[0];
  (void)sink;
  return passes * count * kVecs * kLanes;
}

}  // namespace tspike::bench
