// SPDX-License-Identifier: Apache-2.0
// Pass a: Constant nodes become initializers, an Identity of an initializer
// gives way to the initializer, and a Reshape that only flattens
// [N, C, H, W] to [N, C*H*W] becomes Flatten(axis = 1).
//
// PyTorch's exporter stores equal parameters once (zero biases, BatchNorms
// with the same statistics, amplitudes of 1) and feeds every later reader
// through an Identity; read directly, they are constants again for
// BatchNorm folding.
//
// PyTorch exports x.view(x.size(0), -1) as Shape -> Gather(0) -> Unsqueeze ->
// Concat([-1]) -> Reshape. We evaluate that shape computation on int64
// values, with an unknown batch dimension replaced by a sentinel, and check
// that the result is [N, -1] or [N, C*H*W]. The shape chain is then dead and
// reparameterize() removes it.
#include <fmt/format.h>

#include <optional>

#include "converter/passes.hpp"

namespace tspike::convert {

namespace {

// Stand-ins for dimensions unknown at conversion time. Large primes, so that
// no product of ordinary dimensions equals one by accident.
constexpr int64_t kBatchSentinel = 1000003;
int64_t unknown_dim_sentinel(int k) { return 1000033 + 1000 * int64_t(k); }

struct IntValue {
  std::vector<int64_t> v;
  bool scalar = false;  // rank 0 (otherwise rank 1)
};

// Turns a Constant node's value into a tensor named like its output; false
// for the kinds we leave alone (strings, sparse tensors).
bool constant_value(const onnx::NodeProto& n, onnx::TensorProto* out) {
  using TP = onnx::TensorProto;
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") {
      *out = a.t();
      break;
    } else if (a.name() == "value_float") {
      out->set_data_type(TP::FLOAT);
      out->add_float_data(a.f());
    } else if (a.name() == "value_floats") {
      out->set_data_type(TP::FLOAT);
      out->add_dims(a.floats_size());
      for (float f : a.floats()) out->add_float_data(f);
    } else if (a.name() == "value_int") {
      out->set_data_type(TP::INT64);
      out->add_int64_data(a.i());
    } else if (a.name() == "value_ints") {
      out->set_data_type(TP::INT64);
      out->add_dims(a.ints_size());
      for (int64_t i : a.ints()) out->add_int64_data(i);
    } else {
      return false;
    }
  }
  if (!out->has_data_type() || out->data_type() == TP::STRING) return false;
  out->set_name(n.output(0));
  return true;
}

void constants_to_initializers(PassContext& ctx) {
  for (auto& n : *ctx.graph.mutable_node()) {
    if (n.op_type() != "Constant" || !n.domain().empty() || n.output_size() != 1) continue;
    // An initializer cannot stand in for a graph output.
    if (is_graph_output(ctx.graph, n.output(0))) continue;
    onnx::TensorProto t;
    if (!constant_value(n, &t)) continue;
    add_initializer(ctx, std::move(t));
    // The node is now dead: clearing its output lets remove_dead() drop it.
    n.set_output(0, "");
  }
}

void bypass_constant_identities(PassContext& ctx) {
  int bypassed = 0;
  for (auto& n : *ctx.graph.mutable_node()) {
    if (n.op_type() != "Identity" || !n.domain().empty() || n.input_size() != 1 || n.output_size() != 1)
      continue;
    if (!find_initializer(ctx.graph, n.input(0)) || is_graph_output(ctx.graph, n.output(0))) continue;
    for (auto& [reader, slot] : find_uses(ctx.graph, n.output(0))) reader->set_input(slot, n.input(0));
    n.set_output(0, "");  // dead now: remove_dead() drops it
    bypassed++;
  }
  if (bypassed > 0)
    ctx.report.folded.push_back(fmt::format(
        "{} Identity node(s) of initializers bypassed (their readers read the initializer)", bypassed));
}

class ShapeEvaluator {
 public:
  explicit ShapeEvaluator(PassContext& ctx) : ctx_(ctx) {}

  std::optional<IntValue> eval(const std::string& name, int depth = 0) {
    if (depth > 64 || name.empty()) return std::nullopt;
    if (const auto* t = find_initializer(ctx_.graph, name)) {
      if (t->data_type() != onnx::TensorProto::INT64 && t->data_type() != onnx::TensorProto::INT32)
        return std::nullopt;
      ConstTensor c = read_tensor(ctx_, *t);
      if (c.shape.size() > 1) return std::nullopt;
      return IntValue{c.i, c.shape.empty()};
    }
    const onnx::NodeProto* n = find_producer(ctx_.graph, name);
    if (!n || !n->domain().empty() || n->output(0) != name) return std::nullopt;
    const std::string& op = n->op_type();
    if (op == "Shape") return shape_of(*n);
    std::vector<IntValue> in;
    for (int k = 0; k < n->input_size(); ++k) {
      if (n->input(k).empty()) continue;
      auto v = eval(n->input(k), depth + 1);
      if (!v) return std::nullopt;
      in.push_back(std::move(*v));
    }
    if (in.empty()) return std::nullopt;
    if (op == "Identity" || (op == "Cast" && is_int_cast(*n))) return in[0];
    if (op == "Gather") return gather(*n, in);
    if (op == "Unsqueeze") return unsqueeze(*n, in);
    if (op == "Squeeze") {
      if (in[0].scalar || in[0].v.size() != 1) return std::nullopt;
      return IntValue{in[0].v, true};
    }
    if (op == "Concat") {
      IntValue r;
      for (const auto& x : in) {
        if (x.scalar) return std::nullopt;
        r.v.insert(r.v.end(), x.v.begin(), x.v.end());
      }
      return r;
    }
    if (op == "Mul" && in.size() == 2) return multiply(in[0], in[1]);
    return std::nullopt;
  }

