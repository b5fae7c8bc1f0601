// SPDX-License-Identifier: Apache-2.0
#include "runtime/profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>

namespace tspike::detail {

ProfileRecorder::ProfileRecorder(const Graph& graph, const Plan& plan, int timesteps) {
  nodes_ = static_cast<int>(graph.nodes.size());
  spike_nodes_ = static_cast<int>(plan.spike_counts.size());
  layer_of_node_.assign(nodes_, -1);
  size_t info_layer = 0;  // ModelInfo::layers lists the layers (OpTraits::layer) in graph order
  for (int k = 0; k < nodes_; ++k) {
    const GraphNode& node = graph.nodes[k];
    if (!node.traits->layer) continue;
    const bool spikes =
        info_layer < graph.info.layers.size() && graph.info.layers[info_layer].multiplication_free;
    const int64_t folded_pool =
        info_layer < graph.info.layers.size() ? graph.info.layers[info_layer].folded_pool : 1;
    ++info_layer;
    if (plan.nodes[k].folded || node.inputs.empty() || node.inputs[0] < 0 || node.outputs.empty() ||
        node.outputs[0] < 0)
      continue;
    const Shape& a = plan.values[node.inputs[0]].desc.shape;
    Layer layer;
    layer.node = k;
    layer.spikes = spikes;
    ops::FanOut fan;
    std::vector<const ops::ValueDesc*> inputs;
    for (int v : node.inputs) inputs.push_back(v < 0 ? nullptr : &plan.values[v].desc);
    node.op->fan_out(inputs, fan);  // every layer's op computes it
    // The table over the trailing axes is the product of the per-axis tables.
    layer.per_element = fan.per_element;
    layer.table = {1};
    for (const auto& axis : fan.axes) {
      std::vector<int64_t> next;
      next.reserve(layer.table.size() * axis.size());
      for (int64_t outer : layer.table)
        for (int64_t f : axis) next.push_back(outer * f);
      layer.table = std::move(next);
    }
    const int64_t inner = static_cast<int64_t>(layer.table.size());
    const int64_t outer = inner > 0 ? element_count(a) / inner : 0;
    layer.connections =
        layer.per_element * outer * std::accumulate(layer.table.begin(), layer.table.end(), int64_t{0});
    // A layer with an average pool folded in has window times the connections
    // of the layer as trained; the dense ANN is the network as trained.
    layer.dense_connections = layer.connections / std::max<int64_t>(folded_pool, 1);
    layer_of_node_[k] = static_cast<int>(layers_.size());
    layers_.push_back(std::move(layer));
  }
  reserve(timesteps);
}

void ProfileRecorder::reserve(int timesteps) {
  if (timesteps <= capacity_) return;
  capacity_ = timesteps;
  time_ns_.resize(size_t(capacity_) * nodes_);
  ops_.resize(size_t(capacity_) * layers_.size());
  spike_totals_.resize(size_t(capacity_) * spike_nodes_);
}

int64_t ProfileRecorder::count_accumulates(const Layer& layer, const ops::RunContext& ctx) const {
  const TensorRef& x = ctx.inputs[0];
  const float* data = x.f();
  const int64_t n = x.size(), inner = static_cast<int64_t>(layer.table.size());
  const int64_t* table = layer.table.data();
  int64_t sum = 0;
  // Branch-free: spikes are dense enough (5-80%) that a branch mispredicts often.
  for (int64_t base = 0; base < n; base += inner)
    for (int64_t s = 0; s < inner; ++s) sum += table[s] & -static_cast<int64_t>(data[base + s] != 0.0f);
  return sum * layer.per_element;
}

void ProfileRecorder::run_timestep(const Graph& graph, Plan& plan, bool skip_invariant) {
  // Past the reserved room (step() called more often than the Session's T):
  // grow by doubling, so this allocation is rare.
  if (steps_ >= capacity_) reserve(std::max(1, capacity_ * 2));
  int64_t* time_ns = time_ns_.data() + size_t(steps_) * nodes_;
  int64_t* ops = ops_.data() + size_t(steps_) * layers_.size();
  std::fill(time_ns, time_ns + nodes_, 0);
  std::fill(ops, ops + layers_.size(), 0);
  using Clock = std::chrono::steady_clock;
  for (int k = 0; k < nodes_; ++k) {
    PlannedNode& pn = plan.nodes[k];
    // The nodes run_timestep runs.
    if (pn.folded || (skip_invariant && pn.invariant)) continue;
    const auto start = Clock::now();
    graph.nodes[k].op->run(pn.ctx);
    time_ns[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    const int l = layer_of_node_[k];
    if (l >= 0) ops[l] = layer_ops(l, pn.ctx);
  }
  std::copy(plan.spike_counts.begin(), plan.spike_counts.end(),
            spike_totals_.begin() + size_t(steps_) * spike_nodes_);
  ++steps_;
}

void ProfileRecorder::run_layer_major(const Graph& graph, const std::vector<Plan*>& plans, bool direct) {
  const int timesteps = static_cast<int>(plans.size());
  if (steps_ + timesteps > capacity_) reserve(std::max(steps_ + timesteps, capacity_ * 2));
  const size_t first = size_t(steps_);
  std::fill(time_ns_.begin() + first * nodes_, time_ns_.begin() + (first + timesteps) * nodes_, 0);
  std::fill(ops_.begin() + first * layers_.size(), ops_.begin() + (first + timesteps) * layers_.size(), 0);
  std::fill(spike_totals_.begin() + first * spike_nodes_,
            spike_totals_.begin() + (first + timesteps) * spike_nodes_, 0);
  using Clock = std::chrono::steady_clock;
  const Plan& owner = *plans[0];  // the spike counters are the owner's, shared by the later plans
  for (int k = 0; k < nodes_; ++k) {
    if (owner.nodes[k].folded) continue;
    const int l = layer_of_node_[k], spike = owner.nodes[k].spike_index;
    for (int t = 0; t < timesteps; ++t) {
      const size_t row = first + size_t(t);
      const auto start = Clock::now();
      const bool ran = detail::run_layer_major_node(graph, plans, size_t(k), size_t(t), direct);
      time_ns_[row * nodes_ + k] =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
      if (ran && l >= 0) ops_[row * layers_.size() + l] = layer_ops(l, plans[t]->nodes[k].ctx);
      // This node's counter, cumulative through timestep t (no other node adds to it).
      if (spike >= 0) spike_totals_[row * spike_nodes_ + spike] = owner.spike_counts[spike];
    }
  }
  steps_ += timesteps;
  layer_major_ = true;
}

Profile ProfileRecorder::result(const Graph& graph, const Plan& plan) const {
  Profile p;
  p.timesteps = steps_;
  p.layer_major = layer_major_;
  p.batch = plan.frame_shape.empty() ? 0 : plan.frame_shape[0];
  p.nodes.resize(nodes_);
  for (int k = 0; k < nodes_; ++k) {
    const GraphNode& node = graph.nodes[k];
    const PlannedNode& pn = plan.nodes[k];
    NodeProfile& np = p.nodes[k];
    np.name = node.name;
    np.op_type = node.op_type;
    np.neuron = node.traits->neuron;
    if (!node.outputs.empty() && node.outputs[0] >= 0)
      np.output_shape = plan.values[node.outputs[0]].desc.shape;
    np.folded = pn.folded;
    np.time_ms.resize(steps_);
    for (int t = 0; t < steps_; ++t) {
      np.time_ms[t] = double(time_ns_[size_t(t) * nodes_ + k]) * 1e-6;
      np.total_time_ms += np.time_ms[t];
    }
    p.time_ms += np.total_time_ms;
    if (pn.spike_index >= 0) {
      const int s = pn.spike_index;
      const double elements = double(plan.spike_elements[s]);
      int64_t before = 0;
      for (int t = 0; t < steps_; ++t) {
        const int64_t total = spike_totals_[size_t(t) * spike_nodes_ + s];
        np.density.push_back(elements > 0 ? double(total - before) / elements : 0.0);
        before = total;
      }
      np.spikes = before;
    }
    const int l = layer_of_node_[k];
    if (l < 0) {
      if (node.traits->layer)
        np.synapses = SynapseKind::kMultiplyAccumulate;  // folded: no operation at run time
      continue;
    }
    const Layer& layer = layers_[l];
    np.synapses = layer.spikes ? SynapseKind::kAccumulate : SynapseKind::kMultiplyAccumulate;
    int64_t total = 0;
    for (int t = 0; t < steps_; ++t) {
      np.ops.push_back(ops_[size_t(t) * layers_.size() + l]);
      total += np.ops.back();
    }
    (layer.spikes ? np.ac : np.mac) = total;
    np.dense_macs = layer.dense_connections;
    np.energy_pj = double(np.ac) * kPicojoulesPerAC + double(np.mac) * kPicojoulesPerMAC;
    np.dense_energy_pj = double(np.dense_macs) * kPicojoulesPerMAC;
    p.ac += np.ac;
    p.mac += np.mac;
    p.dense_macs += np.dense_macs;
    p.energy_pj += np.energy_pj;
    p.dense_energy_pj += np.dense_energy_pj;
  }
  return p;
}

}  // namespace tspike::detail
