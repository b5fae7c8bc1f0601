// SPDX-License-Identifier: Apache-2.0
// The event-driven kernels, written once over a vector type; included by
// each instruction set's source file (conv_event_portable.cpp,
// conv_event_avx2.cpp, conv_event_avx512.cpp) inside its own namespace,
// after it defines:
//   struct V { using T; static constexpr int W;  // lanes
//              static T zero(); static T load(const float*); static T add(T, T);
//              static T load(const uint16_t*);  // W IEEE half floats, widened
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
  // rows + list[i]: the weight rows of the events (offsets in weights of
  // type Wt: float, or uint16_t for half floats).
  template <typename Wt>
  void add(const Wt* rows, const uint32_t* list, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      const Wt* r = rows + list[i];
#pragma GCC unroll 16
      for (int k = 0; k < NV; ++k) v[k] = V::add(v[k], V::load(r + k * V::W));
    }
  }
  template <typename Wt>
  void sub(const Wt* rows, const uint32_t* list, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      const Wt* r = rows + list[i];
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

// One output pixel, one tile of NV vectors of output channels, taps
// [0, taps) of a chunk: dst = init + for each tap, the rows of its +1
// events - the rows of its -1 events. `counts`: per tap, the +1 then the -1
// events; `list`: their rows, in that order.
template <typename Wt, int NV>
void conv_taps(const Wt* rows, const float* init, const uint32_t* list, const uint32_t* counts, int64_t taps,
               float* dst) {
  Acc<NV> acc;
  acc.load(init);
  for (int64_t t = 0; t < taps; ++t) {
    const uint32_t np = counts[2 * t], nm = counts[2 * t + 1];
    acc.add(rows, list, np);
    acc.sub(rows, list + np, nm);
    list += np + nm;
  }
  acc.store(dst);
}

template <typename Wt>
using ConvTapsFn = void (*)(const Wt*, const float*, const uint32_t*, const uint32_t*, int64_t, float*);
// conv_taps<Wt, NV> for NV = 1..16 (0: unused).
template <typename Wt, int... NV>
constexpr ConvTapsFn<Wt> conv_taps_for(int nv) {
  ConvTapsFn<Wt> table[] = {nullptr, conv_taps<Wt, NV>...};
  return table[nv];
}

// The event lists of output pixel (oy, ox), group gi, tap by tap (ky, then
// kx; a tap outside the input has none): the rows of its +1 events (the
// slot's order), then of its -1 events, at `out`; counts[2 * tap] and
// counts[2 * tap + 1] get how many. Row offsets within a tile's slab.
// Returns the entries written; may write kEventListSlack entries more.
inline uint32_t gather_pixel(const EventConvShape& s, const SpikeMap& map, int64_t oy, int64_t ox, int64_t gi,
                             uint32_t* out, uint32_t* counts) {
  // Locals: the list stores (vector stores, which may alias anything) would
  // make fields reload after each of them.
  const int64_t w = s.w, groups = s.groups, cg = s.cg, kh = s.kh, kw = s.kw, dw = s.dw, sh = s.sh, dh = s.dh;
  const int64_t sw = s.sw, pad_top = s.pad_top, pad_left = s.pad_left;
  int64_t ky0, ky1, kx0, kx1;
  tap_range(oy, sh, pad_top, dh, kh, s.h, &ky0, &ky1);
  tap_range(ox, sw, pad_left, dw, kw, w, &kx0, &kx1);
  const uint32_t tap_rows = static_cast<uint32_t>(cg * s.tw);
  const uint32_t* const entries = map.entries;
  const uint32_t* const plus_count = map.plus;
  const uint32_t* const minus_count = map.minus;
  for (int64_t k = 0; k < 2 * kh * kw; ++k) counts[k] = 0;
  uint32_t n = 0;
  for (int64_t ky = ky0; ky < ky1; ++ky) {
    const int64_t iy = oy * sh - pad_top + ky * dh;
    int64_t slot = (iy * w + ox * sw - pad_left + kx0 * dw) * groups + gi;
    uint32_t base = static_cast<uint32_t>(ky * kw + kx0) * tap_rows;
    for (int64_t kx = kx0; kx < kx1; ++kx, slot += dw * groups, base += tap_rows) {
      const uint32_t np = plus_count[slot], nm = minus_count[slot];
      const uint32_t* list = entries + slot * cg;
      copy_offsets(out + n, list, np, base);
      copy_offsets(out + n + np, list + cg - nm, nm, base);
      counts[2 * (ky * kw + kx)] = np;
      counts[2 * (ky * kw + kx) + 1] = nm;
      n += np + nm;
    }
  }
  return n;
}

// Bands of output pixels (as many as their lists' worst case leaves room
// for): the band's event lists are gathered once (gather_pixel), then for
// each tile, for each chunk of taps, every pixel of the band walks its
// events of those taps with its accumulators in registers, starting from
// the bias (first chunk) or its partial sums (kept in band.partial), and
// the last chunk stores each block of pixels transposed to NCHW. One slab
// of rows (a tile's rows of a chunk of taps) is reused by every pixel of
// the band while it stays in cache. The sums go through the same steps in
// the same order whatever the tiles, chunks, bands and threads.
template <typename Wt>
void conv_accumulate_rows(const EventConvShape& s, const Wt* weights, const float* bias, const SpikeMap& map,
                          float* y, int64_t oy0, int64_t oy1, int64_t tile0, int64_t tile1,
                          const EventBand& band) {
  const int64_t ow = s.ow, tw = s.tw, mg = s.mg, mgp = s.mgp, plane = s.oh * ow, groups = s.groups;
  const int64_t taps = s.kh * s.kw, chunk = s.chunk_taps, stride = 1 + 2 * taps;
  const int64_t tiles = s.tiles, slab = taps * s.cg * tw, pixel_worst = taps * s.cg;
  uint32_t* const pixels = band.pixels;  // per pixel: start, then the counts of every tap
  uint32_t* const entries = band.entries;
  const int64_t capacity = band.capacity, max_pixels = band.max_pixels;
  float* const tmp = band.tile;         // [kPixBlock][tw]
  float* const partial = band.partial;  // [max_pixels][tw]
  for (int64_t gi = 0; gi < groups; ++gi) {
    int64_t oy = oy0, ox = 0;  // the next pixel to gather
    while (oy < oy1) {
      const int64_t band_y = oy, band_x = ox;
      int64_t count = 0, used = 0;
      while (oy < oy1 && used + pixel_worst + kEventListSlack <= capacity && count < max_pixels) {
        uint32_t* index = pixels + count * stride;
        index[0] = static_cast<uint32_t>(used);
        used += gather_pixel(s, map, oy, ox, gi, entries + used, index + 1);
        ++count;
        if (++ox == ow) ox = 0, ++oy;
      }
      for (int64_t t = tile0; t < tile1; ++t) {
        const Wt* rows = weights + (gi * tiles + t) * slab;
        const float* b = bias + gi * mgp + t * tw;
        const int64_t width = min64(tw, mgp - t * tw), channels = min64(tw, mg - t * tw);
        const ConvTapsFn<Wt> walk = conv_taps_for<Wt, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>(
            static_cast<int>(width / V::W));
        float* const y_tile = y + (gi * mg + t * tw) * plane;
        for (int64_t tap0 = 0; tap0 < taps; tap0 += chunk) {
          const int64_t n_taps = min64(chunk, taps - tap0);
          const bool first = tap0 == 0, last = tap0 + n_taps == taps;
          int64_t cy = band_y, cx = band_x;
          for (int64_t p = 0; p < count;) {
            const int64_t npx = min64(min64(kPixBlock, ow - cx), count - p);
            for (int64_t px = 0; px < npx; ++px) {
              const uint32_t* index = pixels + (p + px) * stride;
              uint32_t skip = 0;  // the events of the earlier chunks' taps
              for (int64_t k = 0; k < 2 * tap0; ++k) skip += index[1 + k];
              float* own = partial + (p + px) * tw;
              walk(rows, first ? b : own, entries + index[0] + skip, index + 1 + 2 * tap0, n_taps,
                   last ? tmp + px * tw : own);
            }
            if (last) store_transposed(tmp, tw, npx, channels, y_tile + cy * ow + cx, plane);
            p += npx;
            cx += npx;
            if (cx == ow) cx = 0, ++cy;
          }
        }
      }
    }
  }
}

void conv_accumulate(const EventConvShape& s, const void* weights, const float* bias, const SpikeMap& map,
                     float* y, int64_t oy0, int64_t oy1, int64_t tile0, int64_t tile1,
                     const EventBand& band) {
  if (s.half_weights)
    conv_accumulate_rows(s, static_cast<const uint16_t*>(weights), bias, map, y, oy0, oy1, tile0, tile1,
                         band);
  else
    conv_accumulate_rows(s, static_cast<const float*>(weights), bias, map, y, oy0, oy1, tile0, tile1, band);
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
      const uint32_t offset = static_cast<uint32_t>((c - gi * s.cg) * s.tw);
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
inline void gemm_block(const float* w, const uint32_t* list, uint32_t np, const uint32_t* minus_list,
                       uint32_t nm, float* dst) {
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
