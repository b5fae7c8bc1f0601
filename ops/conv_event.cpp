// Event-driven Conv: weight repacking, per-plan scratch, the per-sample
// choice between events and the dense fallback. See conv_event.hpp.
#include "ops/conv_event.hpp"

#include <fmt/format.h>

#include <atomic>
#include <limits>
#include <vector>

#include "base/thread_pool.hpp"

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
    case Isa::kAvx512: return 0.55;
    case Isa::kAvx2: return 0.50;
    case Isa::kPortable: break;
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
  int64_t map_entries = 0, map_slots = 0, list_entries = 0, tile_floats = 0;  // per map / per thread
  AlignedBuffer<uint32_t> entries, plus, minus;  // [maps][...]
  AlignedBuffer<uint32_t> lists;                 // accumulate()'s, [threads][list_entries]
  AlignedBuffer<float> tiles;                    // accumulate()'s, [threads][tile_floats]
  std::unique_ptr<NodeState> dense;                             // oneDNN for the batch (auto engine), or null
  EventConvCounters counters;

  SpikeMap map(int64_t k) const {
    return {entries.data() + k * map_entries, plus.data() + k * map_slots, minus.data() + k * map_slots};
  }
  uint32_t* thread_lists(int64_t t) const { return lists.data() + t * list_entries; }
  float* thread_tile(int64_t t) const { return tiles.data() + t * tile_floats; }
};

}  // namespace

const EventConvCounters& event_conv_counters(const NodeState& state) {
  return static_cast<const EventConvState&>(state).counters;
}

std::unique_ptr<EventConv> EventConv::make(const float* weights, int64_t m, int64_t cg, int64_t kh, int64_t kw,
                                           int64_t group, const float* bias, Isa isa, bool dense_fallback) {
  if (m <= 0 || cg <= 0 || kh <= 0 || kw <= 0 || group <= 0 || m % group != 0) return nullptr;
  const int64_t mg = m / group, mgp = round_up(mg, kEventRowPad);
  // Entries are 32-bit offsets within one group's weights.
  if (kh * kw * cg * mgp + kEventRowPad > std::numeric_limits<uint32_t>::max()) return nullptr;
  std::unique_ptr<EventConv> conv(new EventConv());
  conv->kernels_ = &event_conv_kernels(isa);
  conv->m_ = m, conv->cg_ = cg, conv->kh_ = kh, conv->kw_ = kw, conv->group_ = group;
  conv->mg_ = mg, conv->mgp_ = mgp;
  conv->dense_fallback_ = dense_fallback && onednn_available();
  conv->weights_ = AlignedBuffer<float>(group * kh * kw * cg * mgp);
  for (int64_t oc = 0; oc < m; ++oc) {
    const int64_t g = oc / mg, j = oc % mg;
    for (int64_t ic = 0; ic < cg; ++ic)
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx)
          conv->weights_[(((g * kh + ky) * kw + kx) * cg + ic) * mgp + j] = weights[((oc * cg + ic) * kh + ky) * kw + kx];
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
      const float* wg = weights_.data() + grp * kh_ * kw_ * cg_ * mgp_ + j;
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
                acc += in[((s * c + grp * cg_ + ic) * h + iy) * wd + ix] * wg[((ky * kw_ + kx) * cg_ + ic) * mgp_];
              }
            }
          out[((s * m_ + oc) * win.out_h + oy) * win.out_w + ox] = acc;
        }
    }
}

std::unique_ptr<NodeState> EventConv::prepare(const ConvGeometry& g, int threads) const {
  auto state = std::make_unique<EventConvState>();
  state->geometry = g;
  const Window2D& w = g.win;
  state->shape = EventConvShape{g.c,          g.h,          g.w,         m_,         group_,    cg_,
                                mg_,          mgp_,         kh_,         kw_,        w.stride_h, w.stride_w,
                                w.dilation_h, w.dilation_w, w.pad_top,   w.pad_left, w.out_h,   w.out_w};
  state->threads = threads;
  state->maps = threads > 1 && g.n >= threads ? threads : 1;
  state->map_slots = round_up(g.h * g.w * group_, 16);
  state->map_entries = round_up(g.h * g.w * group_ * cg_ + kEventListSlack, 16);
  state->entries = AlignedBuffer<uint32_t>(state->maps * state->map_entries);
  state->plus = AlignedBuffer<uint32_t>(state->maps * state->map_slots);
  state->minus = AlignedBuffer<uint32_t>(state->maps * state->map_slots);
  state->list_entries = 2 * event_conv_list_capacity(state->shape);
  state->lists = AlignedBuffer<uint32_t>(threads * state->list_entries);
  state->tile_floats = kEventPixBlock * mgp_;
  state->tiles = AlignedBuffer<float>(threads * state->tile_floats);
  if (dense_fallback_) {
    // oneDNN reorders the weights into its own memory: these copies live
    // only while it does.
    std::vector<float> weights(static_cast<size_t>(m_ * cg_ * kh_ * kw_)), bias(static_cast<size_t>(m_));
    for (int64_t oc = 0; oc < m_; ++oc) {
      const int64_t grp = oc / mg_, j = oc % mg_;
      bias[oc] = bias_[grp * mgp_ + j];
      for (int64_t ic = 0; ic < cg_; ++ic)
        for (int64_t ky = 0; ky < kh_; ++ky)
          for (int64_t kx = 0; kx < kw_; ++kx)
            weights[((oc * cg_ + ic) * kh_ + ky) * kw_ + kx] =
                weights_[(((grp * kh_ + ky) * kw_ + kx) * cg_ + ic) * mgp_ + j];
    }
    state->dense = make_onednn_conv(g, weights.data(), has_bias_ ? bias.data() : nullptr, threads);
  }
  return state;
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
  if (st.dense) {
    parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
      events += kernels_->count(x + n * in_size * t0 / threads, n * in_size * t1 / threads - n * in_size * t0 / threads);
    });
    if (events.load() > event_auto_crossover(isa()) * static_cast<double>(n * in_size)) {
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
          kernels_->accumulate(s, weights_.data(), bias_.data(), st.map(t), y + k * out_size, 0, s.oh,
                               st.thread_lists(t), st.thread_tile(t));
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
      parallel_for(ctx, threads, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          kernels_->accumulate(s, weights_.data(), bias_.data(), map, y + k * out_size, s.oh * t / threads,
                               s.oh * (t + 1) / threads, st.thread_lists(t), st.thread_tile(t));
      });
    }
  }
  st.counters.dense_samples += dense_samples.load();
  st.counters.event_samples += n - dense_samples.load();
  st.counters.events += events.load();
}

std::string EventConv::describe() const {
  const std::string kernel = fmt::format("event/{}", isa_name(isa()));
  if (!dense_fallback_) return kernel;
  return fmt::format("auto: {} up to {:.0f}% spikes, else oneDNN", kernel, 100 * event_auto_crossover(isa()));
}

}  // namespace tspike::ops
