// The executable graph of a loaded model (internal).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/op.hpp"
#include "base/values.hpp"
#include "tspike/model.hpp"

namespace tspike::detail {

struct GraphValue {
  std::string name;
  std::shared_ptr<const ConstTensor> initializer;  // null unless an initializer
  int producer = -1;                               // node index, -1 for input/initializer
  std::vector<int> consumers;                      // node indices
};

struct GraphNode {
  std::string name;
  std::string op_type;
  const ops::OpTraits* traits = nullptr;  // the registry entry's
  std::vector<int> inputs;  // value indices, -1 for an absent optional input
  std::vector<int> outputs;
  std::unique_ptr<ops::Op> op;
  // A layer and the TernarySpike it runs in its kernel (Op::fuse_neuron;
  // decided at load): the layer's fused_neuron is the neuron's index, the
  // neuron's fused_into the layer's. -1: not fused.
  int fused_neuron = -1;
  int fused_into = -1;
};

struct Graph {
  std::vector<GraphValue> values;
  std::vector<GraphNode> nodes;  // topological order
  int input = -1;                // the one non-initializer graph input
  std::vector<int> outputs;
  ModelInfo info;
  Limits limits;
  // LoadOptions::neuron_event_maps (or TSPIKE_NEURON_MAPS): plans let a
  // neuron write its event-driven reader's spike map (runtime/plan.cpp).
  bool neuron_event_maps = false;
};

// "node 'conv1' (Conv): " — the prefix of every node error.
std::string node_prefix(const std::string& name, const std::string& op_type);

}  // namespace tspike::detail

namespace tspike {

struct Model::Impl {
  detail::Graph graph;
};

namespace detail {
inline const Graph& graph_of(const Model& model) { return model.impl().graph; }
}  // namespace detail

}  // namespace tspike
