// The neuron update of spec section 1, shared by the TernarySpike op and the
// layers that run it fused into their own kernel (a Conv or Gemm whose only
// consumer is a TernarySpike: runtime/model.cpp decides, runtime/plan.cpp
// hands the layer the neuron's RunContext in RunContext::fused_neuron).
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
int64_t neuron_run(const RunContext& ctx, const NeuronParams& p, const float* x, float* u, float* y, int64_t n,
                   int64_t c, int64_t inner);

// The same for planes [plane0, plane1) on the calling thread (plane = sample * c + channel).
int64_t neuron_planes(const NeuronParams& p, const float* x, float* u, float* y, int64_t c, int64_t inner,
                      int64_t plane0, int64_t plane1);

// neuron_run for a membrane kept channels-last, [n][inner][c] (how a fused
// Conv keeps it: a pixel's channels are one row of its accumulator tile);
// x and y as above. The fused Conv's dense fallbacks use it.
int64_t neuron_run_channels_last(const RunContext& ctx, const NeuronParams& p, const float* x, float* u, float* y,
                                 int64_t n, int64_t c, int64_t inner);

}  // namespace tspike::ops
