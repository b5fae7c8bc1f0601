// SPDX-License-Identifier: Apache-2.0
// reparameterize(): runs the converter's passes (spec section 3) and holds the
// small graph-editing helpers they share.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "converter/passes.hpp"

namespace tspike::convert {

onnx::TensorProto* find_initializer(onnx::GraphProto& g, const std::string& name) {
  if (name.empty()) return nullptr;
  for (auto& t : *g.mutable_initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

onnx::NodeProto* find_producer(onnx::GraphProto& g, const std::string& value) {
  if (value.empty()) return nullptr;
  for (auto& n : *g.mutable_node())
    for (const auto& o : n.output())
      if (o == value) return &n;
  return nullptr;
}

std::vector<std::pair<onnx::NodeProto*, int>> find_uses(onnx::GraphProto& g, const std::string& value) {
  std::vector<std::pair<onnx::NodeProto*, int>> uses;
  for (auto& n : *g.mutable_node())
    for (int k = 0; k < n.input_size(); ++k)
      if (n.input(k) == value) uses.emplace_back(&n, k);
  return uses;
}

bool is_graph_output(const onnx::GraphProto& g, const std::string& value) {
  for (const auto& o : g.output())
    if (o.name() == value) return true;
  return false;
}

int use_count(const onnx::GraphProto& g, const std::string& value) {
  int count = is_graph_output(g, value) ? 1 : 0;
  for (const auto& n : g.node())
    for (const auto& in : n.input())
      if (in == value) count++;
  return count;
}

std::string unique_name(const onnx::GraphProto& g, const std::string& base) {
  std::unordered_set<std::string> taken;
  for (const auto& n : g.node()) {
    taken.insert(n.name());
    for (const auto& v : n.output()) taken.insert(v);
    for (const auto& v : n.input()) taken.insert(v);
  }
  for (const auto& t : g.initializer()) taken.insert(t.name());
  for (const auto& v : g.input()) taken.insert(v.name());
  for (const auto& v : g.output()) taken.insert(v.name());
  for (const auto& v : g.value_info()) taken.insert(v.name());
  std::string name = base;
  for (int k = 1; taken.count(name); ++k) name = fmt::format("{}_{}", base, k);
  return name;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : dflt;
}

float attr_float(const onnx::NodeProto& n, const std::string& name, float dflt) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : dflt;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name) {
  const auto* a = find_attr(n, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

onnx::TensorProto* add_initializer(PassContext& ctx, onnx::TensorProto t) {
  Shape dims(t.dims().begin(), t.dims().end());
  // IR version 3 and older require every initializer to be a graph input too.
  if (ctx.model.ir_version() <= 3) {
    auto* in = ctx.graph.add_input();
    in->set_name(t.name());
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(t.data_type());
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }
  ctx.shapes[t.name()] = dims;
  auto* stored = ctx.graph.add_initializer();
  *stored = std::move(t);
  return stored;
}

ConstTensor read_tensor(const PassContext& ctx, const onnx::TensorProto& t) {
  return tensor_from_proto(t, fmt::format("{}: initializer '{}'", ctx.file, t.name()), ctx.options.limits);
}

void write_tensor(onnx::TensorProto& t, const ConstTensor& value) { t = tensor_to_proto(value, t.name()); }

onnx::TensorProto* owned_initializer(PassContext& ctx, onnx::NodeProto& node, int slot) {
  if (slot >= node.input_size()) return nullptr;
  const std::string name = node.input(slot);
  onnx::TensorProto* t = find_initializer(ctx.graph, name);
  if (!t || use_count(ctx.graph, name) <= 1) return t;
  onnx::TensorProto copy = *t;
  copy.set_name(unique_name(ctx.graph, name + "_" + node.name()));
  node.set_input(slot, copy.name());
  return add_initializer(ctx, std::move(copy));
}

onnx::NodeProto* insert_node_before(onnx::GraphProto& g, const onnx::NodeProto* anchor,
                                    onnx::NodeProto node) {
  auto* nodes = g.mutable_node();
  int pos = nodes->size();
  for (int k = 0; k < nodes->size(); ++k)
    if (&nodes->Get(k) == anchor) pos = k;
  onnx::NodeProto* added = nodes->Add();
  *added = std::move(node);
  // Bubble the new node down to `pos`; swapping moves pointers, not nodes.
  for (int k = nodes->size() - 1; k > pos; --k) nodes->SwapElements(k, k - 1);
  return added;
}

void remove_dead(onnx::GraphProto& g) {
  // Nodes are in topological order, so one backward sweep finds every node
  // whose outputs nobody needs.
  std::unordered_set<std::string> needed;
  for (const auto& o : g.output()) needed.insert(o.name());
  std::vector<bool> live(g.node_size(), false);
  for (int k = g.node_size() - 1; k >= 0; --k) {
    const auto& n = g.node(k);
    for (const auto& o : n.output())
      if (!o.empty() && needed.count(o)) live[k] = true;
    if (live[k])
      for (const auto& in : n.input()) needed.insert(in);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int k = 0; k < g.node_size(); ++k)
    if (live[k]) *nodes.Add() = std::move(*g.mutable_node(k));
  g.mutable_node()->Swap(&nodes);

  std::unordered_set<std::string> dropped;
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  for (auto& t : *g.mutable_initializer()) {
    if (needed.count(t.name()))
      *inits.Add() = std::move(t);
    else
      dropped.insert(t.name());
  }
  g.mutable_initializer()->Swap(&inits);
  // An IR <= 3 model lists initializers as graph inputs: drop those entries too.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (auto& in : *g.mutable_input())
    if (!dropped.count(in.name())) *inputs.Add() = std::move(in);
  g.mutable_input()->Swap(&inputs);
}

namespace {

void collect_shapes(PassContext& ctx) {
  auto add = [&](const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
    Shape s;
    for (const auto& d : vi.type().tensor_type().shape().dim())
      s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    ctx.shapes[vi.name()] = s;
  };
  for (const auto& vi : ctx.graph.input()) add(vi);
  for (const auto& vi : ctx.graph.value_info()) add(vi);
  for (const auto& vi : ctx.graph.output()) add(vi);
  for (const auto& t : ctx.graph.initializer())
    ctx.shapes[t.name()] = Shape(t.dims().begin(), t.dims().end());
}

// value_info entries of values the passes removed or renamed would only
// confuse later shape inference.
void prune_value_info(onnx::GraphProto& g) {
  std::unordered_set<std::string> produced;
  for (const auto& n : g.node())
    for (const auto& o : n.output()) produced.insert(o);
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (auto& vi : *g.mutable_value_info())
    if (produced.count(vi.name())) *kept.Add() = std::move(vi);
  g.mutable_value_info()->Swap(&kept);
}

void set_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  for (auto& kv : *model.mutable_metadata_props())
    if (kv.key() == key) return kv.set_value(value);
  auto* kv = model.add_metadata_props();
  kv->set_key(key);
  kv->set_value(value);
}

}  // namespace

ConversionReport reparameterize(onnx::ModelProto& model, const std::string& name,
                                const ConvertOptions& options) {
  ConversionReport report;
  for (const auto& kv : model.metadata_props())
    if (kv.key() == "tspike.reparameterized" && kv.value() == "1") {
      report.already_reparameterized = true;
      return report;
    }

  PassContext ctx(model, name, options, report);
  ctx.opset = default_opset(model);
  collect_shapes(ctx);

  fold_views(ctx);
  fold_pads(ctx);
  remove_dead(ctx.graph);
  fold_batchnorm(ctx);
  fold_amplitudes(ctx);
  fold_pools(ctx);
  remove_dead(ctx.graph);
  prune_value_info(ctx.graph);

  if (!ctx.pool_folds.empty()) {
    // Entries the file already had (a hand-written one) stay unless refolded.
    ModelMetadata md = read_metadata(model, name);
    for (const auto& [node, window] : ctx.pool_folds) md.pool_folds[node] = window;
    set_metadata(model, "tspike.pool_folds", nlohmann::json(md.pool_folds).dump());
  }
  set_metadata(model, "tspike.reparameterized", "1");
  return report;
}

}  // namespace tspike::convert
