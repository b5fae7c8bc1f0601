// SPDX-License-Identifier: Apache-2.0
// The neuron update of spec section 1 (the TernarySpike op, ops/ternary_spike.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.hpp"

namespace tspike::ops {

struct NeuronParams {
  float threshold = 0.5f, decay = 0.25f;
  bool binary = false;
  std::vector<float> amplitude;  // empty: a = 1; one element, or one per channel (axis 1)
  std::string node;              // the TernarySpike node's name, for kernel descriptions
};

// One timestep over NCHW-like data of `n` samples and `c` channels of
// `inner` elements each, in the spec's order: u = decay * u + x; fire
// (ternary >=, binary >); hard reset; y = a * s. Split over the context's
// threads by (sample, channel) planes. Returns the spikes fired.
int64_t neuron_run(const RunContext& ctx, const NeuronParams& p, const float* x, float* u, float* y,
                   int64_t n, int64_t c, int64_t inner);

// The same for planes [plane0, plane1) on the calling thread (plane = sample * c + channel).
int64_t neuron_planes(const NeuronParams& p, const float* x, float* u, float* y, int64_t c, int64_t inner,
                      int64_t plane0, int64_t plane1);

}  // namespace tspike::ops
