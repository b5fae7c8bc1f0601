// SPDX-License-Identifier: Apache-2.0
// Cache sizes and the event kernels' tile width. See event_tiling.hpp.
#include "ops/event_tiling.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace tspike::ops {

namespace {

// The size of cpu0's data or unified cache of `level` from sysfs (what the
// kernel read from the CPU; unlike sysconf it is also right under valgrind,
// whose emulated CPU reports other caches), in bytes; 0 if not found.
int64_t sysfs_cache_bytes(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    int l = 0;
    std::string type, size;
    if (!(level_file >> l) || !(type_file >> type) || !(size_file >> size)) continue;
    if (l != level || type == "Instruction" || size.empty()) continue;
    const char unit = size.back();
    const int64_t value = std::atoll(size.c_str());
    return unit == 'K' ? value << 10 : unit == 'M' ? value << 20 : value;
  }
  return 0;
}

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = [] {
    CacheSizes c;
    int64_t l1 = sysfs_cache_bytes(1), l2 = sysfs_cache_bytes(2);
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    if (l1 <= 0) l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    if (l2 <= 0) l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    // Unknown, or implausible (a virtual machine may report anything).
    c.l1d = l1 >= 8 * 1024 && l1 <= 4 * 1024 * 1024 ? l1 : 32 * 1024;
    c.l2 = l2 >= 128 * 1024 && l2 <= 64 * 1024 * 1024 ? l2 : 1024 * 1024;
    return c;
  }();
  return sizes;
}

int64_t event_register_block(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return 256;  // 16 zmm
    case Isa::kAvx2:
      return 128;  // 16 ymm
    case Isa::kPortable:
      break;
  }
  return 64;  // 8 vectors of 8
}

EventTiling event_tiling(int64_t taps, int64_t cg, int64_t width, Isa isa, int64_t weight_bytes,
                         const CacheSizes& caches) {
  const int64_t padded = (width + 15) / 16 * 16;
  const int64_t block = event_register_block(isa);
  // The slab may take half of the L2: the band's event lists (a quarter)
  // and partial sums (an eighth) and the output stream through the rest.
  const int64_t budget = caches.l2 / 2;
  EventTiling t;
  // The widest tiles pay the least per event (one list entry read per
  // tile-wide add of rows); narrower only when one tap's rows would not
  // fit, halving (equal tiles split evenly over two or four threads), not
  // below 64 channels: narrower, the accumulators (4 AVX-512 registers)
  // wait on the adds' latency.
  int64_t tiles = (padded + block - 1) / block;
  t.tile_width = ((padded + tiles - 1) / tiles + 15) / 16 * 16;
  while (t.tile_width > 64 && cg * t.tile_width * weight_bytes > budget) {
    tiles *= 2;
    t.tile_width = ((padded + tiles - 1) / tiles + 15) / 16 * 16;
  }
  if (t.tile_width < 64) t.tile_width = padded < 64 ? padded : 64;
  // All taps at once while the tile's rows fit in three quarters of the L2
  // (a 3x3 layer of 128 channels, 590 KB): chunks there only add partial
  // sums (callgrind, docs/engines.md).
  const int64_t per_tap = cg * t.tile_width * weight_bytes;
  if (taps * per_tap <= caches.l2 * 3 / 4) {
    t.chunk_taps = taps;
    return t;
  }
  const int64_t fit = per_tap > budget ? 1 : budget / per_tap;
  const int64_t chunks = fit >= taps ? 1 : (taps + fit - 1) / fit;
  t.chunk_taps = (taps + chunks - 1) / chunks;
  return t;
}

}  // namespace tspike::ops
