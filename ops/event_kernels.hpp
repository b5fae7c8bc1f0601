// SPDX-License-Identifier: Apache-2.0
// The interface of the event-driven kernels, one table per instruction set
// (conv_event_portable.cpp, conv_event_avx2.cpp, conv_event_avx512.cpp;
// the shared code is event_kernels.inl). Plain structs and function
// pointers only: the per-ISA files include nothing else of tspike's.
#pragma once

#include <cstdint>

#include "ops/cpu_features.hpp"

namespace tspike::ops {

// Weight rows (one per input channel or feature and tap) are padded to this
// many floats: one AVX-512 vector, two AVX2 vectors, 64 bytes.
constexpr int64_t kEventRowPad = 16;

// What the kernels see of one Conv, for one sample. The weights are packed
// in output-channel tiles (ops/event_tiling.hpp):
// [group][tile][kh][kw][cg][tw], the last tile of a group padded to tw with
// zeros; the bias is [group][mgp].
struct EventConvShape {
  int64_t c, h, w;            // input channels, height, width
  int64_t m, groups, cg, mg;  // output channels, groups, C/groups, M/groups
  int64_t mgp;                // mg padded to kEventRowPad
  int64_t kh, kw, sh, sw, dh, dw, pad_top, pad_left, oh, ow;
  int64_t tw, tiles;   // tile width (a multiple of kEventRowPad) and tiles per group
  int64_t chunk_taps;  // taps (of kh * kw) per pass over a band
  bool half_weights;   // the weights are IEEE half floats (uint16_t), else float
};

struct EventBand;

// The compact spike map of one sample. Slot s = pixel * groups + group has
// cg entries: plus[s] +1 events from the front, minus[s] -1 events from the
// back; an entry is (input channel within the group) * tw, the event's row
// offset within a tile. `entries` has kEventListSlack entries more than the
// slots need.
struct SpikeMap {
  uint32_t* entries;
  uint32_t* plus;
  uint32_t* minus;
};

// One instruction set's kernels (uniform signatures; see the .cpp files).
struct EventConvKernels {
  Isa isa;
  // Compacts input rows [y0, y1) of one sample's NCHW input `x` into `map`
  // (those rows' slots only). Returns the number of events; sets *bad when a
  // value is not -1, 0 or +1.
  int64_t (*compact)(const EventConvShape& s, const float* x, const SpikeMap& map, int64_t y0, int64_t y1,
                     bool* bad);
  // The number of -1 and +1 among x[0, n) (the auto engine's density).
  int64_t (*count)(const float* x, int64_t n);
  // Output rows [oy0, oy1) and tiles [tile0, tile1) of every group, of one
  // sample: y (NCHW) = bias + events x weights. For each output, the sum
  // starts at the bias, then for each tap (ky, then kx) adds the rows of its
  // +1 events (input channels ascending) and subtracts those of its -1
  // events (descending): the same steps whatever the tiles, chunks of taps,
  // bands and threads.
  // `band`: the calling thread's own.
  // `weights`: float, or uint16_t half floats (s.half_weights).
  void (*accumulate)(const EventConvShape& s, const void* weights, const float* bias, const SpikeMap& map,
                     float* y, int64_t oy0, int64_t oy1, int64_t tile0, int64_t tile1, const EventBand& band);
};

// IEEE half floats (binary16), for weights stored in 16 bits
// (LoadOptions / the model's tspike.weights = fp16): the same values the
// CPU's F16C conversion gives. float_to_half rounds to nearest, ties to
// even; a magnitude beyond 65504 becomes infinity (the loader refuses it).
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    uint32_t e = 113, m = man;
    while (!(m & 0x400u)) m <<= 1, --e;
    bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t float_to_half(float f) {
  uint32_t x;
  __builtin_memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds beyond 65504
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t exp = abs >> 23, man = (abs & 0x7fffffu) | 0x800000u, shift = 126 - exp;  // 14..24
    uint32_t h = man >> shift;
    const uint32_t rest = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);  // rebias the exponent, keep 10 bits
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: still right
  return static_cast<uint16_t>(sign | h);
}

// Output pixels per transposing store, the most of any instruction set.
constexpr int64_t kEventPixBlock = 16;
// Slack after SpikeMap::entries and the per-pixel lists: the kernels copy
// lists 16 entries at a time.
constexpr int64_t kEventListSlack = 16;

// A thread's scratch for accumulate(): the event lists of a band of output
// pixels, gathered once and walked once per tile and chunk of taps. Pixel p
// of the band (in band order) has pixels[p * (1 + 2 * taps)] (where its
// lists start in `entries`), then per tap its +1 and -1 events.
struct EventBand {
  uint32_t* entries;
  int64_t capacity;  // entries, at least event_band_min_capacity(s); kEventListSlack more allocated
  uint32_t* pixels;  // max_pixels x (1 + 2 * s.kh * s.kw)
  int64_t max_pixels;
  float* tile;     // kEventPixBlock * s.tw floats, 64-byte aligned: one tile of sums per pixel block
  float* partial;  // max_pixels * s.tw floats: the sums between chunks of taps
};
// A band holds at least one pixel with every row an event.
inline int64_t event_band_min_capacity(const EventConvShape& s) {
  return s.kh * s.kw * s.cg + kEventListSlack;
}
const EventConvKernels& event_conv_kernels_portable();
const EventConvKernels& event_conv_kernels_avx2();
const EventConvKernels& event_conv_kernels_avx512();
// The kernels of `isa` (which the CPU must run).
const EventConvKernels& event_conv_kernels(Isa isa);

struct EventGemmShape {
  int64_t rows, k, n;  // A is [rows, k], B [k, n]
  int64_t np;          // n padded to kEventRowPad: the length of a weight row
};

struct EventGemmKernels {
  // Compacts rows [r0, r1) of A into map (slot r: k entries, counts plus[r],
  // minus[r]); returns the events, sets *bad on a value not in {-1, 0, +1}.
  int64_t (*compact)(const EventGemmShape& s, const float* a, const SpikeMap& map, int64_t r0, int64_t r1,
                     bool* bad);
  // y[r, j] = sum over the events of row r of +-weights[f, j], rows [r0, r1).
  void (*accumulate)(const EventGemmShape& s, const float* weights, const SpikeMap& map, float* y, int64_t r0,
                     int64_t r1);
};
const EventGemmKernels& event_gemm_kernels_portable();
const EventGemmKernels& event_gemm_kernels_avx2();
const EventGemmKernels& event_gemm_kernels_avx512();
const EventGemmKernels& event_gemm_kernels(Isa isa);

}  // namespace tspike::ops
