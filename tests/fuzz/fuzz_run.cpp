// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a loaded small model (tests/data/residual_block.onnx, or the
// sequence-encoded binary_sequence.onnx) run on fuzzed input tensors: the
// first bytes give the model, the mode, the timesteps and the shape, the rest
// are the float32 values.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/tspike.hpp"

using namespace tspike;

namespace {

std::shared_ptr<const Model> load(const char* name) {
  LoadOptions options;
  options.limits = fuzz::small_limits();
  return Model::load(std::string(TSPIKE_SOURCE_DIR) + "/tests/data/" + name, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const Model> models[2] = {load("residual_block.onnx"),
                                                         load("binary_sequence.onnx")};
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const std::shared_ptr<const Model>& model = models[mode & 1];
  const int rank = data[1] % 6;
  // Timesteps 0 (the model's default) .. 7, or now and then far too many.
  const int timesteps = data[2] >= 250 ? 1000000 : data[2] % 8;
  size_t pos = 3;
  Shape shape;
  for (int d = 0; d < rank && pos < size; ++d, ++pos) {
    const uint8_t b = data[pos];
    // Mostly small dims, sometimes the model's own, a negative one or a huge one.
    shape.push_back(b == 255 ? (int64_t{1} << 40) : b == 254 ? -1 : b >= 200 ? b - 200 : b % 5);
  }
  const size_t floats = (size - pos) / 4;
  Tensor input;
  input.shape = shape;
  const int64_t count = shape.empty() ? 1 : [&] {
    int64_t c = 1;
    for (int64_t d : shape) {
      if (d < 0 || d > (1 << 12) || c > (1 << 16)) return int64_t{-1};
      c *= d;
    }
    return c;
  }();
  // Exactly the fuzzed values (a size that may not match), or values
  // repeated to fill the shape.
  if ((mode & 2) || count < 0) {
    input.data.resize(floats);
  } else {
    input.data.resize(count);
  }
  for (size_t k = 0; k < input.data.size() && floats > 0; ++k)
    std::memcpy(&input.data[k], data + pos + (k % floats) * 4, 4);
  try {
    Session session(model, SessionOptions{timesteps, (mode & 4) ? 2 : 1});
    if (mode & 8) {
      session.reset();
      for (int t = 0; t < 3; ++t) session.step(input);
      (void)session.readout();
    } else {
      auto out = session.run(input);
      // A second run with the same input gives the same bits.
      auto again = session.run(input);
      for (size_t o = 0; o < out.size(); ++o)
        if (std::memcmp(out[o].data.data(), again[o].data.data(), out[o].data.size() * 4) != 0)
          __builtin_trap();
    }
    (void)session.stats();
  } catch (const Error&) {
  }
  return 0;
}
