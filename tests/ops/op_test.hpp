// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the per-op tests (tests/ops/test_<file>.cpp):
//  - by hand: a model of a few nodes built in memory, run for one timestep
//    without re-parameterization (each op runs as written), its outputs
//    compared with values worked out in the test's comments;
//  - kernels against the reference: seeded random shapes, real inputs and
//    spikes at the densities of kDensities, each model loaded with the
//    reference kernels and with every optimized kernel this machine runs.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike::test {

using Floats = std::vector<float>;

// A model with the one input "x" of `input` (dims < 0: the batch N) and T = 1.
ModelBuilder net(const Shape& input);

// Runs `b` for one timestep on `x`.
std::vector<Tensor> run(const ModelBuilder& b, const Tensor& x, bool reparameterize = false);

// `t` has `shape` and, element by element, `values` (to float rounding).
void expect_tensor(const Tensor& t, const Shape& shape, const Floats& values);

// 1, 2, ..., n
Floats iota(int n);

// A uniform integer in [lo, hi].
int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi);

// `count` values uniform in [-1, 1].
Floats uniform(std::mt19937& rng, int64_t count);

// Spikes: each element nonzero with probability `density` (then -1 or +1
// alike); density > 1: every element +1.
Floats spikes(std::mt19937& rng, int64_t count, double density);

// None, sparse, middling, dense (every element fires) and all +1.
inline const std::vector<double> kDensities{0.0, 0.05, 0.3, 1.0, 2.0};

// The event kernels' instruction sets; a machine runs a prefix of them.
struct IsaCase {
  InstructionSet cap;
  const char* name;
};
inline const std::vector<IsaCase> kIsas{{InstructionSet::kPortable, "portable"},
                                        {InstructionSet::kAvx2, "avx2"},
                                        {InstructionSet::kAvx512, "avx512"}};

// `got` and `want` agree to 1e-5 of each output's scale (`scale[k]`: the sum
// of the magnitudes that can reach it), as in the spec's section 4.
void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                  const std::vector<double>& scale, const std::string& what);

// Runs `b` (one spike-fed layer, output "y") with the reference kernels and
// with the event kernels of every instruction set this machine has, on
// `inputs` (one per entry of kDensities). Returns how many instruction sets
// ran.
int compare_event_kernels(const ModelBuilder& b, const Shape& x_shape, const std::vector<Floats>& inputs,
                          const std::vector<double>& scale, const std::string& what, int threads = 1);

}  // namespace tspike::test