 private:
  static bool is_int_cast(const onnx::NodeProto& n) {
    int64_t to = attr_int(n, "to", 0);
    return to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32;
  }

  std::optional<IntValue> shape_of(const onnx::NodeProto& n) {
    const Shape* s = ctx_.shape(n.input(0));
    if (!s) return std::nullopt;
    IntValue r;
    for (size_t k = 0; k < s->size(); ++k) {
      int64_t d = (*s)[k];
      if (d < 0) d = k == 0 ? kBatchSentinel : unknown_dim_sentinel(int(k));
      r.v.push_back(d);
    }
    // Shape-15 may take a slice [start, end).
    const int64_t rank = int64_t(r.v.size());
    auto clamp = [&](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t{0}, rank); };
    int64_t start = clamp(attr_int(n, "start", 0)), end = clamp(attr_int(n, "end", rank));
    if (end < start) end = start;
    r.v = std::vector<int64_t>(r.v.begin() + start, r.v.begin() + end);
    return r;
  }

  static std::optional<IntValue> gather(const onnx::NodeProto& n, const std::vector<IntValue>& in) {
    if (in.size() != 2 || in[0].scalar || attr_int(n, "axis", 0) != 0) return std::nullopt;
    IntValue r{{}, in[1].scalar};
    const int64_t size = int64_t(in[0].v.size());
    for (int64_t i : in[1].v) {
      if (i < 0) i += size;
      if (i < 0 || i >= size) return std::nullopt;
      r.v.push_back(in[0].v[i]);
    }
    return r;
  }

  std::optional<IntValue> unsqueeze(const onnx::NodeProto& n, const std::vector<IntValue>& in) {
    // Axes are an attribute before opset 13 and an input from 13 on.
    std::vector<int64_t> axes =
        ctx_.opset >= 13 ? (in.size() == 2 ? in[1].v : std::vector<int64_t>{}) : attr_ints(n, "axes");
    if (!in[0].scalar || axes.size() != 1 || (axes[0] != 0 && axes[0] != -1)) return std::nullopt;
    return IntValue{in[0].v, false};
  }

  static std::optional<IntValue> multiply(const IntValue& a, const IntValue& b) {
    if (a.v.size() != b.v.size() && a.v.size() != 1 && b.v.size() != 1) return std::nullopt;
    IntValue r{{}, a.scalar && b.scalar};
    size_t count = std::max(a.v.size(), b.v.size());
    for (size_t k = 0; k < count; ++k)
      r.v.push_back(a.v[a.v.size() == 1 ? 0 : k] * b.v[b.v.size() == 1 ? 0 : k]);
    return r;
  }

  PassContext& ctx_;
};

// Does reshaping `data` to `target` do the same as Flatten(axis = 1)?
// `batch` is what stands for the data's dimension 0 in `target`.
bool is_flatten(const Shape& data, const std::vector<int64_t>& target, int64_t batch, bool allow_zero) {
  if (data.size() < 2 || target.size() != 2) return false;
  int64_t rest = 1;
  for (size_t k = 1; k < data.size(); ++k) {
    if (data[k] < 0) rest = -1;
    if (rest > 0) rest *= data[k];
  }
  const bool first_is_n = target[0] == batch || (target[0] == 0 && !allow_zero);
  if (first_is_n) return target[1] == -1 || (rest >= 0 && target[1] == rest);
  // [-1, C*H*W] infers N from the known rest.
  return target[0] == -1 && rest > 0 && target[1] == rest;
}

}  // namespace

void fold_views(PassContext& ctx) {
  constants_to_initializers(ctx);
  bypass_constant_identities(ctx);
  ShapeEvaluator evaluator(ctx);
  for (auto& n : *ctx.graph.mutable_node()) {
    if (n.op_type() != "Reshape" || !n.domain().empty() || n.input_size() != 2) continue;
    const Shape* data = ctx.shape(n.input(0));
    if (!data || data->empty()) continue;
    const bool allow_zero = attr_int(n, "allowzero", 0) != 0;
    // What stands for N in the target: its static value, else the sentinel
    // a computed target got from Shape; a constant target cannot name an
    // unknown N (only write it as 0 or -1).
    const bool constant_target = find_initializer(ctx.graph, n.input(1)) != nullptr;
    const int64_t batch = (*data)[0] >= 0 ? (*data)[0] : constant_target ? -2 : kBatchSentinel;
    auto target = evaluator.eval(n.input(1));
    const bool flatten = target && is_flatten(*data, target->v, batch, allow_zero);
    if (!flatten) continue;
    const std::string shape_input = n.input(1);
    n.mutable_input()->RemoveLast();
    n.clear_attribute();
    auto* axis = n.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(1);
    n.set_op_type("Flatten");
    ctx.report.folded.push_back(
        fmt::format("Reshape {} (shape from '{}') replaced by Flatten(axis=1)", n.name(), shape_input));
  }
}

}  // namespace tspike::convert
