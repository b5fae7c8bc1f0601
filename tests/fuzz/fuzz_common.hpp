// SPDX-License-Identifier: Apache-2.0
// Shared by the fuzz targets: small limits, so that a fuzzed header cannot
// make an iteration slow or big (the limits themselves are what is tested).
#pragma once

#include "tspike/model.hpp"

namespace tspike::fuzz {

inline Limits small_limits() {
  Limits l;
  l.max_file_bytes = std::size_t{1} << 20;
  l.max_tensor_elements = int64_t{1} << 16;
  l.max_arena_bytes = int64_t{64} << 20;
  l.max_nodes = 300;
  l.max_timesteps = 16;
  l.max_image_pixels = int64_t{1} << 18;
  return l;
}

}  // namespace tspike::fuzz
