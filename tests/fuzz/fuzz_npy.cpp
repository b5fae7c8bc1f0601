// SPDX-License-Identifier: Apache-2.0
// Fuzz target: .npy bytes -> load_npy_from_memory.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/tspike.hpp"

using namespace tspike;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    Tensor t = load_npy_from_memory(data, size, "fuzz.npy", fuzz::small_limits());
    if (static_cast<int64_t>(t.data.size()) != element_count(t.shape)) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
