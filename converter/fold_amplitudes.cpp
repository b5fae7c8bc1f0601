// SPDX-License-Identifier: Apache-2.0
// Pass c (spec 3.2): fold each TernarySpike's amplitude into the consumers of
// its output, so that the node emits pure {-1, 0, +1}.
//
// Scale propagation: the amplitude is a per-channel scale on the spike value.
// We plan where it goes first (weights it folds into, ops it passes through,
// edges that must keep it as a Mul), and change the model only once the plan
// says the amplitude can leave the node at all. A scale reaching an edge it
// cannot cross is kept there as Mul(value, scale); when no path folds, the
// node keeps its amplitude (the runtime then computes a * s itself).
#include <fmt/format.h>

#include <algorithm>

#include "converter/passes.hpp"
#include "ops/op.hpp"

namespace tspike::convert {

namespace {

using Action = ScaleAction;

float at(const Scale& s, int64_t c) { return s.size() == 1 ? s[0] : s[c]; }

std::string describe(const onnx::NodeProto& n) { return n.op_type() + " " + n.name(); }

// Does x (of shape v) op c keep the shape of x? Then a per-channel scale
// passes through an elementwise op with the constant c.
bool preserves_shape(const Shape* v, const Shape& c) {
  if (c.empty()) return true;
  if (!v || c.size() > v->size()) return false;
  for (size_t k = 0; k < c.size(); ++k) {
    const int64_t vd = (*v)[v->size() - c.size() + k];
    if (c[k] != 1 && c[k] != vd) return false;
  }
  return true;
}

class Planner {
 public:
  Planner(PassContext& ctx, std::vector<Action>& actions) : ctx_(ctx), actions_(actions) {}

  // Why the amplitude cannot leave the node at all (empty if it can).
  std::string blocked;

