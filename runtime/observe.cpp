// SPDX-License-Identifier: Apache-2.0
#include "runtime/observe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "tspike/error.hpp"

namespace tspike::detail {

Observation::Observation(const Graph& graph, const std::vector<std::string>& nodes, NodeObserver observer)
    : observer_(std::move(observer)) {
  std::unordered_map<std::string, int> index;
  for (size_t k = 0; k < graph.nodes.size(); ++k) index.emplace(graph.nodes[k].name, static_cast<int>(k));
  for (const auto& name : nodes) {
    const auto it = index.find(name);
    if (it == index.end())
      throw Error(ErrorCode::kBadInput,
                  fmt::format("{}: observe(): the model has no node '{}'", graph.info.path, name));
    nodes_.push_back(it->second);
  }
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  for (int k : nodes_)
    for (int v : graph.nodes[k].outputs)
      if (v >= 0) values_.push_back(v);
}

void Observation::notify(const Graph& graph, const Plan& plan, int timestep) const {
  for (int k : nodes_) {
    // Constants computed when planning are no per-timestep output.
    if (plan.nodes[k].folded) continue;
    const GraphNode& node = graph.nodes[k];
    for (int v : node.outputs) {
      if (v < 0) continue;
      const PlannedValue& pv = plan.values[v];
      // Values computed from the input are float32 (make_plan refuses others).
      if (pv.offset < 0 || pv.desc.dtype != DType::kFloat32) continue;
      observer_(NodeOutput{timestep, node.name, node.op_type, graph.values[v].name, pv.desc.shape,
                           plan.arena.data() + pv.offset});
    }
  }
}

}  // namespace tspike::detail
