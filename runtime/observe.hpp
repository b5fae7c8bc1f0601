// SPDX-License-Identifier: Apache-2.0
// The node outputs a Session watches (Session::observe; internal).
//
// Watched values are kept in memory until the end of the timestep (the plan
// gives them the lifetime of a graph output), and the observer is called
// once the timestep has run, so the timestep loop itself is untouched.
#pragma once

#include <string>
#include <vector>

#include "runtime/plan.hpp"
#include "tspike/observer.hpp"

namespace tspike::detail {

class Observation {
 public:
  // Throws Error(kBadInput) naming a node that is not in `graph`.
  Observation(const Graph& graph, const std::vector<std::string>& nodes, NodeObserver observer);
  // The values whose memory must outlive the timestep (for make_plan).
  const std::vector<int>& values() const { return values_; }
  // Calls the observer for every watched node output of this timestep.
  void notify(const Graph& graph, const Plan& plan, int timestep) const;

 private:
  std::vector<int> nodes_;   // node indices, graph order
  std::vector<int> values_;  // their output values
  NodeObserver observer_;
};

}  // namespace tspike::detail