  void plan(const std::string& value, const Scale& scale, const std::string& via) {
    if (++visits_ > 100000) {
      blocked = "too many paths from the spike through carry-through ops";
      return;
    }
    if (is_graph_output(ctx_.graph, value)) add(Action::kOutput, nullptr, 0, value, scale, via);
    std::vector<onnx::NodeProto*> nodes;
    for (auto [n, slot] : find_uses(ctx_.graph, value))
      if (std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(n);
    for (auto* n : nodes) consumer(*n, value, scale, via);
  }

 private:
  void add(Action::Kind kind, onnx::NodeProto* n, int slot, const std::string& value, const Scale& scale,
           const std::string& via, const std::string& reason = {}) {
    // Scales kept on an edge become a [1, C, 1, ...] constant: that needs the rank.
    if (kind != Action::kWeights && scale.size() > 1 && !ctx_.shape(value))
      blocked = fmt::format("the rank of '{}' is unknown", value);
    actions_.push_back({kind, n, slot, value, scale, via, reason});
  }

  void keep(onnx::NodeProto& n, int slot, const std::string& value, const Scale& scale,
            const std::string& via, const std::string& reason) {
    add(Action::kKept, &n, slot, value, scale, via, reason);
  }

  void carry(onnx::NodeProto& n, const Scale& scale, const std::string& via) {
    std::string next =
        via.empty() ? " (through " + describe(n) : via.substr(0, via.size() - 1) + ", " + describe(n);
    plan(n.output(0), scale, next + ")");
  }

  // How the scale crosses consumer n: its op's traits (OpTraits::scale) say.
  void consumer(onnx::NodeProto& n, const std::string& value, const Scale& s, const std::string& via) {
    std::vector<int> slots;
    for (int k = 0; k < n.input_size(); ++k)
      if (n.input(k) == value) slots.push_back(k);
    const Shape* shape = ctx_.shape(value);
    const int64_t rank = shape ? int64_t(shape->size()) : -1;
    auto keep_all = [&](const std::string& reason) {
      for (int k : slots) keep(n, k, value, s, via, reason);
    };
    if (ctx_.scale_muls.count(n.name()) && slots == std::vector<int>{0})
      return add(Action::kMergeMul, &n, 0, value, s, via);
    const bool single = slots == std::vector<int>{0};
    const ops::OpTraits* traits = ops::find_traits(n.domain(), n.op_type());
    switch (traits ? traits->scale : ops::ScaleFlow::kStops) {
      case ops::ScaleFlow::kShapeOnly:
        return;
      case ops::ScaleFlow::kOnEdge:
        for (int k : slots) add(Action::kEdgeMul, &n, k, value, s, via);
        return;
      case ops::ScaleFlow::kIntoWeights:
        for (int k : slots) {
          const std::string why =
              k == 0 ? weights_problem(n, *traits->layer, s, rank)
                     : fmt::format("spike is operand {} (weights or bias) of {}", k, describe(n));
          if (why.empty())
            add(Action::kWeights, &n, k, value, s, via);
          else
            keep(n, k, value, s, via, why);
        }
        return;
      case ops::ScaleFlow::kThrough:
        if (single) return carry(n, s, via);
        break;
      case ops::ScaleFlow::kThroughNonNegative:
        if (!single) break;
        if (std::any_of(s.begin(), s.end(), [](float x) { return x < 0; }))
          return keep_all(fmt::format("{} does not commute with a negative amplitude", describe(n)));
        for (int k = 1; k < n.output_size(); ++k)
          if (!n.output(k).empty())
            return keep_all(fmt::format("{} has its output {} (not a function of the values alone) in use",
                                        describe(n), k));
        return carry(n, s, via);
      case ops::ScaleFlow::kFlatten:
        if (single) return flatten(n, value, s, via, shape);
        break;
      case ops::ScaleFlow::kConcat:
        return concat(n, value, s, via, rank);
      case ops::ScaleFlow::kMulByConstant:
      case ops::ScaleFlow::kDivByConstant: {
        // A quotient keeps the scale only as its dividend.
        const bool dividend_only = traits->scale == ops::ScaleFlow::kDivByConstant;
        if (slots.size() == 1 && n.input_size() == 2 && (single || !dividend_only)) {
          const std::string& other = n.input(1 - slots[0]);
          const Shape* cs = ctx_.shape(other);
          if (find_initializer(ctx_.graph, other) && cs && preserves_shape(shape, *cs))
            return carry(n, s, via);
        }
        return keep_all(fmt::format("{} is not by a constant that keeps the shape", describe(n)));
      }
      case ops::ScaleFlow::kStops:
        break;
    }
    keep_all(fmt::format("{} is not an op a spike amplitude folds into or passes through", describe(n)));
  }

  // Empty when the scale can fold into the weights of layer n's data input.
  std::string weights_problem(const onnx::NodeProto& n, const ops::LayerTraits& layer, const Scale& s,
                              int64_t rank) {
    const auto* w = n.input_size() > 1 ? find_initializer(ctx_.graph, n.input(1)) : nullptr;
    if (!w || w->data_type() != onnx::TensorProto::FLOAT)
      return fmt::format("the weights of {} are not a float initializer", describe(n));
    const Shape dims(w->dims().begin(), w->dims().end());
    ops::WeightLayout layout;
    if (std::string why = layer.weight_layout(n, dims, rank, layout); !why.empty()) return why;
    if (!layout.data_problem.empty()) return layout.data_problem;
    const int64_t features = dims[layout.in_axis] * layout.groups;
    if (s.size() != 1 && int64_t(s.size()) != features)
      return fmt::format("{} has {} input features, the amplitude {} values", describe(n), features,
                         s.size());
    return {};
  }

  void flatten(onnx::NodeProto& n, const std::string& value, const Scale& s, const std::string& via,
               const Shape* shape) {
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0 && shape) axis += int64_t(shape->size());
    if (axis != 1) return keep(n, 0, value, s, via, fmt::format("{} is not on axis 1", describe(n)));
    if (s.size() == 1) return carry(n, s, via);
    int64_t inner = 1;
    for (size_t k = 2; shape && k < shape->size(); ++k)
      inner = (*shape)[k] < 0 || inner < 0 ? -1 : inner * (*shape)[k];
    if (!shape || (*shape)[1] != int64_t(s.size()) || inner < 0)
      return keep(n, 0, value, s, via,
                  fmt::format("the static C, H, W of the input of {} are unknown", describe(n)));
    // Feature j of the result comes from channel j / (H*W).
    Scale out;
    for (float a : s) out.insert(out.end(), size_t(inner), a);
    carry(n, out, via);
  }

