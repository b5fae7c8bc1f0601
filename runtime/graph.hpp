// SPDX-License-Identifier: Apache-2.0
// The executable graph of a loaded model (internal).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/values.hpp"
#include "ops/op.hpp"
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
  std::vector<int> inputs;                // value indices, -1 for an absent optional input
  std::vector<int> outputs;
  std::unique_ptr<ops::Op> op;
};

struct Graph {
  std::vector<GraphValue> values;
  std::vector<GraphNode> nodes;  // topological order
  int input = -1;                // the one non-initializer graph input
  std::vector<int> outputs;
  ModelInfo info;
  Limits limits;
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
