// SPDX-License-Identifier: Apache-2.0
// Event-driven Conv: weight repacking, per-plan scratch, the per-sample
// choice between events and the dense fallback. See conv_event.hpp.
#include "ops/conv_event.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "base/thread_pool.hpp"
#include "ops/event_tiling.hpp"

namespace tspike::ops {

const EventConvKernels& event_conv_kernels(Isa isa) {
#if TSPIKE_X86_KERNELS
  if (isa == Isa::kAvx512) return event_conv_kernels_avx512();
  if (isa == Isa::kAvx2) return event_conv_kernels_avx2();
#else
  (void)isa;
#endif
  return event_conv_kernels_portable();
}

double event_auto_crossover(Isa isa) {
  // Where the event kernel and oneDNN's dense fp32 convolution (AVX-512)
  // take the same time on the 3x3, 128-channel, 32x32 layer of
  // bench/bench_conv, one thread, AMD EPYC (Zen 4): docs/engines.md.
  switch (isa) {
    case Isa::kAvx512:
      return 0.45;  // against oneDNN's blocked direct convolution
    case Isa::kAvx2:
      return 0.50;
    case Isa::kPortable:
      break;
  }
  return 0.25;
}

namespace {

// Scratch of one plan. Batches of at least as many samples as threads run
// one sample per thread at a time (one spike map per thread, one
// parallel_for per timestep); smaller ones split each sample's rows over
// the threads (one shared map).
struct EventConvState final : NodeState {
  ConvGeometry geometry;  // the whole batch
  EventConvShape shape;
  int threads = 1, maps = 1;
  int64_t map_entries = 0, map_slots = 0;  // per map
  // accumulate()'s band, per thread, in the scratch: `band_entries` list
  // entries, `band_index_size` entries of index, `band_floats` sums (a tile
  // of sums, then the partial sums).
  int64_t band_capacity = 0, band_entries = 0, band_pixels = 0, band_index_size = 0, band_floats = 0;
  int64_t scratch_bytes = 0;
  AlignedBuffer<uint32_t> entries, plus, minus;  // [maps][...]
  AlignedBuffer<float> own_scratch;  // [threads][scratch_bytes / 4] when prepare() was given no scratch
  // Rows split over the threads at batch 1 (split_rows): thread t takes
  // output rows [row_split[t], row_split[t + 1]); row_cost per output row.
  AlignedBuffer<int64_t> row_split, row_cost;
  std::unique_ptr<NodeState> dense;  // oneDNN for the batch (auto engine), or null
  EventConvCounters counters;

  SpikeMap map(int64_t k) const {
    return {entries.data() + k * map_entries, plus.data() + k * map_slots, minus.data() + k * map_slots};
  }
  // Thread t's band, in the context's scratch (or the state's own).
  EventBand band(const RunContext& ctx, int64_t t) const {
    std::byte* base = ctx.scratch ? ctx.scratch + t * ctx.scratch_stride
                                  : reinterpret_cast<std::byte*>(own_scratch.data()) + t * scratch_bytes;
    float* sums = reinterpret_cast<float*>(base);
    uint32_t* lists = reinterpret_cast<uint32_t*>(sums + band_floats);
    return {lists, band_capacity, lists + band_entries, band_pixels, sums, sums + kEventPixBlock * shape.tw};
  }
};

// Output rows split over `threads` so that each thread gets about the same
// work: an output row costs its pixels' gathers and stores plus the events
// under its taps, counted from the map (one pass over its counts).
void split_rows(EventConvState& st, const SpikeMap& map, int threads) {
  const EventConvShape& s = st.shape;
  int64_t* cost = st.row_cost.data();
  for (int64_t iy = 0; iy < s.h; ++iy) {
    int64_t events = 0;
    for (int64_t slot = iy * s.w * s.groups; slot < (iy + 1) * s.w * s.groups; ++slot)
      events += map.plus[slot] + map.minus[slot];
    cost[iy] = events;
  }
  // An event reaches about kw * mg / sw outputs of each row under it; a
  // pixel's fixed work is worth about a few events (measured order).
  int64_t total = 0;
  for (int64_t oy = 0; oy < s.oh; ++oy) {
    int64_t events = 0;
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      const int64_t iy = oy * s.sh - s.pad_top + ky * s.dh;
      if (iy >= 0 && iy < s.h) events += cost[iy];
    }
    total += events * s.kw / s.sw + 4 * s.ow * s.groups;
    cost[s.h + oy] = total;  // cumulative, after the input rows' counts
  }
  st.row_split[0] = 0;
  int64_t oy = 0;
  for (int t = 1; t < threads; ++t) {
    const int64_t target = total * t / threads;
    while (oy < s.oh && cost[s.h + oy] <= target) ++oy;
    st.row_split[t] = oy;
  }
  st.row_split[threads] = s.oh;
}

}  // namespace

