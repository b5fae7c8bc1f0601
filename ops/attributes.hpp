// SPDX-License-Identifier: Apache-2.0
// Typed access to a node's attributes, with errors that name the node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tspike/error.hpp"

namespace onnx {
class NodeProto;
class AttributeProto;
}  // namespace onnx

namespace tspike::ops {

class Attributes {
 public:
  Attributes(const onnx::NodeProto& node, std::string node_name);

  bool has(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  float get_float(const std::string& name, float fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name, std::vector<int64_t> fallback = {}) const;
  const onnx::AttributeProto* find(const std::string& name) const;

  // Error(code, "node 'name' (Op): message").
  Error error(ErrorCode code, const std::string& message) const;
  const std::string& node_name() const { return name_; }

 private:
  const onnx::NodeProto& node_;
  std::string name_;
};

}  // namespace tspike::ops
