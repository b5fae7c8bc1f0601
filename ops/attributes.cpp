// SPDX-License-Identifier: Apache-2.0
#include "ops/attributes.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

namespace tspike::ops {

Attributes::Attributes(const onnx::NodeProto& node, std::string node_name)
    : node_(node), name_(std::move(node_name)) {}

const onnx::AttributeProto* Attributes::find(const std::string& name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

bool Attributes::has(const std::string& name) const { return find(name) != nullptr; }

Error Attributes::error(ErrorCode code, const std::string& message) const {
  return Error(code, fmt::format("node '{}' ({}): {}", name_, node_.op_type(), message));
}

int64_t Attributes::get_int(const std::string& name, int64_t fallback) const {
  auto a = find(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INT)
    throw error(ErrorCode::kInvalidModel, fmt::format("attribute '{}' must be an int", name));
  return a->i();
}

float Attributes::get_float(const std::string& name, float fallback) const {
  auto a = find(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT)
    throw error(ErrorCode::kInvalidModel, fmt::format("attribute '{}' must be a float", name));
  return a->f();
}

std::string Attributes::get_string(const std::string& name, const std::string& fallback) const {
  auto a = find(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::STRING)
    throw error(ErrorCode::kInvalidModel, fmt::format("attribute '{}' must be a string", name));
  return a->s();
}

std::vector<int64_t> Attributes::get_ints(const std::string& name, std::vector<int64_t> fallback) const {
  auto a = find(name);
  if (!a) return fallback;
  if (a->type() != onnx::AttributeProto::INTS)
    throw error(ErrorCode::kInvalidModel, fmt::format("attribute '{}' must be a list of ints", name));
  return {a->ints().begin(), a->ints().end()};
}

}  // namespace tspike::ops
