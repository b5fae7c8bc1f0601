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

// What the kernels see of one Conv, for one sample.
struct EventConvShape {
  int64_t c, h, w;            // input channels, height, width
  int64_t m, groups, cg, mg;  // output channels, groups, C/groups, M/groups
  int64_t mgp;                // mg padded to kEventRowPad: the length of a weight row
  int64_t kh, kw, sh, sw, dh, dw, pad_top, pad_left, oh, ow;
};

// The compact spike map of one sample. Slot s = pixel * groups + group has
// cg entries: plus[s] +1 events from the front, minus[s] -1 events from the
// back; an entry is (input channel within the group) * mgp. `entries` has
// kEventListSlack entries more than the slots need.
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
  // Output rows [oy0, oy1) of one sample: y (NCHW) = bias + events x weights.
  // `lists` (2 * event_conv_list_capacity(s) entries) and `tile`
  // (kEventPixBlock * s.mgp floats, 64-byte aligned): the calling thread's own.
  void (*accumulate)(const EventConvShape& s, const float* weights, const float* bias, const SpikeMap& map, float* y,
                     int64_t oy0, int64_t oy1, uint32_t* lists, float* tile);
};

// Output pixels per transposing store, the most of any instruction set.
constexpr int64_t kEventPixBlock = 16;
// Slack after SpikeMap::entries and the per-pixel lists: the kernels copy
// lists 16 entries at a time.
constexpr int64_t kEventListSlack = 16;

// Per-thread lists of accumulate(): the +1 (and, as many again, the -1)
// events of one output pixel under every tap.
inline int64_t event_conv_list_capacity(const EventConvShape& s) {
  return (s.kh * s.kw * s.cg + 2 * kEventListSlack + 15) / 16 * 16;
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
