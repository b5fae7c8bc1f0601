// SPDX-License-Identifier: Apache-2.0
// tspike::Profile: where time, spikes and synaptic operations go in a run,
// per node, with the energy estimate of the format spec (section 5).
//
// Turned on per Session (SessionOptions::profile, off by default) and read
// after run() or after step() calls with Session::profile(). A Profile is a
// plain value: it owns its data and refers to nothing in the Session.
//
// Definitions (docs/profiling.md):
// - Spike density of a TernarySpike node at a timestep: nonzero spikes /
//   (elements x N) of that timestep.
// - Synaptic operations of a Conv / Gemm / MatMul, for every timestep it runs:
//   - fed by {-1, 0, +1} spikes (ModelInfo::layers, multiplication_free):
//     one accumulate (AC) per nonzero input event and output value it
//     reaches, i.e. the sum over nonzero inputs of their fan-out, counted
//     exactly per input position (padding, stride, borders, groups);
//   - real-valued input: one multiply-accumulate (MAC) per connection, the
//     same connections (a tap over padding is no connection, so a layer
//     whose every input fires has AC == its MAC count).
//   A node whose inputs do not change over time (direct encoding: the layers
//   before the first neuron) runs at the first timestep only, and is counted
//   there only. Bias additions, neuron updates, pooling and elementwise ops
//   are not counted, as in the SNN literature.
// - Energy: 0.9 pJ per AC and 4.6 pJ per MAC (45 nm, Horowitz, ISSCC 2014).
// - Dense ANN: the same network with every Conv / Gemm / MatMul run once per
//   inference (T = 1) on real values: every connection as a MAC. A layer
//   the converter folded an average pool into counts as the network was
//   trained (pool, then the layer): its connections / the pool's window.
// Counts and energies are for the whole batch (N samples) of the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tspike/tensor.hpp"

namespace tspike {

// 45 nm energy per operation (Horowitz, ISSCC 2014), in picojoules.
inline constexpr double kPicojoulesPerAC = 0.9;
inline constexpr double kPicojoulesPerMAC = 4.6;

enum class SynapseKind {
  kNone,                // not a Conv / Gemm / MatMul
  kAccumulate,          // fed by spikes: AC per nonzero event and fan-out
  kMultiplyAccumulate,  // real-valued input: MAC per connection
};

struct NodeProfile {
  std::string name;
  std::string op_type;
  Shape output_shape;           // the first output, for the run's batch size
  bool folded = false;          // constant, computed once when planning: never runs
  std::vector<double> time_ms;  // wall time per timestep (0 where it did not run)
  double total_time_ms = 0;

  bool neuron = false;  // a TernarySpike node: the two fields below are its spikes
  // TernarySpike nodes: spike density per timestep (empty for other ops).
  std::vector<double> density;
  int64_t spikes = 0;  // nonzero spikes over all timesteps

  // Conv / Gemm / MatMul nodes.
  SynapseKind synapses = SynapseKind::kNone;
  std::vector<int64_t> ops;    // AC or MAC (see synapses) per timestep
  int64_t ac = 0, mac = 0;     // over all timesteps
  int64_t dense_macs = 0;      // one dense-ANN pass: every connection (as trained)
  double energy_pj = 0;        // ac * 0.9 + mac * 4.6
  double dense_energy_pj = 0;  // dense_macs * 4.6
};

struct Profile {
  int timesteps = 0;  // timesteps run (run(), or step() calls since reset())
  int64_t batch = 0;
  // The run went layer by layer (RunStats::layer_major): each node ran for
  // every timestep before the next node, as the Session runs by default
  // where that pays; else timestep by timestep.
  bool layer_major = false;
  std::vector<NodeProfile> nodes;  // every node, graph order
  double time_ms = 0;              // sum of the node times
  int64_t ac = 0, mac = 0, dense_macs = 0;
  double energy_pj = 0;        // the SNN run
  double dense_energy_pj = 0;  // the same network as a dense ANN, one pass
  // dense_energy_pj / energy_pj (0 when the run did no synaptic operation).
  double energy_ratio() const { return energy_pj > 0 ? dense_energy_pj / energy_pj : 0.0; }
};

}  // namespace tspike