  void concat(onnx::NodeProto& n, const std::string& value, const Scale& s, const std::string& via,
              int64_t rank) {
    int64_t axis = attr_int(n, "axis", 0);
    if (axis < 0 && rank > 0) axis += rank;
    std::vector<int> slots;
    for (int k = 0; k < n.input_size(); ++k)
      if (n.input(k) == value) slots.push_back(k);
    auto keep_all = [&](const std::string& reason) {
      for (int k : slots) keep(n, k, value, s, via, reason);
    };
    if (axis != 1) return keep_all(fmt::format("{} is not on axis 1", describe(n)));
    if (s.size() == 1 && int(slots.size()) == n.input_size()) return carry(n, s, via);
    // The value's scale covers its channel range; other inputs' channels get 1.
    Scale out;
    for (int k = 0; k < n.input_size(); ++k) {
      const Shape* in = ctx_.shape(n.input(k));
      const int64_t c = in && in->size() > 1 ? (*in)[1] : -1;
      if (c < 0)
        return keep_all(fmt::format("the channel counts of the inputs of {} are unknown", describe(n)));
      if (n.input(k) != value) {
        out.insert(out.end(), size_t(c), 1.0f);
        continue;
      }
      if (s.size() != 1 && int64_t(s.size()) != c)
        return keep_all(fmt::format("input '{}' of {} has {} channels, the amplitude {} values", value,
                                    describe(n), c, s.size()));
      for (int64_t j = 0; j < c; ++j) out.push_back(at(s, j));
    }
    carry(n, out, via);
  }

  PassContext& ctx_;
  std::vector<Action>& actions_;
  int visits_ = 0;
};

}  // namespace

void fold_amplitudes(PassContext& ctx) {
  std::vector<onnx::NodeProto*> spikes;
  for (auto& n : *ctx.graph.mutable_node())
    if (const ops::OpTraits* t = ops::find_traits(n.domain(), n.op_type()); t && t->neuron)
      spikes.push_back(&n);

  for (onnx::NodeProto* spike : spikes) {
    if (spike->input_size() < 2 || spike->input(1).empty()) continue;
    const auto* amp = find_initializer(ctx.graph, spike->input(1));
    if (!amp) {
      ctx.report.kept_amplitudes.emplace_back(
          spike->name(), fmt::format("amplitude '{}' is not an initializer", spike->input(1)));
      continue;
    }
    ConstTensor a = read_tensor(ctx, *amp);
    if (a.dtype != DType::kFloat32 || a.size() < 1)
      throw Error(ErrorCode::kInvalidModel,
                  fmt::format("{}: TernarySpike node '{}': amplitude '{}' must be float32 with 1 "
                              "or C elements",
                              ctx.file, spike->name(), spike->input(1)));
    const Scale scale = a.f;
    const bool unit = std::all_of(scale.begin(), scale.end(), [](float x) { return x == 1.0f; });
    const std::string what = scale.size() == 1
                                 ? fmt::format("amplitude of {} (a = {})", spike->name(), scale[0])
                                 : fmt::format("amplitude of {} ({} channels)", spike->name(), scale.size());

    std::vector<Action> actions;
    Planner planner(ctx, actions);
    if (!unit) planner.plan(spike->output(0), scale, "");
    const bool none_folds =
        !actions.empty() &&
        std::all_of(actions.begin(), actions.end(), [](const Action& x) { return x.kind == Action::kKept; });
    std::string why = planner.blocked;
    if (why.empty() && none_folds)
      for (const auto& x : actions) why += (why.empty() ? "" : "; ") + x.reason + x.via;
    if (why.empty() && ctx.options.strict)
      for (const auto& x : actions)
        if (x.kind == Action::kKept) why = x.reason + x.via;
    if (!why.empty() && ctx.options.strict)
      throw Error(ErrorCode::kUnsupportedOp,
                  fmt::format("{}: TernarySpike node '{}': the amplitude cannot be folded: {}", ctx.file,
                              spike->name(), why));
    if (!planner.blocked.empty() || none_folds) {
      // Spec 3.2: the node keeps its amplitude and the runtime computes a * s.
      ctx.report.kept_amplitudes.emplace_back(spike->name(), why);
      continue;
    }

    // The node now emits pure {-1, 0, +1}; the plan puts a back elsewhere.
    spike->mutable_input()->RemoveLast();
    if (actions.empty())
      ctx.report.folded.push_back(fmt::format("{} dropped ({})", what, unit ? "it is 1" : "output unused"));
    for (const auto& x : actions) apply_scale_action(ctx, x, spike->name(), what);
  }
}

}  // namespace tspike::convert
