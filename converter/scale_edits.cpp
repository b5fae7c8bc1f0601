// SPDX-License-Identifier: Apache-2.0
// Pass c, second half: carrying out the amplitude plan of fold_amplitudes.cpp
// on the model (scaled weights, scale Muls on edges and graph outputs).
#include <fmt/format.h>

#include "converter/passes.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

float at(const Scale& s, int64_t c) { return s.size() == 1 ? s[0] : s[c]; }

std::string describe(const onnx::NodeProto& n) { return n.op_type() + " " + n.name(); }

Error internal(const PassContext& ctx, const std::string& what) {
  return Error(ErrorCode::kInvalidModel, fmt::format("{}: {}", ctx.file, what));
}

// The constant of a scale Mul on `value`: [1, C, 1, ...] with the value's
// rank, so that it broadcasts along axis 1 (just [1] for a single value).
ConstTensor scale_constant(const PassContext& ctx, const Scale& s, const std::string& value) {
  ConstTensor t;
  t.f = s;
  if (s.size() == 1) {
    t.shape = {1};
    return t;
  }
  const Shape* shape = ctx.shape(value);
  if (!shape || shape->size() < 2)  // the planner checked this
    throw internal(ctx, fmt::format("cannot scale '{}' per channel: its rank is unknown", value));
  t.shape.assign(shape->size(), 1);
  t.shape[1] = int64_t(s.size());
  return t;
}

// Inserts Mul(input, scale) -> output right before `anchor` (appends when
// null). Returns the new node.
onnx::NodeProto* insert_scale_mul(PassContext& ctx, const onnx::NodeProto* anchor, const std::string& input,
                                  const std::string& output, const Scale& s) {
  const std::string k_name = unique_name(ctx.graph, input + "_scale");
  add_initializer(ctx, tensor_to_proto(scale_constant(ctx, s, input), k_name));
  onnx::NodeProto mul;
  mul.set_op_type("Mul");
  mul.set_name(unique_name(ctx.graph, output + "_scale_mul"));
  mul.add_input(input);
  mul.add_input(k_name);
  mul.add_output(output);
  if (auto it = ctx.shapes.find(input); it != ctx.shapes.end()) ctx.shapes[output] = it->second;
  ctx.scale_muls.insert(mul.name());
  return insert_node_before(ctx.graph, anchor, std::move(mul));
}

// The weights of layer n times the scale of their input feature (the
// planner checked the layout), per the op's WeightLayout.
void scale_weights(PassContext& ctx, onnx::NodeProto& n, const Scale& s) {
  onnx::TensorProto* t = owned_initializer(ctx, n, 1);
  ConstTensor w = read_tensor(ctx, *t);
  ops::WeightLayout layout;
  const ops::OpTraits* traits = ops::find_traits(n.domain(), n.op_type());
  const std::string why =
      traits && traits->layer ? traits->layer->weight_layout(n, w.shape, -1, layout) : "not a layer";
  if (!why.empty()) throw internal(ctx, fmt::format("cannot scale the weights of {}: {}", describe(n), why));
  for_each_weight(w.shape, layout,
                  [&](int64_t k, int64_t /*out*/, int64_t feature) { w.f[k] *= at(s, feature); });
  write_tensor(*t, w);
}

// A scale Mul met again (a second spike's scale reaching it through a
// Concat): fold that scale into its constant.
void merge_into_mul(PassContext& ctx, onnx::NodeProto& mul, const Scale& s) {
  onnx::TensorProto* t = owned_initializer(ctx, mul, 1);
  ConstTensor k = read_tensor(ctx, *t);
  if (k.size() == 1 && s.size() > 1) {
    const float k0 = k.f[0];
    k = scale_constant(ctx, s, mul.input(0));
    for (float& v : k.f) v *= k0;
  } else if (k.size() == int64_t(s.size()) || s.size() == 1) {
    for (int64_t c = 0; c < k.size(); ++c) k.f[c] *= at(s, c);
  } else {
    throw internal(
        ctx, fmt::format("scale Mul {} has {} values, the amplitude {}", mul.name(), k.size(), s.size()));
  }
  write_tensor(*t, k);
}

// Graph output `value` keeps its name: its producer and readers move to a
// new name and a scale Mul produces `value` from that.
void scale_graph_output(PassContext& ctx, const std::string& value, const Scale& s) {
  const std::string unscaled = unique_name(ctx.graph, value + "_unscaled");
  onnx::NodeProto* producer = find_producer(ctx.graph, value);
  if (!producer) throw internal(ctx, fmt::format("graph output '{}' has no producer", value));
  for (int k = 0; k < producer->output_size(); ++k)
    if (producer->output(k) == value) producer->set_output(k, unscaled);
  for (auto [n, slot] : find_uses(ctx.graph, value)) n->set_input(slot, unscaled);
  if (auto it = ctx.shapes.find(value); it != ctx.shapes.end()) ctx.shapes[unscaled] = it->second;
  insert_scale_mul(ctx, nullptr, unscaled, value, s);
}

}  // namespace

void apply_scale_action(PassContext& ctx, const ScaleAction& a, const std::string& spike,
                        const std::string& what) {
  auto& folded = ctx.report.folded;
  switch (a.kind) {
    case ScaleAction::kWeights:
      scale_weights(ctx, *a.node, a.scale);
      folded.push_back(fmt::format("{} folded into {}{}", what, describe(*a.node), a.via));
      break;
    case ScaleAction::kMergeMul:
      merge_into_mul(ctx, *a.node, a.scale);
      folded.push_back(fmt::format("{} merged into the edge scale {}{}", what, a.node->name(), a.via));
      break;
    case ScaleAction::kOutput:
      scale_graph_output(ctx, a.value, a.scale);
      folded.push_back(
          fmt::format("{} kept on graph output '{}'{} as per-channel constant", what, a.value, a.via));
      break;
    case ScaleAction::kEdgeMul:
    case ScaleAction::kKept: {
      // Read the input now: a graph output rename may have changed it.
      const std::string input = a.node->input(a.slot);
      const std::string scaled = unique_name(ctx.graph, input + "_scaled");
      insert_scale_mul(ctx, a.node, input, scaled, a.scale);
      a.node->set_input(a.slot, scaled);
      if (a.kind == ScaleAction::kEdgeMul)
        folded.push_back(
            fmt::format("{} kept on edge to {}{} as per-channel constant", what, describe(*a.node), a.via));
      else
        ctx.report.kept_amplitudes.emplace_back(
            fmt::format("{} -> {}", spike, describe(*a.node)),
            fmt::format("{}{}; kept as a Mul on that edge", a.reason, a.via));
      break;
    }
  }
}

}  // namespace tspike::convert