const EventConvCounters& event_conv_counters(const NodeState& state) {
  return static_cast<const EventConvState&>(state).counters;
}

std::unique_ptr<EventConv> EventConv::make(const float* weights, int64_t m, int64_t cg, int64_t kh,
                                           int64_t kw, int64_t group, const float* bias, Isa isa,
                                           bool dense_fallback, EventTiling tiling, bool half_weights) {
  if (m <= 0 || cg <= 0 || kh <= 0 || kw <= 0 || group <= 0 || m % group != 0) return nullptr;
  if (kh > (int64_t{1} << 20) || kw > (int64_t{1} << 20) || cg > (int64_t{1} << 30)) return nullptr;
  const int64_t mg = m / group, mgp = round_up(mg, kEventRowPad);
  // Half floats in 16 bits where the CPU converts them (F16C: the AVX2 and
  // AVX-512 kernels); the portable kernels keep the rounded values as floats.
  const bool store_half = half_weights && isa != Isa::kPortable;
  if (tiling.tile_width <= 0 || tiling.chunk_taps <= 0)
    tiling = event_tiling(kh * kw, cg, mg, isa, store_half ? 2 : 4);
  const int64_t tw =
      std::min(round_up(tiling.tile_width, kEventRowPad), std::min(mgp, event_register_block(isa)));
  // Entries are 32-bit offsets within one tile's weights.
  if (kh * kw * cg * tw + kEventRowPad > std::numeric_limits<uint32_t>::max()) return nullptr;
  std::unique_ptr<EventConv> conv(new EventConv());
  conv->kernels_ = &event_conv_kernels(isa);
  conv->m_ = m, conv->cg_ = cg, conv->kh_ = kh, conv->kw_ = kw, conv->group_ = group;
  conv->mg_ = mg, conv->mgp_ = mgp, conv->tw_ = tw, conv->tiles_ = (mgp + tw - 1) / tw;
  conv->chunk_taps_ = std::min(tiling.chunk_taps, kh * kw);
  conv->dense_fallback_ = dense_fallback && onednn_available();
  conv->half_ = half_weights, conv->store_half_ = store_half;
  const int64_t count = group * conv->tiles_ * kh * kw * cg * tw;
  if (store_half)
    conv->half_weights_ = AlignedBuffer<uint16_t>(count);
  else
    conv->weights_ = AlignedBuffer<float>(count);
  for (int64_t oc = 0; oc < m; ++oc) {
    const int64_t g = oc / mg, j = oc % mg;
    for (int64_t ic = 0; ic < cg; ++ic)
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx) {
          const float w = weights[((oc * cg + ic) * kh + ky) * kw + kx];
          const int64_t at = conv->packed(g, ky, kx, ic, j);
          if (!half_weights) {
            conv->weights_[at] = w;
            continue;
          }
          const uint16_t h = float_to_half(w);
          if ((h & 0x7c00u) == 0x7c00u)
            throw Error(
                ErrorCode::kInvalidModel,
                fmt::format("weight {} of output channel {} does not fit in 16 bits (tspike.weights = fp16: "
                            "at most 65504 in magnitude)",
                            w, oc));
          if (store_half)
            conv->half_weights_[at] = h;
          else
            conv->weights_[at] = half_to_float(h);
        }
  }
  conv->bias_ = AlignedBuffer<float>(group * mgp);
  conv->has_bias_ = bias != nullptr;
  if (bias)
    for (int64_t oc = 0; oc < m; ++oc) conv->bias_[(oc / mg) * mgp + oc % mg] = bias[oc];
  return conv;
}

