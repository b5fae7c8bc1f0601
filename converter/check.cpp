// Validation of a model against ONNX's rules and the format's own.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>

#include "converter/onnx_model.hpp"
#include "runtime/checked.hpp"

namespace tspike::convert {

namespace {

Error invalid(const std::string& file, const std::string& what) {
  return Error(ErrorCode::kInvalidModel, fmt::format("{}: {}", file, what));
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
  for (const auto& vi : g.input()) if (vi.name() == name) return from(vi);
  for (const auto& vi : g.value_info()) if (vi.name() == name) return from(vi);
  for (const auto& vi : g.output()) if (vi.name() == name) return from(vi);
  return std::nullopt;
}

void check_spike_node(const onnx::ModelProto& model, const onnx::NodeProto& node,
                      const std::string& file,
                      const std::unordered_map<std::string, const onnx::TensorProto*>& inits) {
  const std::string where = fmt::format("{}: TernarySpike node '{}'", file, node.name());
  for (const auto& a : node.attribute()) {
    const std::string& n = a.name();
    if (n == "threshold" || n == "decay") {
      if (a.type() != onnx::AttributeProto::FLOAT)
        throw Error(ErrorCode::kInvalidModel, fmt::format("{}: attribute {} must be a float", where, n));
      float v = a.f();
      if (n == "threshold" && !(std::isfinite(v) && v > 0))
        throw Error(ErrorCode::kInvalidModel, fmt::format("{}: threshold {} must be finite and > 0", where, v));
      if (n == "decay" && !(v >= 0 && v <= 1))
        throw Error(ErrorCode::kInvalidModel, fmt::format("{}: decay {} must be in [0, 1]", where, v));
    } else if (n == "mode") {
      if (a.type() != onnx::AttributeProto::STRING || (a.s() != "ternary" && a.s() != "binary"))
        throw Error(ErrorCode::kInvalidModel,
                    fmt::format("{}: mode must be \"ternary\" or \"binary\"", where));
    } else {
      throw Error(ErrorCode::kInvalidModel, fmt::format("{}: unknown attribute '{}'", where, n));
    }
  }
  auto x_shape = static_shape(model, node.input(0));
  if (x_shape && x_shape->size() < 2)
    throw Error(ErrorCode::kShapeMismatch,
                fmt::format("{}: input '{}' must be at least 2-D [N, C, ...], has rank {}", where,
                            node.input(0), x_shape->size()));
  if (node.input_size() < 2 || node.input(1).empty()) return;
  auto it = inits.find(node.input(1));
  if (it == inits.end())
    throw Error(ErrorCode::kInvalidModel,
                fmt::format("{}: amplitude '{}' must be an initializer", where, node.input(1)));
  const auto& amp = *it->second;
  int64_t count = 1, non_unit_dims = 0;
  for (int64_t d : amp.dims()) {
    count *= d;
    if (d != 1) non_unit_dims++;
  }
  const int64_t channels = (x_shape && (*x_shape)[1] > 0) ? (*x_shape)[1] : -1;
  if (count == 1) return;
  if (non_unit_dims > 1 || (channels > 0 && count != channels))
    throw Error(ErrorCode::kShapeMismatch,
                fmt::format("{}: amplitude '{}' has {} elements; it must have 1 or C = {} elements "
                            "in a shape whose other dimensions are 1",
                            where, node.input(1), count, channels));
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
// attributes are checked first, in subgraphs too.
void check_window_attributes(const onnx::GraphProto& graph, const std::string& file) {
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      for (const auto& g : a.graphs()) check_window_attributes(g, file);
      if (a.has_g()) check_window_attributes(a.g(), file);
      const std::string& n = a.name();
      const int64_t least = n == "pads" ? 0 : 1;
      // Pad's own pads may be negative (cropping); only windows' may not.
      const bool window = node.op_type().find("Conv") != std::string::npos ||
                          node.op_type().find("Pool") != std::string::npos;
      if (n == "strides" || n == "dilations" || n == "kernel_shape" || (n == "pads" && window)) {
        for (int64_t v : a.ints())
          if (v < least)
            throw invalid(file, fmt::format("node '{}' ({}): attribute {} has {}; each must be >= {}", node.name(),
                                            node.op_type(), n, v, least));
      } else if (n == "group" && a.has_i() && a.i() < 1) {
        throw invalid(file, fmt::format("node '{}' ({}): attribute group is {}; it must be >= 1", node.name(),
                                        node.op_type(), a.i()));
      }
    }
  }
}

}  // namespace

