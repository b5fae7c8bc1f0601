// SPDX-License-Identifier: Apache-2.0
// Validation of a model against ONNX's rules and the format's own.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>

#include "base/checked.hpp"
#include "converter/onnx_model.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

Error invalid(const std::string& file, const std::string& what) {
  return Error(ErrorCode::kInvalidModel, fmt::format("{}: {}", file, what));
}

// "tspike::TernarySpike, ...": the ops of tspike's own domain.
std::string tspike_domain_ops() {
  std::string names;
  for (const auto& e : ops::op_registry())
    if (e.domain == std::string(kDomain))
      names += (names.empty() ? "" : ", ") + std::string("tspike::") + e.op_type;
  return names;
}

// Shape of a value as shape inference left it: -1 for unknown dims; empty
// optional when the rank is unknown.
std::optional<Shape> static_shape(const onnx::ModelProto& model, const std::string& name) {
  auto from = [](const onnx::ValueInfoProto& vi) -> std::optional<Shape> {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return std::nullopt;
    Shape s;
    for (const auto& d : vi.type().tensor_type().shape().dim())
      s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return s;
  };
  const auto& g = model.graph();
  for (const auto& vi : g.input())
    if (vi.name() == name) return from(vi);
  for (const auto& vi : g.value_info())
    if (vi.name() == name) return from(vi);
  for (const auto& vi : g.output())
    if (vi.name() == name) return from(vi);
  return std::nullopt;
}

// Finds a cycle among the nodes (a value read by a node that, directly or
// not, depends on that node's own output) and describes it, "a -> b -> a"
// (the output of each feeds the next);
// empty when there is none. Iterative: a hostile graph may be deep.
std::string find_cycle(const onnx::GraphProto& graph) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int k = 0; k < n; ++k)
    for (const auto& out : graph.node(k).output())
      if (!out.empty()) producer.emplace(out, k);
  std::vector<std::vector<int>> deps(n);  // node -> the nodes producing its inputs
  for (int k = 0; k < n; ++k)
    for (const auto& in : graph.node(k).input()) {
      auto it = producer.find(in);
      if (it != producer.end()) deps[k].push_back(it->second);
    }
  std::vector<int> state(n, 0), parent(n, -1);  // 0 new, 1 on the stack, 2 done
  std::vector<std::pair<int, size_t>> stack;
  for (int root = 0; root < n; ++root) {
    if (state[root]) continue;
    stack.push_back({root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next == deps[node].size()) {
        state[node] = 2;
        stack.pop_back();
        continue;
      }
      const int dep = deps[node][next++];
      if (state[dep] == 1) {  // back edge: dep ... node -> dep
        std::vector<std::string> names{graph.node(dep).name()};
        for (int k = node; k != dep && k >= 0; k = parent[k]) names.push_back(graph.node(k).name());
        names.push_back(graph.node(dep).name());
        std::string text;
        for (size_t k = 0; k < names.size(); ++k) text += (k ? " -> " : "") + ("'" + names[k] + "'");
        return text;
      }
      if (state[dep] == 0) {
        state[dep] = 1;
        parent[dep] = node;
        stack.push_back({dep, 0});
      }
    }
  }
  return {};
}

// ONNX's shape inference divides by strides and dilations without checking
// them (a Conv with strides [0, 2] raised SIGFPE inside libonnx), so window
// attributes are checked first, in subgraphs too, for every op ONNX defines.
void check_window_attributes(const onnx::GraphProto& graph, const std::string& file, int opset) {
  for (const auto& node : graph.node()) {
    // A window op (convolutions, pools) has strides; its pads may not be
    // negative, while those of an op without a window (Pad) may (cropping).
    const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, node.domain());
    const bool window = schema && schema->attributes().count("strides");
    for (const auto& a : node.attribute()) {
      for (const auto& g : a.graphs()) check_window_attributes(g, file, opset);
      if (a.has_g()) check_window_attributes(a.g(), file, opset);
      const std::string& n = a.name();
      const int64_t least = n == "pads" ? 0 : 1;
      if (n == "strides" || n == "dilations" || n == "kernel_shape" || (n == "pads" && window)) {
        for (int64_t v : a.ints())
          if (v < least)
            throw invalid(file, fmt::format("node '{}' ({}): attribute {} has {}; each must be >= {}",
                                            node.name(), node.op_type(), n, v, least));
      } else if (n == "group" && a.has_i() && a.i() < 1) {
        throw invalid(file, fmt::format("node '{}' ({}): attribute group is {}; it must be >= 1", node.name(),
                                        node.op_type(), a.i()));
      }
    }
  }
}

}  // namespace