void EventConv::reference(const ConvGeometry& g, const float* in, float* out) const {
  const Window2D& win = g.win;
  const int64_t c = g.c, h = g.h, wd = g.w;
  for (int64_t s = 0; s < g.n; ++s)
    for (int64_t oc = 0; oc < m_; ++oc) {
      const int64_t grp = oc / mg_, j = oc % mg_;

      for (int64_t oy = 0; oy < win.out_h; ++oy)
        for (int64_t ox = 0; ox < win.out_w; ++ox) {
          float acc = bias_[grp * mgp_ + j];  // 0 without bias, as in conv_reference
          for (int64_t ic = 0; ic < cg_; ++ic)
            for (int64_t ky = 0; ky < kh_; ++ky) {
              const int64_t iy = oy * win.stride_h - win.pad_top + ky * win.dilation_h;
              if (iy < 0 || iy >= h) continue;
              for (int64_t kx = 0; kx < kw_; ++kx) {
                const int64_t ix = ox * win.stride_w - win.pad_left + kx * win.dilation_w;
                if (ix < 0 || ix >= wd) continue;
                acc += in[((s * c + grp * cg_ + ic) * h + iy) * wd + ix] * weight(packed(grp, ky, kx, ic, j));
              }
            }
          out[((s * m_ + oc) * win.out_h + oy) * win.out_w + ox] = acc;
        }
    }
}

std::unique_ptr<NodeState> EventConv::prepare(const ConvGeometry& g, int threads,
                                              int64_t* scratch_bytes) const {
  auto state = std::make_unique<EventConvState>();
  state->geometry = g;
  const Window2D& w = g.win;
  state->shape = EventConvShape{g.c,          g.h,          g.w,         m_,         group_,     cg_,
                                mg_,          mgp_,         kh_,         kw_,        w.stride_h, w.stride_w,
                                w.dilation_h, w.dilation_w, w.pad_top,   w.pad_left, w.out_h,    w.out_w,
                                tw_,          tiles_,       chunk_taps_, store_half_};
  state->threads = threads;
  state->maps = threads > 1 && g.n >= threads ? threads : 1;
  state->map_slots = round_up(g.h * g.w * group_, 16);
  state->row_split = AlignedBuffer<int64_t>(threads + 1);
  state->row_cost = AlignedBuffer<int64_t>(g.h + w.out_h);
  state->map_entries = round_up(g.h * g.w * group_ * cg_ + kEventListSlack, 16);
  state->entries = AlignedBuffer<uint32_t>(state->maps * state->map_entries);
  state->plus = AlignedBuffer<uint32_t>(state->maps * state->map_slots);
  state->minus = AlignedBuffer<uint32_t>(state->maps * state->map_slots);
  // A band of event lists as large as a quarter of the L2 (a slab takes
  // half: ops/event_tiling.hpp), or a quarter of every pixel's worst case
  // for a small layer, and at least one pixel's worst case; its partial
  // sums (with more than one chunk of taps) an eighth.
  const int64_t l2 = cache_sizes().l2;
  const int64_t every_pixel = w.out_h * w.out_w * kh_ * kw_ * cg_;
  state->band_capacity =
      std::max(std::min(l2 / 4 / 4, every_pixel / 4), event_band_min_capacity(state->shape));
  state->band_entries = round_up(state->band_capacity + kEventListSlack, 16);
  const int64_t all_pixels = round_up(w.out_h * w.out_w, kEventPixBlock);
  const bool chunked = chunk_taps_ < kh_ * kw_;
  const int64_t partial_pixels =
      std::max(kEventPixBlock, l2 / 8 / (4 * tw_) / kEventPixBlock * kEventPixBlock);
  state->band_pixels = chunked ? std::min(all_pixels, partial_pixels) : all_pixels;
  state->band_index_size = round_up(state->band_pixels * (1 + 2 * kh_ * kw_), 16);
  state->band_floats = kEventPixBlock * tw_ + (chunked ? state->band_pixels * tw_ : 0);
  state->scratch_bytes =
      round_up((state->band_floats + state->band_entries + state->band_index_size) * 4, 64);
  if (scratch_bytes)
    *scratch_bytes = state->scratch_bytes;
  else
    state->own_scratch = AlignedBuffer<float>(threads * state->scratch_bytes / 4);
  return state;
}

std::unique_ptr<NodeState> EventConv::make_dense(const ConvGeometry& g, int threads) const {
  // oneDNN reorders the weights into its own memory: these copies live
  // only while it does.
  std::vector<float> weights(static_cast<size_t>(m_ * cg_ * kh_ * kw_)), bias(static_cast<size_t>(m_));
  for (int64_t oc = 0; oc < m_; ++oc) {
    const int64_t grp = oc / mg_, j = oc % mg_;
    bias[oc] = bias_[grp * mgp_ + j];
    for (int64_t ic = 0; ic < cg_; ++ic)
      for (int64_t ky = 0; ky < kh_; ++ky)
        for (int64_t kx = 0; kx < kw_; ++kx)
          weights[((oc * cg_ + ic) * kh_ + ky) * kw_ + kx] = weight(packed(grp, ky, kx, ic, j));
  }
  return make_onednn_conv(g, weights.data(), has_bias_ ? bias.data() : nullptr, threads);
}

