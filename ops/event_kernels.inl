// The event-driven kernels, written once over a vector type; included by
// each instruction set's source file (conv_event_portable.cpp,
// conv_event_avx2.cpp, conv_event_avx512.cpp) inside its own namespace,
// after it defines:
//   struct V { using T; static constexpr int W;  // lanes
//              static T zero(); static T load(const float*); static T add(T, T);
//              static T sub(T, T); static void store(float*, T); };
//   constexpr int64_t kPixBlock;  // output pixels per transposing store, <= kEventPixBlock
//   void store_transposed(const float* tmp, int64_t tmp_stride, int64_t npx, int64_t nch,
//                         float* out, int64_t out_stride);
//       // out[ch * out_stride + px] = tmp[px * tmp_stride + ch], px < npx <= kPixBlock,
//       // ch < nch; tmp_stride a multiple of 16
//   bool classify(const float* p, int64_t n, uint32_t* plus, uint32_t* minus);
//       // n <= V::W values: bit i of *plus / *minus = p[i] is +1 / -1;
//       // returns false when some p[i] is neither 0, +1 nor -1
//   void copy_offsets(uint32_t* dst, const uint32_t* src, uint32_t count, uint32_t add);
//       // dst[i] = src[i] + add, i < count; may read and write up to 16
//       // entries more (the lists have kEventListSlack entries of slack)
// Only plain C++ and the ISA's intrinsics here: no standard-library
// templates, whose out-of-line copies could be shared with other ISAs'
// files by the linker.

// Output channels per register block: kBlockVectors accumulators (set by the
// ISA's file: as many as its registers hold besides a few temporaries).
constexpr int64_t kBlock = kBlockVectors * V::W;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Accumulators of NV vectors: acc += (or -=) the rows of a list of events.
template <int NV>
struct Acc {
  typename V::T v[NV];
  void load(const float* p) {
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) v[k] = V::load(p + k * V::W);
  }
  void store(float* p) const {
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) V::store(p + k * V::W, v[k]);
  }
  // rows + list[i]: the weight rows of the events (offsets in floats).
  void add(const float* rows, const uint32_t* list, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      const float* r = rows + list[i];
#pragma GCC unroll 16
      for (int k = 0; k < NV; ++k) v[k] = V::add(v[k], V::load(r + k * V::W));
    }
  }
  void sub(const float* rows, const uint32_t* list, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      const float* r = rows + list[i];
#pragma GCC unroll 16
      for (int k = 0; k < NV; ++k) v[k] = V::sub(v[k], V::load(r + k * V::W));
    }
  }
};

// Taps [k0, k1) whose input row (or column) o * stride - pad + k * dilation
// lies in [0, size).
inline void tap_range(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t taps, int64_t size,
                      int64_t* k0, int64_t* k1) {
  const int64_t first = o * stride - pad;  // input index of tap 0
  *k0 = first >= 0 ? 0 : (-first + dilation - 1) / dilation;
  *k1 = first >= size ? 0 : (size - 1 - first) / dilation + 1;
  if (*k1 > taps) *k1 = taps;
  if (*k0 > *k1) *k0 = *k1;
}

// One output pixel, one block of NV vectors of output channels:
// dst = bias + rows of plus - rows of minus.
template <int NV>
void conv_block(const float* rows, const float* bias, const uint32_t* plus, uint32_t np, const uint32_t* minus,
                uint32_t nm, float* dst) {
  Acc<NV> acc;
  acc.load(bias);
  acc.add(rows, plus, np);
  acc.sub(rows, minus, nm);
  acc.store(dst);
}

using ConvBlockFn = void (*)(const float*, const float*, const uint32_t*, uint32_t, const uint32_t*, uint32_t, float*);
// conv_block<NV> for NV = 0..kBlockVectors (0: unused).
template <int... NV>
constexpr ConvBlockFn conv_block_for(int nv) {
  ConvBlockFn table[] = {nullptr, conv_block<NV>...};
  return table[nv];
}

