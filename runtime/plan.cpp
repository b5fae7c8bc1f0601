// SPDX-License-Identifier: Apache-2.0
#include "runtime/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked.hpp"
#include "base/thread_pool.hpp"
#include "ops/neuron.hpp"

namespace tspike::detail {

namespace {

constexpr int64_t kAlignFloats = 16;  // 64-byte alignment of every value

int64_t aligned(int64_t floats) { return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// Runs a node whose inputs are all constants, making its outputs constants.
void fold_node(const GraphNode& node, std::vector<PlannedValue>& values, ops::NodeState* state,
               int64_t scratch_bytes) {
  ops::RunContext ctx;
  ctx.node_state = state;
  std::vector<std::byte> scratch(static_cast<size_t>(scratch_bytes) + 64);
  ctx.scratch = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
  ctx.scratch_stride = scratch_bytes;
  std::vector<std::shared_ptr<ConstTensor>> outs;
  for (int v : node.inputs) {
    if (v < 0) {
      ctx.inputs.push_back({});
      continue;
    }
    const auto& c = *values[v].desc.constant;
    ctx.inputs.push_back({c.dtype, c.shape, const_cast<void*>(c.data())});
  }
  for (int v : node.outputs) {
    auto c = std::make_shared<ConstTensor>();
    c->dtype = values[v].desc.dtype;
    c->shape = values[v].desc.shape;
    if (c->dtype == DType::kFloat32)
      c->f.assign(c->size(), 0.0f);
    else
      c->i.assign(c->size(), 0);
    ctx.outputs.push_back({c->dtype, c->shape, const_cast<void*>(c->data())});
    outs.push_back(c);
  }
  node.op->run(ctx);
  for (size_t k = 0; k < node.outputs.size(); ++k) values[node.outputs[k]].desc.constant = outs[k];
}

}  // namespace

std::unique_ptr<Plan> make_plan(const Graph& graph, const Shape& frame_shape, ThreadPool* pool,
                                const std::vector<int>& keep) {
  const int64_t frame_count = bounded_element_count(frame_shape, graph.limits.max_tensor_elements);
  if (frame_count < 0 || frame_count > graph.limits.max_tensor_elements)
    throw Error(
        ErrorCode::kResourceLimit,
        fmt::format(
            "input {} has a negative dimension or more than {} elements (the limit on tensor elements)",
            shape_to_string(frame_shape), graph.limits.max_tensor_elements));
  auto plan = std::make_unique<Plan>();
  plan->frame_shape = frame_shape;
  auto& values = plan->values;
  values.resize(graph.values.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (const auto& init = graph.values[v].initializer) {
      values[v].desc = {init->dtype, init->shape, init};
      values[v].invariant = true;
    }
  }
  values[graph.input].desc.shape = frame_shape;
  values[graph.input].invariant = true;

  // Shapes, constant folding, state.
  const int n_nodes = static_cast<int>(graph.nodes.size());
  plan->nodes.resize(n_nodes);
  int64_t state_floats = 0;
  int64_t folded_bytes = 0;   // constants made by folding, counted against max_arena_bytes
  int64_t scratch_bytes = 0;  // per thread, the most any node asks for
  for (int k = 0; k < n_nodes; ++k) {
    const GraphNode& node = graph.nodes[k];
    PlannedNode& pn = plan->nodes[k];
    ops::PrepareContext ctx{node.name, {}, {}, 0, nullptr, pool ? pool->threads() : 1};
    bool all_constant = true, all_invariant = true;
    for (int v : node.inputs) {
      ctx.inputs.push_back(v < 0 ? nullptr : &values[v].desc);
      if (v >= 0) {
        all_constant &= values[v].desc.constant != nullptr;
        all_invariant &= values[v].invariant;
      }
    }
    node.op->prepare(ctx);
    if (ctx.outputs.size() < node.outputs.size())
      throw node.op->error(ErrorCode::kUnsupportedOp, "has more outputs than tspike computes");
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const auto& d = ctx.outputs[o];
      // Checked before anything multiplies the dims (they may come from the file).
      const int64_t count = bounded_element_count(d.shape, graph.limits.max_tensor_elements);
      if (count < 0)
        throw node.op->error(
            ErrorCode::kShapeMismatch,
            fmt::format("output shape {} has a negative dimension", shape_to_string(d.shape)));
      if (count > graph.limits.max_tensor_elements)
        throw node.op->error(ErrorCode::kResourceLimit,
                             fmt::format("output {} has more than {} elements (the limit on tensor elements)",
                                         shape_to_string(d.shape), graph.limits.max_tensor_elements));
      if (node.outputs[o] >= 0) values[node.outputs[o]].desc = d;
    }
    pn.node_state = std::move(ctx.node_state);
    scratch_bytes = std::max(scratch_bytes, (ctx.scratch_bytes + 63) / 64 * 64);
    const bool stateful = node.op->stateful();
    bool outputs_constant = true;
    for (int v : node.outputs) outputs_constant &= v < 0 || values[v].desc.constant != nullptr;
    if (!outputs_constant && all_constant && !stateful) {
      for (int v : node.outputs)
        if (v >= 0) folded_bytes += element_count(values[v].desc.shape) * dtype_size(values[v].desc.dtype);
      if (folded_bytes > graph.limits.max_arena_bytes)
        throw node.op->error(
            ErrorCode::kResourceLimit,
            fmt::format("constants computed when planning need {} bytes, over the limit of {} bytes",
                        folded_bytes, graph.limits.max_arena_bytes));
      fold_node(node, values, pn.node_state.get(), ctx.scratch_bytes);
      outputs_constant = true;
    }
    pn.folded = outputs_constant;
    pn.invariant = !stateful && all_invariant;
    for (int v : node.outputs)
      if (v >= 0) {
        values[v].invariant = pn.invariant || pn.folded;
        if (!values[v].desc.constant && values[v].desc.dtype != DType::kFloat32)
          throw node.op->error(ErrorCode::kUnsupportedOp,
                               "computes int64 data from the input; tspike computes int64 only for "
                               "values known at load time (shapes)");
      }
    if (stateful) {
      pn.state_offset = state_floats;
      pn.state_floats = ctx.state_floats;
      state_floats += ctx.state_floats;
    }
    if (node.traits->neuron) {
      pn.spike_index = static_cast<int>(plan->spike_elements.size());
      plan->spike_elements.push_back(element_count(values[node.outputs[0]].desc.shape));
    }
  }

