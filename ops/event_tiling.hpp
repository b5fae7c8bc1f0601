// SPDX-License-Identifier: Apache-2.0
// How the event-driven kernels block their weights for the cache, chosen
// once per layer at load from its shape and this CPU's cache sizes.
//
// An event adds its weight row (one per tap and input channel, as wide as
// the output channels) to the accumulators of one output pixel. Consecutive
// events touch unrelated rows, so a row that is not in cache costs a miss
// per add. The rows are therefore packed in output-channel tiles,
// [group][tile][tap][input channel][tile width], and the kernel walks a
// band of output pixels (whose event lists it gathered once) one tile and
// one chunk of taps at a time, keeping partial sums between the chunks, so
// that only that slab of rows must stay in the L2 while the band reuses it,
// instead of the whole layer's rows.
#pragma once

#include <cstdint>

#include "ops/cpu_features.hpp"

namespace tspike::ops {

// The data caches of the CPU this process runs on, per core (bytes), from
// sysfs or else sysconf; 32 KB and 1 MB where the system does not say.
struct CacheSizes {
  int64_t l1d = 0, l2 = 0;
};
const CacheSizes& cache_sizes();

// A layer's blocking: output channels per tile (a multiple of 16, at most
// the instruction set's register block) and taps per chunk. One slab (a
// tile's rows of a chunk of taps: chunk_taps x cg x tile_width floats)
// takes at most half of the L2: the widest tile whose one-tap slab fits,
// then as many taps as fit, in chunks of equal size; all taps when the
// tile's rows take at most three quarters of the L2.
struct EventTiling {
  int64_t tile_width = 16, chunk_taps = 1;
};
// `weight_bytes`: 4 (float) or 2 (half floats).
EventTiling event_tiling(int64_t taps, int64_t cg, int64_t width, Isa isa, int64_t weight_bytes = 4,
                         const CacheSizes& caches = cache_sizes());

// The instruction set's register block: output channels walked per pass
// over an event list (16 vector registers).
int64_t event_register_block(Isa isa);

}  // namespace tspike::ops