// Per output pixel: gather the events under every tap into one list per
// sign (offsets from the group's weights), so that the accumulation has two
// loops per pixel rather than two per tap; then each block of output
// channels walks the lists with its accumulators in registers.
void conv_accumulate(const EventConvShape& s, const float* weights, const float* bias, const SpikeMap& map, float* y,
                     int64_t oy0, int64_t oy1, uint32_t* lists, float* tile) {
  // Locals: the list stores below may alias anything, so fields would be
  // reloaded from memory after each of them.
  const int64_t w = s.w, groups = s.groups, cg = s.cg, mg = s.mg, mgp = s.mgp, kw = s.kw, ow = s.ow;
  const int64_t sw = s.sw, dw = s.dw, pad_left = s.pad_left, sh = s.sh, dh = s.dh, pad_top = s.pad_top;
  const uint32_t* const entries = map.entries;
  const uint32_t* const plus_count = map.plus;
  const uint32_t* const minus_count = map.minus;
  uint32_t* const plus = lists;
  uint32_t* const minus = lists + event_conv_list_capacity(s);
  float* const tmp = tile;  // [kPixBlock][mgp]
  const int64_t plane = s.oh * ow, group_weights = s.kh * kw * cg * mgp;
  const uint32_t tap_rows = static_cast<uint32_t>(cg * mgp);
  const int64_t full_blocks = mgp / kBlock * kBlock;
  const ConvBlockFn tail = conv_block_for<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>((mgp - full_blocks) / V::W);
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    int64_t ky0, ky1;
    tap_range(oy, sh, pad_top, dh, s.kh, s.h, &ky0, &ky1);
    for (int64_t ox0 = 0; ox0 < ow; ox0 += kPixBlock) {
      const int64_t npx = min64(kPixBlock, ow - ox0);
      for (int64_t gi = 0; gi < groups; ++gi) {
        const float* wg = weights + gi * group_weights;
        const float* bg = bias + gi * mgp;
        for (int64_t px = 0; px < npx; ++px) {
          const int64_t ox = ox0 + px;
          int64_t kx0, kx1;
          tap_range(ox, sw, pad_left, dw, kw, w, &kx0, &kx1);
          uint32_t np = 0, nm = 0;
          for (int64_t ky = ky0; ky < ky1; ++ky) {
            const int64_t iy = oy * sh - pad_top + ky * dh;
            int64_t slot = (iy * w + ox * sw - pad_left + kx0 * dw) * groups + gi;
            uint32_t base = static_cast<uint32_t>(ky * kw + kx0) * tap_rows;
            for (int64_t kx = kx0; kx < kx1; ++kx, slot += dw * groups, base += tap_rows) {
              const uint32_t* list = entries + slot * cg;
              const uint32_t sp = plus_count[slot], sm = minus_count[slot];
              copy_offsets(plus + np, list, sp, base);
              copy_offsets(minus + nm, list + cg - sm, sm, base);
              np += sp;
              nm += sm;
            }
          }
          float* dst = tmp + px * mgp;
          for (int64_t cb = 0; cb < full_blocks; cb += kBlock) conv_block<kBlockVectors>(wg + cb, bg + cb, plus, np, minus, nm, dst + cb);
          if (full_blocks < mgp) tail(wg + full_blocks, bg + full_blocks, plus, np, minus, nm, dst + full_blocks);
        }
        store_transposed(tmp, mgp, npx, mg, y + gi * mg * plane + oy * ow + ox0, plane);
      }
    }
  }
}