  // Lifetimes of the values that live in the arena, in node indices.
  const size_t n_values = values.size();
  std::vector<int> first(n_values, n_nodes + 1), last(n_values, -2);
  auto in_arena = [&](int v) { return v >= 0 && !values[v].desc.constant; };
  first[graph.input] = -1;
  last[graph.input] = -1;
  for (int k = 0; k < n_nodes; ++k) {
    if (plan->nodes[k].folded) continue;
    for (int v : graph.nodes[k].inputs)
      if (in_arena(v)) last[v] = std::max(last[v], k);
    for (int v : graph.nodes[k].outputs)
      if (in_arena(v)) {
        first[v] = std::min(first[v], k);
        last[v] = std::max(last[v], k);
      }
  }
  for (int v : graph.outputs)
    if (in_arena(v)) last[v] = n_nodes;
  for (int v : keep)
    if (in_arena(v) && last[v] >= first[v]) last[v] = n_nodes;
  for (size_t v = 0; v < n_values; ++v)
    if (in_arena(static_cast<int>(v)) && values[v].invariant) {
      first[v] = -1;
      last[v] = n_nodes;
    }

  // Greedy placement, largest first: lowest offset that overlaps no placed
  // value whose lifetime overlaps.
  std::vector<int> order;
  for (size_t v = 0; v < n_values; ++v)
    if (in_arena(static_cast<int>(v)) && last[v] >= first[v]) order.push_back(static_cast<int>(v));
  auto size_of = [&](int v) { return aligned(element_count(values[v].desc.shape)); };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return size_of(a) > size_of(b); });
  std::vector<int> placed;
  int64_t arena_floats = 0;
  for (int v : order) {
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int p : placed)
      if (first[p] <= last[v] && first[v] <= last[p])
        busy.push_back({values[p].offset, values[p].offset + size_of(p)});
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + size_of(v) <= lo) break;
      offset = std::max(offset, hi);
    }
    values[v].offset = offset;
    arena_floats = std::max(arena_floats, offset + size_of(v));
    placed.push_back(v);
  }
  const int threads = pool ? pool->threads() : 1;
  const int64_t plan_bytes = (arena_floats + state_floats) * 4 + scratch_bytes * threads;
  if (plan_bytes > graph.limits.max_arena_bytes)
    throw Error(ErrorCode::kResourceLimit,
                fmt::format("the plan for input {} needs {} bytes, over the limit of {} bytes",
                            shape_to_string(frame_shape), plan_bytes, graph.limits.max_arena_bytes));
  plan->arena.assign(arena_floats, 0.0f);
  plan->state.assign(state_floats, 0.0f);
  plan->scratch_stride = scratch_bytes;
  plan->scratch_storage.assign(static_cast<size_t>(scratch_bytes * threads + 64), std::byte{0});
  plan->scratch = plan->scratch_storage.data() +
                  (64 - reinterpret_cast<uintptr_t>(plan->scratch_storage.data()) % 64) % 64;
  plan->spike_counts.assign(plan->spike_elements.size(), 0);

  // Ready-made run contexts.
  auto ref = [&](int v) -> TensorRef {
    if (v < 0) return {};
    const auto& d = values[v].desc;
    if (d.constant) return {d.dtype, d.shape, const_cast<void*>(d.constant->data())};
    return {d.dtype, d.shape, plan->arena.data() + values[v].offset};
  };
  for (int k = 0; k < n_nodes; ++k) {
    PlannedNode& pn = plan->nodes[k];
    if (pn.folded) continue;
    for (int v : graph.nodes[k].inputs) pn.ctx.inputs.push_back(ref(v));
    for (int v : graph.nodes[k].outputs) pn.ctx.outputs.push_back(ref(v));
    pn.ctx.state = pn.state_floats ? plan->state.data() + pn.state_offset : nullptr;
    pn.ctx.node_state = pn.node_state.get();
    pn.ctx.pool = pool;
    pn.ctx.scratch = plan->scratch;
    pn.ctx.scratch_stride = plan->scratch_stride;
    if (pn.spike_index >= 0) pn.ctx.nonzero_count = &plan->spike_counts[pn.spike_index];
  }
  for (int v : graph.outputs) plan->outputs.push_back(ref(v));
  plan->input = ref(graph.input);
  return plan;
}

