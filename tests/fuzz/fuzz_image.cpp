// SPDX-License-Identifier: Apache-2.0
// Fuzz target: image bytes (PNG, JPEG, BMP, GIF, ... whatever stb_image
// reads) -> load_image_from_memory for a gray or an RGB model input. The
// first byte picks the model's input (channels, H x W, normalization).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/tspike.hpp"

using namespace tspike;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t pick = data[0];
  ModelInfo info;
  info.path = "fuzz-model";
  info.input.name = "x";
  const int64_t channels = (pick & 1) ? 3 : 1;
  const int64_t side = 1 + ((pick >> 1) & 7) * 5;  // 1..36
  info.input.shape = {-1, channels, side, (pick & 0x10) ? side + 3 : side};
  if (pick & 0x20) {
    info.metadata.image_mean = std::vector<float>(channels, 0.5f);
    info.metadata.image_std = std::vector<float>(channels, 0.25f);
  }
  try {
    Tensor t = load_image_from_memory(data + 1, size - 1, "fuzz.img", info, fuzz::small_limits());
    if (t.shape != Shape{1, channels, info.input.shape[2], info.input.shape[3]}) __builtin_trap();
    if (static_cast<int64_t>(t.data.size()) != element_count(t.shape)) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
