// SPDX-License-Identifier: Apache-2.0
// Watching what nodes compute, timestep by timestep (Session::observe): for
// comparing a network with its PyTorch run layer by layer, or for recording
// spike maps (tsrun --trace writes them as .npy files).
#pragma once

#include <functional>
#include <string>

#include "tspike/tensor.hpp"

namespace tspike {

// One output of one node at one timestep. Every member refers to memory of
// the Session: valid only during the observer call. Copy what you keep (the
// runtime reuses the memory for other values in the next timestep).
struct NodeOutput {
  int timestep = 0;            // 0-based: since run() started, or since reset() for step()
  const std::string& node;     // the node's name (ONNX NodeProto.name)
  const std::string& op_type;  // "TernarySpike", "Conv", ...
  const std::string& value;    // the output value's name
  const Shape& shape;          // [N, ...] for this timestep
  const float* data;           // element_count(shape) floats, row-major
};

// Called on the thread that runs the Session, after the timestep's nodes
// have run and before its outputs are read out. It must not call back into
// the same Session. An exception it throws propagates out of run() / step()
// and leaves the Session as an Error does (run() starts afresh).
using NodeObserver = std::function<void(const NodeOutput&)>;

}  // namespace tspike