int64_t conv_compact(const EventConvShape& s, const float* x, const SpikeMap& map, int64_t y0, int64_t y1,
                     bool* bad) {
  const int64_t plane = s.h * s.w, p0 = y0 * s.w, p1 = y1 * s.w;
  for (int64_t k = p0 * s.groups; k < p1 * s.groups; ++k) map.plus[k] = map.minus[k] = 0;
  int64_t events = 0;
  // Tiles of 128 pixels, every channel: the slots written stay in L1.
  for (int64_t t0 = p0; t0 < p1; t0 += 128) {
    const int64_t t1 = min64(t0 + 128, p1);
    for (int64_t c = 0; c < s.c; ++c) {
      const int64_t gi = c / s.cg;
      const uint32_t offset = static_cast<uint32_t>((c - gi * s.cg) * s.mgp);
      const float* xc = x + c * plane;
      for (int64_t p = t0; p < t1; p += V::W) {
        uint32_t plus, minus;
        if (!classify(xc + p, min64(V::W, t1 - p), &plus, &minus)) *bad = true;
        if ((plus | minus) == 0) continue;
        events += __builtin_popcount(plus | minus);
        while (plus) {
          const int64_t slot = (p + __builtin_ctz(plus)) * s.groups + gi;
          plus &= plus - 1;
          map.entries[slot * s.cg + map.plus[slot]++] = offset;
        }
        while (minus) {
          const int64_t slot = (p + __builtin_ctz(minus)) * s.groups + gi;
          minus &= minus - 1;
          map.entries[slot * s.cg + s.cg - 1 - map.minus[slot]++] = offset;
        }
      }
    }
  }
  return events;
}

int64_t count_spikes(const float* x, int64_t n) {
  int64_t events = 0;
  for (int64_t k = 0; k < n; k += V::W) {
    uint32_t plus, minus;
    classify(x + k, min64(V::W, n - k), &plus, &minus);
    events += __builtin_popcount(plus | minus);
  }
  return events;
}

// Gemm / MatMul: row r of A [rows, k] -> entries r*k.. (plus from the
// front, minus from the back, offsets f * np); y[r, 0..n) = raw sums.
int64_t gemm_compact(const EventGemmShape& s, const float* a, const SpikeMap& map, int64_t r0, int64_t r1,
                     bool* bad) {
  int64_t events = 0;
  for (int64_t r = r0; r < r1; ++r) {
    uint32_t* list = map.entries + r * s.k;
    uint32_t np = 0, nm = 0;
    for (int64_t f = 0; f < s.k; f += V::W) {
      uint32_t plus, minus;
      if (!classify(a + r * s.k + f, min64(V::W, s.k - f), &plus, &minus)) *bad = true;
      while (plus) {
        list[np++] = static_cast<uint32_t>((f + __builtin_ctz(plus)) * s.np);
        plus &= plus - 1;
      }
      while (minus) {
        list[s.k - 1 - nm++] = static_cast<uint32_t>((f + __builtin_ctz(minus)) * s.np);
        minus &= minus - 1;
      }
    }
    map.plus[r] = np;
    map.minus[r] = nm;
    events += np + nm;
  }
  return events;
}

template <int NV>
inline void gemm_block(const float* w, const uint32_t* list, uint32_t np, const uint32_t* minus_list, uint32_t nm,
                       float* dst) {
  Acc<NV> acc;
  for (int k = 0; k < NV; ++k) acc.v[k] = V::zero();
  acc.add(w, list, np);
  acc.sub(w, minus_list, nm);
  acc.store(dst);
}

using GemmBlockFn = void (*)(const float*, const uint32_t*, uint32_t, const uint32_t*, uint32_t, float*);
template <int... NV>
constexpr GemmBlockFn gemm_block_for(int nv) {
  GemmBlockFn table[] = {nullptr, gemm_block<NV>...};
  return table[nv];
}

void gemm_accumulate(const EventGemmShape& s, const float* weights, const SpikeMap& map, float* y, int64_t r0,
                     int64_t r1) {
  alignas(64) float tmp[kBlock];
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t* list = map.entries + r * s.k;
    const uint32_t np = map.plus[r], nm = map.minus[r];
    for (int64_t cb = 0; cb < s.n; cb += kBlock) {
      gemm_block_for<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>(min64(kBlock, s.np - cb) / V::W)(
          weights + cb, list, np, list + s.k - nm, nm, tmp);
      const int64_t count = min64(kBlock, s.n - cb);
      for (int64_t j = 0; j < count; ++j) y[r * s.n + cb + j] = tmp[j];
    }
  }
}