void check_model(onnx::ModelProto& model, const std::string& file, const Limits& limits) {
  ops::register_schemas();
  auto& graph = *model.mutable_graph();
  if (graph.node_size() > limits.max_nodes)
    throw Error(ErrorCode::kResourceLimit, fmt::format("{}: {} nodes exceed the limit of {}", file,
                                                       graph.node_size(), limits.max_nodes));

  // Opsets: the default domain, and ours when used.
  std::unordered_map<std::string, int64_t> opsets;
  for (const auto& op : model.opset_import())
    opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  if (!opsets.count("")) throw invalid(file, "opset_import lacks the default ONNX domain");
  if (opsets[""] < 7) throw invalid(file, fmt::format("ONNX opset {} is too old (7 or newer)", opsets[""]));
  for (const auto& node : graph.node()) {
    const std::string& d = node.domain();
    if (d.empty() || d == "ai.onnx") continue;
    if (d != kDomain)
      throw Error(ErrorCode::kUnsupportedOp,
                  fmt::format("{}: node '{}' uses domain '{}', which tspike does not implement", file,
                              node.name(), d));
    if (opsets.count(kDomain) == 0 || opsets[kDomain] != 1)
      throw invalid(file, "opset_import must list {domain: \"tspike\", version: 1}");
  }
  // An op that neither ONNX (at the model's opset) nor tspike defines, or an
  // experimental one (ONNX's checker would only print a warning on stderr).
  for (const auto& node : graph.node()) {
    const bool ours = node.domain() == kDomain;
    if (!ours) {
      const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opsets[""]), "");
      if (schema && schema->support_level() == onnx::OpSchema::SupportType::EXPERIMENTAL)
        throw Error(ErrorCode::kUnsupportedOp,
                    fmt::format("{}: node '{}': op {} is experimental in ONNX; tspike does not support it",
                                file, node.name(), node.op_type()));
      if (schema) continue;
    } else if (ops::find_op(kDomain, node.op_type())) {
      continue;
    }
    throw Error(
        ErrorCode::kUnsupportedOp,
        fmt::format("{}: node '{}': unknown op {}{} (neither an ONNX op of opset {} nor one of tspike's: {})",
                    file, node.name(), ours ? "tspike::" : "", node.op_type(), opsets[""],
                    tspike_domain_ops()));
  }

  // Every node gets a unique name: errors and reports refer to nodes by it.

  std::set<std::string> names;
  for (int k = 0; k < graph.node_size(); ++k) {
    auto& node = *graph.mutable_node(k);
    if (node.name().empty() || names.count(node.name())) {
      std::string base = node.name().empty() ? node.op_type() + "_" + std::to_string(k)
                                             : node.name() + "_" + std::to_string(k);
      std::string unique = base;
      for (int s = 1; names.count(unique); ++s) unique = base + "_" + std::to_string(s);
      node.set_name(unique);
    }
    names.insert(node.name());
  }
  if (const std::string cycle = find_cycle(graph); !cycle.empty())
    throw invalid(file, fmt::format("the graph has a cycle: {} (each feeds the next)", cycle));

  // Initializers read as weights (OpTraits::first_weight_input: a layer's
  // or BatchNormalization's inputs, a TernarySpike's amplitude) must be
  // finite: a NaN or infinity there would silently poison every output.
  std::unordered_map<std::string, std::string> weight_use;  // initializer -> its first such use
  for (const auto& node : graph.node()) {
    const ops::OpTraits* traits = ops::find_traits(node.domain(), node.op_type());
    if (!traits || traits->first_weight_input < 0) continue;
    for (int k = traits->first_weight_input; k < node.input_size(); ++k)
      if (!node.input(k).empty())
        weight_use.emplace(node.input(k),
                           fmt::format("input {} of node '{}' ({})", k, node.name(), node.op_type()));
  }

  // Initializers: sizes and data lengths before anything trusts them.
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : graph.initializer()) {
    const ConstTensor value =
        tensor_from_proto(t, fmt::format("{}: initializer '{}'", file, t.name()), limits);
    if (!inits.emplace(t.name(), &t).second)
      throw invalid(file, fmt::format("initializer '{}' is defined twice", t.name()));
    auto use = weight_use.find(t.name());
    if (use == weight_use.end() || value.dtype != DType::kFloat32) continue;
    for (size_t k = 0; k < value.f.size(); ++k)
      if (!std::isfinite(value.f[k]))
        throw invalid(file, fmt::format("initializer '{}' ({}) holds a non-finite value ({}) at index {}",
                                        t.name(), use->second, value.f[k], k));
  }

  // Exactly one input that is not an initializer, float32 (before ONNX's
  // checker, so that its declared shape is judged here first).
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : graph.input())
    if (!inits.count(in.name())) inputs.push_back(&in);
  if (inputs.size() != 1)
    throw invalid(file,
                  fmt::format("the graph must have exactly one input that is not an initializer, has {}",
                              inputs.size()));
  const auto& type = inputs[0]->type();
  if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
    throw invalid(file, fmt::format("graph input '{}' must be a float32 tensor", inputs[0]->name()));
  // Its declared dims: positive, and few enough elements (unknown dims,
  // the batch size normally, count as 1) to be planned within the limits.
  if (type.tensor_type().has_shape()) {
    Shape declared;
    std::string text = "[";
    for (const auto& d : type.tensor_type().shape().dim()) {
      if (text.size() > 1) text += ",";
      if (!d.has_dim_value()) {
        text += d.has_dim_param() && !d.dim_param().empty() ? d.dim_param() : "?";
        continue;
      }
      text += std::to_string(d.dim_value());
      if (d.dim_value() <= 0)
        throw invalid(file,
                      fmt::format("graph input '{}' declares a dimension of {}; dimensions must be >= 1",
                                  inputs[0]->name(), d.dim_value()));
      declared.push_back(d.dim_value());
    }
    text += "]";
    if (detail::bounded_element_count(declared, limits.max_tensor_elements) > limits.max_tensor_elements)
      throw Error(ErrorCode::kResourceLimit,
                  fmt::format("{}: graph input '{}' declares shape {}, more than {} elements (the limit on "
                              "tensor elements)",
                              file, inputs[0]->name(), text, limits.max_tensor_elements));
  }
  if (graph.output_size() == 0) throw invalid(file, "the graph has no output");

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw invalid(file, fmt::format("ONNX checker: {}", e.what()));
  }
  check_window_attributes(graph, file, static_cast<int>(opsets[""]));
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, true));
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kShapeMismatch, fmt::format("{}: ONNX shape inference: {}", file, e.what()));
  }

  // The format's own rules for each op (OpTraits::check).
  for (const auto& node : graph.node()) {
    const ops::OpTraits* traits = ops::find_traits(node.domain(), node.op_type());
    if (!traits || !traits->check) continue;
    ops::NodeFacts facts;
    for (const auto& in : node.input()) {
      facts.input_shapes.push_back(in.empty() ? std::nullopt : static_shape(model, in));
      auto it = in.empty() ? inits.end() : inits.find(in);
      facts.initializers.push_back(it == inits.end() ? nullptr : it->second);
    }
    try {
      traits->check(node, facts);
    } catch (const Error& e) {
      throw Error(e.code(), fmt::format("{}: {}", file, e.what()));
    }
  }
  (void)read_metadata(model, file);
}

}  // namespace tspike::convert