void check_model(onnx::ModelProto& model, const std::string& file, const Limits& limits) {
  register_schemas();
  auto& graph = *model.mutable_graph();
  if (graph.node_size() > limits.max_nodes)
    throw Error(ErrorCode::kResourceLimit,
                fmt::format("{}: {} nodes exceed the limit of {}", file, graph.node_size(), limits.max_nodes));

  // Opsets: the default domain, and ours when used.
  std::unordered_map<std::string, int64_t> opsets;
  for (const auto& op : model.opset_import()) opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
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
                    fmt::format("{}: node '{}': op {} is experimental in ONNX; tspike does not support it", file,
                                node.name(), node.op_type()));
      if (schema) continue;
    } else if (node.op_type() == kSpikeOp) {
      continue;
    }
    throw Error(ErrorCode::kUnsupportedOp,
                fmt::format("{}: node '{}': unknown op {}{} (neither an ONNX op of opset {} nor tspike::{})", file,
                            node.name(), ours ? "tspike::" : "", node.op_type(), opsets[""], kSpikeOp));
  }

  // Every node gets a unique name: errors and reports refer to nodes by it.

  std::set<std::string> names;
  for (int k = 0; k < graph.node_size(); ++k) {
    auto& node = *graph.mutable_node(k);
    if (node.name().empty() || names.count(node.name())) {
      std::string base = node.name().empty() ? node.op_type() + "_" + std::to_string(k) : node.name() + "_" + std::to_string(k);
      std::string unique = base;
      for (int s = 1; names.count(unique); ++s) unique = base + "_" + std::to_string(s);
      node.set_name(unique);
    }
    names.insert(node.name());
  }
  if (const std::string cycle = find_cycle(graph); !cycle.empty())
    throw invalid(file, fmt::format("the graph has a cycle: {} (each feeds the next)", cycle));

  // Initializers read as weights (every input of Conv, Gemm, MatMul,
  // BatchNormalization; a TernarySpike's amplitude) must be finite: a NaN
  // or infinity there would silently poison every output.
  std::unordered_map<std::string, std::string> weight_use;  // initializer -> its first such use
  for (const auto& node : graph.node()) {
    const std::string& op = node.op_type();
    const bool spike = node.domain() == kDomain && op == kSpikeOp;
    const bool linear = (node.domain().empty() || node.domain() == "ai.onnx") &&
                        (op == "Conv" || op == "Gemm" || op == "MatMul" || op == "BatchNormalization");
    if (!spike && !linear) continue;
    for (int k = spike ? 1 : 0; k < (spike ? std::min(2, node.input_size()) : node.input_size()); ++k)
      if (!node.input(k).empty())
        weight_use.emplace(node.input(k), fmt::format("input {} of node '{}' ({})", k, node.name(), op));
  }

  // Initializers: sizes and data lengths before anything trusts them.
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : graph.initializer()) {
    const ConstTensor value = tensor_from_proto(t, fmt::format("{}: initializer '{}'", file, t.name()), limits);
    if (!inits.emplace(t.name(), &t).second)
      throw invalid(file, fmt::format("initializer '{}' is defined twice", t.name()));
    auto use = weight_use.find(t.name());
    if (use == weight_use.end() || value.dtype != DType::kFloat32) continue;
    for (size_t k = 0; k < value.f.size(); ++k)
      if (!std::isfinite(value.f[k]))
        throw invalid(file, fmt::format("initializer '{}' ({}) holds a non-finite value ({}) at index {}", t.name(),
                                        use->second, value.f[k], k));
  }

  // Exactly one input that is not an initializer, float32 (before ONNX's
  // checker, so that its declared shape is judged here first).
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : graph.input())
    if (!inits.count(in.name())) inputs.push_back(&in);
  if (inputs.size() != 1)
    throw invalid(file, fmt::format("the graph must have exactly one input that is not an initializer, has {}",
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
        throw invalid(file, fmt::format("graph input '{}' declares a dimension of {}; dimensions must be >= 1",
                                        inputs[0]->name(), d.dim_value()));
      declared.push_back(d.dim_value());
    }
    text += "]";
    if (detail::bounded_element_count(declared, limits.max_tensor_elements) > limits.max_tensor_elements)
      throw Error(ErrorCode::kResourceLimit,
                  fmt::format("{}: graph input '{}' declares shape {}, more than {} elements (the limit on "
                              "tensor elements)", file, inputs[0]->name(), text, limits.max_tensor_elements));
  }
  if (graph.output_size() == 0) throw invalid(file, "the graph has no output");

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw invalid(file, fmt::format("ONNX checker: {}", e.what()));
  }
  check_window_attributes(graph, file);
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, true));
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kShapeMismatch, fmt::format("{}: ONNX shape inference: {}", file, e.what()));
  }

  for (const auto& node : graph.node())
    if (node.domain() == kDomain) {
      if (node.op_type() != kSpikeOp)
        throw Error(ErrorCode::kUnsupportedOp,
                    fmt::format("{}: node '{}': unknown op tspike::{}", file, node.name(), node.op_type()));
      check_spike_node(model, node, file, inits);
    }
  (void)read_metadata(model, file);
}

}  // namespace tspike::convert