void EventConv::run(const RunContext& ctx, NodeState& node_state, const float* x, float* y) const {
  auto& st = static_cast<EventConvState&>(node_state);
  const EventConvShape& s = st.shape;
  const int64_t n = st.geometry.n, in_size = s.c * s.h * s.w, plane = s.oh * s.ow, out_size = s.m * plane;
  // One index per thread: parallel_for over the thread count gives each
  // thread one, and with it its own scratch.
  const int threads = ctx.pool ? ctx.pool->threads() : 1;
  if (threads > st.threads) throw Error(ErrorCode::kBadInput, "event Conv: planned for fewer threads");
  ConvGeometry one = st.geometry;
  one.n = 1;
  std::atomic<int64_t> events{0}, dense_samples{0};
  auto dense_sample = [&](int64_t k) {
    reference(one, x + k * in_size, y + k * out_size);
    dense_samples++;
  };

  // Auto: the whole batch densely when this timestep's spikes are too many.
  // oneDNN's primitive (a copy of the weights, and a first run to set its
  // kernels up) is made the first time that happens for this plan: a layer
  // that never runs densely never pays for it.
  if (dense_fallback_) {
    parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
      events += kernels_->count(x + n * in_size * t0 / threads,
                                n * in_size * t1 / threads - n * in_size * t0 / threads);
    });
    if (events.load() > event_auto_crossover(isa()) * static_cast<double>(n * in_size)) {
      if (!st.dense) st.dense = make_dense(st.geometry, st.threads);
      run_onednn_conv("event Conv, dense for this timestep", *st.dense, x, y, ctx);
      st.counters.dense_samples += n;
      return;
    }
    events = 0;
  }

  if (st.maps > 1) {  // whole samples per thread
    parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t k = n * t / threads; k < n * (t + 1) / threads; ++k) {
          bool bad = false;
          const int64_t e = kernels_->compact(s, x + k * in_size, st.map(t), 0, s.h, &bad);
          if (bad) {  // a value other than -1, 0, +1
            dense_sample(k);
            continue;
          }
          kernels_->accumulate(s, packed_weights(), bias_.data(), st.map(t), y + k * out_size, 0, s.oh, 0,
                               s.tiles, st.band(ctx, t));
          events += e;
        }
    });
  } else {  // each sample's rows split over the threads
    const SpikeMap map = st.map(0);
    for (int64_t k = 0; k < n; ++k) {
      const float* xs = x + k * in_size;
      std::atomic<bool> bad{false};
      parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
        bool chunk_bad = false;
        events += kernels_->compact(s, xs, map, s.h * t0 / threads, s.h * t1 / threads, &chunk_bad);
        if (chunk_bad) bad = true;
      });
      if (bad.load()) {
        dense_sample(k);
        continue;
      }
      // Tiles split evenly: each thread walks every pixel's events over its
      // own tiles (the same work, and half the rows for each core's cache);
      // otherwise output rows.
      const bool by_tiles = s.groups == 1 && s.tiles % threads == 0;
      if (!by_tiles) split_rows(st, map, threads);
      parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          if (by_tiles)
            kernels_->accumulate(s, packed_weights(), bias_.data(), map, y + k * out_size, 0, s.oh,
                                 s.tiles * t / threads, s.tiles * (t + 1) / threads, st.band(ctx, t));
          else
            kernels_->accumulate(s, packed_weights(), bias_.data(), map, y + k * out_size, st.row_split[t],
                                 st.row_split[t + 1], 0, s.tiles, st.band(ctx, t));
      });
    }
  }
  st.counters.dense_samples += dense_samples.load();
  st.counters.event_samples += n - dense_samples.load();
  st.counters.events += events.load();
}

std::string EventConv::describe() const {
  const std::string kernel = fmt::format("event/{}{}", isa_name(isa()), half_ ? ", fp16 weights" : "");
  if (!dense_fallback_) return kernel;
  return fmt::format("auto: {} up to {:.0f}% spikes, else oneDNN", kernel, 100 * event_auto_crossover(isa()));
}

}  // namespace tspike::ops
