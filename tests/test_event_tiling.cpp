// SPDX-License-Identifier: Apache-2.0
// The event Conv's blocking (ops/event_tiling.hpp): every tile width and
// chunk of taps gives bitwise the outputs of one tile over all output
// channels and all taps at once, on seeded random shapes, densities, batch
// sizes and thread counts, for every instruction set this machine runs; and
// the blocking chosen at load follows the cache budget.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "base/thread_pool.hpp"
#include "ops/conv_event.hpp"
#include "ops/event_tiling.hpp"

namespace tspike {
namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::vector<float> uniform(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<float> spikes(std::mt19937& rng, int64_t count, double density) {
  std::bernoulli_distribution fire(density), sign(0.5);
  std::vector<float> v(count, 0.0f);
  for (auto& x : v)
    if (fire(rng)) x = sign(rng) ? 1.0f : -1.0f;
  return v;
}

TEST(EventTiling, EveryTileWidthGivesTheSameOutputs) {
  std::mt19937 rng(20250101);
  int compared = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t n = pick(rng, 1, 3), group = pick(rng, 0, 3) == 0 ? 2 : 1;
    const int64_t cg = pick(rng, 1, 40), mg = pick(rng, 1, 300), c = cg * group, m = mg * group;
    const int64_t kh = pick(rng, 1, 3), kw = pick(rng, 1, 3), s = pick(rng, 1, 2), pad = pick(rng, 0, 1);
    const int64_t h = pick(rng, kh, 12), w = pick(rng, kw, 40);  // rows wider than a block of pixels
    const int64_t oh = (h + 2 * pad - kh) / s + 1, ow = (w + 2 * pad - kw) / s + 1;
    const ops::ConvGeometry g{
        n, c, h, w, m, group, ops::Window2D{kh, kw, s, s, 1, 1, pad, pad, pad, pad, oh, ow}};
    const std::vector<float> weights = uniform(rng, m * cg * kh * kw), bias = uniform(rng, m);
    const std::vector<float> x =
        spikes(rng, n * c * h * w, std::uniform_real_distribution<double>(0, 0.6)(rng));
    for (ops::Isa isa : {ops::Isa::kPortable, ops::Isa::kAvx2, ops::Isa::kAvx512}) {
      if (static_cast<int>(isa) > static_cast<int>(ops::cpu_isa())) continue;
      const int64_t widest = ops::event_register_block(isa);
      auto run = [&](int64_t tile_width, int64_t chunk, int threads) {
        auto conv = ops::EventConv::make(weights.data(), m, cg, kh, kw, group, bias.data(), isa, false,
                                         ops::EventTiling{tile_width, chunk});
        auto state = conv->prepare(g, threads);
        std::vector<float> y(n * m * oh * ow, -7.0f);
        ThreadPool pool(threads);
        ops::RunContext ctx;
        ctx.pool = threads > 1 ? &pool : nullptr;
        conv->run(ctx, *state, x.data(), y.data());
        return std::make_pair(y, conv->tiles());
      };
      const auto [want, one] = run(widest, kh * kw, 1);
      ASSERT_EQ(one, (ops::round_up(mg, 16) + widest - 1) / widest);
      for (int64_t tile : {16, 32, 48, 64, 112})
        for (int64_t chunk : {int64_t{1}, int64_t{2}, kh * kw}) {
          if (tile > widest) continue;
          for (int threads : {1, 2, 3}) {
            const auto [got, tiles] = run(tile, chunk, threads);
            EXPECT_EQ(tiles, (ops::round_up(mg, 16) + tile - 1) / tile);
            ASSERT_EQ(got, want) << fmt::format(
                "case {} {}: N{} C{} M{} group {} {}x{} s{} pad{} {}x{}, tile {}, chunk {}, threads {}",
                trial, ops::isa_name(isa), n, c, m, group, kh, kw, s, pad, h, w, tile, chunk, threads);
            ++compared;
          }
        }
    }
  }
  EXPECT_GT(compared, 60 * 3 * 3 * 3);
}

// The blocking chosen at load: the widest tile (the register block, or the
// layer's width) unless one tap's rows pass half the L2, then all taps if
// they fit three quarters of the L2, else as many taps per chunk as fit
// half the L2, in equal chunks.
TEST(EventTiling, BlockingFollowsTheCacheBudget) {
  const ops::CacheSizes one_mb{32 * 1024, 1024 * 1024};
  using ops::Isa;
  auto tiling = [&](int64_t taps, int64_t cg, int64_t width, Isa isa) {
    const ops::EventTiling t = ops::event_tiling(taps, cg, width, isa, 4, one_mb);
    return std::make_pair(t.tile_width, t.chunk_taps);
  };
  EXPECT_EQ(tiling(9, 128, 128, Isa::kAvx512), std::make_pair(int64_t{128}, int64_t{9}));  // 590 KB: one slab
  EXPECT_EQ(tiling(9, 256, 256, Isa::kAvx512),
            std::make_pair(int64_t{256}, int64_t{2}));  // 256 KB a tap: 2 per slab
  EXPECT_EQ(tiling(9, 512, 512, Isa::kAvx512), std::make_pair(int64_t{256}, int64_t{1}));   // 512 KB a tap
  EXPECT_EQ(tiling(9, 1024, 512, Isa::kAvx512), std::make_pair(int64_t{128}, int64_t{1}));  // halved to fit
  EXPECT_EQ(tiling(9, 4096, 512, Isa::kAvx512), std::make_pair(int64_t{64}, int64_t{1}));   // not below 64
  EXPECT_EQ(tiling(9, 512, 512, Isa::kAvx2), std::make_pair(int64_t{128}, int64_t{2}));
  EXPECT_EQ(tiling(1, 512, 300, Isa::kAvx2),
            std::make_pair(int64_t{112}, int64_t{1}));  // 3 tiles of the block at most
  EXPECT_EQ(tiling(9, 16, 20, Isa::kAvx512), std::make_pair(int64_t{32}, int64_t{9}));
  EXPECT_GT(ops::cache_sizes().l1d, 0);
  EXPECT_GT(ops::cache_sizes().l2, ops::cache_sizes().l1d);
}

}  // namespace
}  // namespace tspike