void run_timestep(const Graph& graph, Plan& plan, bool skip_invariant) {
  for (size_t k = 0; k < plan.nodes.size(); ++k) {
    PlannedNode& pn = plan.nodes[k];
    if (pn.folded || (skip_invariant && pn.invariant)) continue;
    graph.nodes[k].op->run(pn.ctx);
  }
}

std::unique_ptr<Plan> timestep_plan(Plan& owner) {
  auto plan = std::make_unique<Plan>();
  plan->frame_shape = owner.frame_shape;
  plan->values = owner.values;
  plan->arena.assign(owner.arena.size(), 0.0f);
  plan->scratch = owner.scratch;
  plan->scratch_stride = owner.scratch_stride;
  plan->spike_elements = owner.spike_elements;
  // The same offset in this plan's arena; constants stay where they are.
  const float* begin = owner.arena.data();
  const float* end = begin + owner.arena.size();
  auto rebase = [&](TensorRef ref) {
    const float* p = static_cast<const float*>(ref.data);
    if (p && p >= begin && p < end) ref.data = plan->arena.data() + (p - begin);
    return ref;
  };
  plan->nodes.resize(owner.nodes.size());
  for (size_t k = 0; k < owner.nodes.size(); ++k) {
    const PlannedNode& from = owner.nodes[k];
    PlannedNode& pn = plan->nodes[k];
    pn.folded = from.folded;
    pn.invariant = from.invariant;
    pn.spike_index = from.spike_index;
    pn.state_offset = from.state_offset;
    pn.state_floats = from.state_floats;
    pn.ctx = from.ctx;  // state, spike counter, node state, pool and scratch: the owner's
    for (TensorRef& ref : pn.ctx.inputs) ref = rebase(ref);
    for (TensorRef& ref : pn.ctx.outputs) ref = rebase(ref);
  }
  for (const TensorRef& ref : owner.outputs) plan->outputs.push_back(rebase(ref));
  plan->input = rebase(owner.input);
  return plan;
}

bool run_layer_major_node(const Graph& graph, const std::vector<Plan*>& plans, size_t k, size_t t,
                          bool direct) {
  const PlannedNode& first = plans[0]->nodes[k];
  PlannedNode& pn = plans[t]->nodes[k];
  if (t == 0 || !direct || !pn.invariant) {
    graph.nodes[k].op->run(pn.ctx);
    return true;
  }
  for (size_t o = 0; o < pn.ctx.outputs.size(); ++o) {
    const TensorRef& from = first.ctx.outputs[o];
    if (from.data && from.data != pn.ctx.outputs[o].data)
      std::memcpy(pn.ctx.outputs[o].data, from.data,
                  static_cast<size_t>(from.size()) * (from.dtype == DType::kFloat32 ? 4 : 8));
  }
  return false;
}

void run_layer_major(const Graph& graph, const std::vector<Plan*>& plans, bool direct) {
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    if (plans[0]->nodes[k].folded) continue;
    for (size_t t = 0; t < plans.size(); ++t) run_layer_major_node(graph, plans, k, t, direct);
  }
}

void reset_state(Plan& plan) {
  std::fill(plan.state.begin(), plan.state.end(), 0.0f);
  std::fill(plan.spike_counts.begin(), plan.spike_counts.end(), 0);
}

}  // namespace tspike::detail
