// SPDX-License-Identifier: Apache-2.0
// The recorder behind SessionOptions::profile (internal).
//
// Made with a plan (for its shapes), it runs timesteps in place of
// run_timestep: the same nodes, each timed, the spike inputs of the
// multiplication-free layers counted against their fan-out tables, and the
// spike counters read after each timestep. Every buffer is sized when it is
// made (and by reserve() before a run longer than that), so a profiled
// timestep allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/plan.hpp"
#include "tspike/profile.hpp"

namespace tspike::detail {

class ProfileRecorder {
 public:
  ProfileRecorder(const Graph& graph, const Plan& plan, int timesteps);

  // Room for `timesteps` timesteps since reset (allocates only to grow).
  void reserve(int timesteps);
  void reset() { steps_ = 0, layer_major_ = false; }
  // One timestep: what run_timestep(graph, plan, skip_invariant) does, recorded.
  void run_timestep(const Graph& graph, Plan& plan, bool skip_invariant);
  // A whole run layer by layer: what run_layer_major(graph, plans, direct)
  // does, recorded per node and timestep (plans[0] is the recorder's plan).
  // The time of an invariant node at a later timestep is that of copying
  // its outputs from timestep 0.
  void run_layer_major(const Graph& graph, const std::vector<Plan*>& plans, bool direct);
  Profile result(const Graph& graph, const Plan& plan) const;

 private:
  // A Conv / Gemm / MatMul: fan-out of its input 0 (see ops::FanOut), as
  // per_element x table[position within the trailing `table.size()` elements].
  struct Layer {
    int node = -1;
    bool spikes = false;  // multiplication-free: AC per event; else MAC per connection
    int64_t per_element = 0;
    std::vector<int64_t> table;     // {1} for Gemm / MatMul
    int64_t connections = 0;        // every connection of one pass
    int64_t dense_connections = 0;  // the same layer as trained (before a pool fold)
  };
  int64_t count_accumulates(const Layer& layer, const ops::RunContext& ctx) const;
  // The synaptic operations of one run of layer l: AC per event, or MAC per connection.
  int64_t layer_ops(int l, const ops::RunContext& ctx) const {
    return layers_[l].spikes ? count_accumulates(layers_[l], ctx) : layers_[l].connections;
  }

  int nodes_ = 0;
  int spike_nodes_ = 0;
  int capacity_ = 0;
  int steps_ = 0;
  bool layer_major_ = false;        // the last run went layer by layer
  std::vector<int> layer_of_node_;  // index into layers_, -1 for other nodes
  std::vector<Layer> layers_;
  std::vector<int64_t> time_ns_;       // [timestep][node]
  std::vector<int64_t> ops_;           // [timestep][layer]
  std::vector<int64_t> spike_totals_;  // [timestep][spike node]: the plan's counters after it
};

}  // namespace tspike::detail
