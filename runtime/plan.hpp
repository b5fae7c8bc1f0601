// SPDX-License-Identifier: Apache-2.0
// The memory and execution plan of a model for one input shape (internal).
//
// Made by a Session when it first sees a batch size and reused for every
// timestep and every run with that batch size: shapes, constant folding
// (initializer-only computations and the Shape/Gather/Reshape chains that
// depend on N), one arena for all values placed by lifetime, one block of
// neuron state, and a ready RunContext per node, so that running a timestep
// allocates nothing.
#pragma once

#include <vector>

#include "runtime/graph.hpp"

namespace tspike::detail {

struct PlannedValue {
  ops::ValueDesc desc;
  int64_t offset = -1;     // in floats into the arena; -1 for constants / unused
  bool invariant = false;  // same at every timestep of a direct-encoded run
};

struct PlannedNode {
  bool folded = false;     // every output is a constant: never runs
  bool invariant = false;  // inputs do not change over time (direct encoding)
  int spike_index = -1;    // index among TernarySpike nodes
  int64_t state_offset = 0;
  int64_t state_floats = 0;
  ops::RunContext ctx;
  std::unique_ptr<ops::NodeState> node_state;
};

struct Plan {
  Shape frame_shape;  // the graph input's shape for one timestep
  std::vector<PlannedValue> values;
  std::vector<PlannedNode> nodes;
  std::vector<float> arena;
  std::vector<float> state;
  // The nodes' scratch (PrepareContext::scratch_bytes), one block per
  // thread; `scratch` is the 64-byte aligned start within scratch_storage
  // (the owner's, for a timestep_plan).
  std::vector<std::byte> scratch_storage;
  std::byte* scratch = nullptr;
  int64_t scratch_stride = 0;
  std::vector<int64_t> spike_counts;    // per TernarySpike node, since reset
  std::vector<int64_t> spike_elements;  // elements per timestep, per TernarySpike node
  std::vector<TensorRef> outputs;       // the graph outputs of the current timestep
  TensorRef input;
};

// Plans `graph` for an input of shape `frame_shape`. Throws Error naming the
// node whose shapes do not fit.
// Kernels split their work over `pool` when it is not null. The values in
// `keep` (value indices) stay in memory until the timestep ends, as graph
// outputs do (for Session::observe).
std::unique_ptr<Plan> make_plan(const Graph& graph, const Shape& frame_shape, ThreadPool* pool = nullptr,
                                const std::vector<int>& keep = {});

// Runs one timestep. With skip_invariant, nodes whose inputs did not change
// since the previous timestep keep their outputs.
void run_timestep(const Graph& graph, Plan& plan, bool skip_invariant);

// Zeroes neuron state and spike counters.
void reset_state(Plan& plan);

// Layer-major runs (SessionOptions::layer_major): one plan per timestep.
// timestep_plan makes a later timestep's plan from `owner` (timestep 0's):
// its own arena (the activations, placed as in the owner), and the owner's
// neuron state and spike counters (a membrane carries from one timestep's
// plan to the next), scratch and node states (the kernels' per-plan data:
// a node runs for one timestep at a time). Nothing is prepared again. The
// owner must outlive it.
std::unique_ptr<Plan> timestep_plan(Plan& owner);

// Runs each node for every timestep (plans[t]) before the next node, so that
// a layer's weights are read once per run rather than once per timestep.
// Each node sees the same inputs and state as in run_timestep order: the
// outputs are bitwise the same. With `direct` (direct encoding), a node whose
// inputs do not change over time runs at timestep 0 only, and its outputs are
// copied into the later plans.
void run_layer_major(const Graph& graph, const std::vector<Plan*>& plans, bool direct);
// One step of it: node k (not folded) at timestep t. Returns false when,
// invariant, it was copied from timestep 0 rather than run.
bool run_layer_major_node(const Graph& graph, const std::vector<Plan*>& plans, size_t k, size_t t,
                          bool direct);

}  // namespace tspike::detail
