// SPDX-License-Identifier: Apache-2.0
#include "tspike/session.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "base/checked.hpp"
#include "base/log.hpp"
#include "base/thread_pool.hpp"
#include "ops/event_tiling.hpp"
#include "runtime/observe.hpp"
#include "runtime/plan.hpp"
#include "runtime/profile.hpp"
#include "tspike/error.hpp"

namespace tspike {

struct Session::Impl {
  std::shared_ptr<const Model> model;
  SessionOptions options;
  std::unique_ptr<ThreadPool> pool;  // null with one thread
  std::unique_ptr<detail::Plan> plan;
  // SessionOptions::layer_major: the plans of timesteps 1, 2, ... beside
  // `plan` (timestep 0's), sharing its neuron state; by_timestep lists the
  // plans of the current run.
  std::vector<std::unique_ptr<detail::Plan>> later_plans;
  std::vector<detail::Plan*> by_timestep;
  std::unique_ptr<detail::ProfileRecorder> recorder;  // with SessionOptions::profile
  std::vector<std::vector<float>> accum;              // readout accumulators per graph output
  std::unique_ptr<detail::Observation> observation;   // Session::observe
  int steps = 0;
  double time_ms = 0;
  bool ran_layer_major = false;

  const detail::Graph& graph() const { return detail::graph_of(*model); }

  // Whether the weights of the model's synaptic layers (Conv, Gemm, MatMul as
  // loaded: their shapes, the data may be packed away) pass the L2 cache.
  bool weights_pass_l2() const {
    int64_t bytes = 0;
    for (const auto& node : graph().nodes)
      if (node.traits && node.traits->layer)
        for (size_t k = 1; k < node.inputs.size(); ++k)
          if (node.inputs[k] >= 0 && graph().values[node.inputs[k]].initializer)
            bytes += graph().values[node.inputs[k]].initializer->size() * 4;
    return bytes > ops::cache_sizes().l2;
  }
  const ModelInfo& info() const { return model->info(); }

  Error bad_input(const std::string& what) const {
    return Error(ErrorCode::kBadInput, fmt::format("{}: {}", info().path, what));
  }

  // A caller's tensor: its dims are checked before anything multiplies them.
  void check_tensor(const TensorView& t, const char* what) const {
    const int64_t limit = model->limits().max_tensor_elements;
    const int64_t count = detail::bounded_element_count(t.shape, limit);
    if (count < 0)
      throw bad_input(fmt::format("{} of shape {} has a negative dimension", what, shape_to_string(t.shape)));
    if (count > limit)
      throw Error(ErrorCode::kResourceLimit,
                  fmt::format("{}: {} of shape {} has more than {} elements (the limit on tensor elements)",
                              info().path, what, shape_to_string(t.shape), limit));
    if (static_cast<int64_t>(t.size) != count)
      throw bad_input(fmt::format("{} has {} values but shape {}", what, t.size, shape_to_string(t.shape)));
  }

  void run_timestep(bool skip_invariant, int timestep) {
    if (recorder)
      recorder->run_timestep(graph(), *plan, skip_invariant);
    else
      detail::run_timestep(graph(), *plan, skip_invariant);
    if (observation) observation->notify(graph(), *plan, timestep);
  }

  Shape frame;  // reused so that a run with an unchanged shape allocates nothing

  // Sets `frame` to the per-timestep input shape [N, ...] for a frame of
  // `shape` (dims [begin, end) of it); a frame without N is taken as N = 1.
  void set_frame_shape(const Shape& shape, size_t begin, const char* expected_form) {
    const Shape& model_shape = info().input.shape;
    const size_t rank = shape.size() - begin;
    frame.clear();
    if (rank + 1 == model_shape.size()) frame.push_back(1);
    frame.insert(frame.end(), shape.begin() + begin, shape.end());
    if (!frame.empty() && frame.size() == model_shape.size() && frame[0] < 1)
      throw bad_input(fmt::format("input of shape {} has a batch size of {}; it must be at least 1",
                                  shape_to_string(shape), frame[0]));
    bool fits = frame.size() == model_shape.size() && !frame.empty();
    for (size_t d = 1; fits && d < frame.size(); ++d)
      fits = model_shape[d] < 0 ? frame[d] >= 1 : frame[d] == model_shape[d];
    if (!fits)
      throw bad_input(fmt::format("input of shape {} does not fit the model's input '{}' of shape {} ({})",
                                  shape_to_string(shape), info().input.name, shape_to_string(model_shape),
                                  expected_form));
  }

  void ensure_plan(const Shape& frame, int timesteps) {
    if (plan && plan->frame_shape == frame) return;
    later_plans.clear();
    plan.reset();
    recorder.reset();
    try {
      // Out of memory (or any other exception) while planning becomes an Error.
      detail::error_boundary("planning for input " + shape_to_string(frame), ErrorCode::kInvalidModel, [&] {
        plan = detail::make_plan(graph(), frame, pool.get(),
                                 observation ? observation->values() : std::vector<int>{});
        accum.resize(plan->outputs.size());
        for (size_t k = 0; k < plan->outputs.size(); ++k) accum[k].assign(plan->outputs[k].size(), 0.0f);
        if (options.profile) recorder = std::make_unique<detail::ProfileRecorder>(graph(), *plan, timesteps);
        detail::log(LogLevel::kInfo, "plan made for input {}: arena {} bytes, neuron state {} bytes",
                    shape_to_string(frame), plan->arena.size() * sizeof(float),
                    plan->state.size() * sizeof(float));
      });
    } catch (const Error& e) {
      plan.reset();
      throw Error(e.code(), fmt::format("{}: {}", info().path, e.what()));
    }
  }

  // The plans of timesteps 1..T-1 that later_plans lacks.
  void make_later_plans(int timesteps) {
    try {
      detail::error_boundary("planning for input " + shape_to_string(frame), ErrorCode::kInvalidModel, [&] {
        while (static_cast<int>(later_plans.size()) < timesteps - 1) {
          later_plans.push_back(detail::timestep_plan(*plan));
        }
        by_timestep.reserve(later_plans.size() + 1);
        detail::log(LogLevel::kInfo, "layer-major runs: {} plans for input {}", timesteps,
                    shape_to_string(plan->frame_shape));
      });
    } catch (const Error& e) {
      later_plans.clear();
      throw Error(e.code(), fmt::format("{}: {}", info().path, e.what()));
    }
  }

  // Whether run() goes layer by layer (SessionOptions::layer_major,
  // timestep_major, and by default where it pays and fits) for T
  // timesteps; makes the plans it needs (planning work: once per shape).
  bool ensure_layer_major(int timesteps) {
    if (options.timestep_major || observation || timesteps < 2) return false;
    // T arenas and states; the scratch is shared.
    const int64_t plan_bytes =
        static_cast<int64_t>((plan->arena.size() + plan->state.size()) * sizeof(float));
    const int64_t scratch = plan->scratch_stride * (pool ? pool->threads() : 1);
    if (plan_bytes > (model->limits().max_arena_bytes - scratch) / timesteps) return false;
    if (!options.layer_major &&
        (plan_bytes > options.layer_major_budget_bytes / (timesteps - 1) || !weights_pass_l2()))
      return false;
    if (static_cast<int>(later_plans.size()) < timesteps - 1) make_later_plans(timesteps);
    by_timestep.assign(1, plan.get());
    for (int t = 1; t < timesteps; ++t) by_timestep.push_back(later_plans[t - 1].get());
    return true;
  }

  void reset() {
    if (plan) detail::reset_state(*plan);
    if (recorder) recorder->reset();
    for (auto& a : accum) std::fill(a.begin(), a.end(), 0.0f);
    steps = 0;
    time_ms = 0;
  }

  static float element(const TensorRef& t, int64_t k) {
    return t.dtype == DType::kFloat32 ? t.f()[k] : static_cast<float>(t.i()[k]);
  }

  void accumulate(const detail::Plan& from) {
    const Readout readout = info().metadata.readout;
    for (size_t o = 0; o < from.outputs.size(); ++o) {
      const TensorRef& t = from.outputs[o];
      float* a = accum[o].data();
      const int64_t n = t.size();
      if (readout == Readout::kLast)
        for (int64_t k = 0; k < n; ++k) a[k] = element(t, k);
      else
        for (int64_t k = 0; k < n; ++k) a[k] += element(t, k);
    }
  }

  // Copies `source` (or the accumulators) into `outputs`, reusing their storage.
  void emit(std::vector<Tensor>& outputs, bool from_accum, int timesteps) const {
    const auto& graph_outputs = graph().outputs;
    outputs.resize(graph_outputs.size());
    const float divisor = info().metadata.readout == Readout::kMean ? static_cast<float>(timesteps) : 1.0f;
    for (size_t o = 0; o < graph_outputs.size(); ++o) {
      const TensorRef& t = plan->outputs[o];
      Tensor& out = outputs[o];
      out.name = graph().values[graph_outputs[o]].name;
      out.shape = t.shape;
      out.data.resize(t.size());
      for (int64_t k = 0; k < t.size(); ++k) out.data[k] = from_accum ? accum[o][k] / divisor : element(t, k);
    }
  }
};

Session::Session(std::shared_ptr<const Model> model, SessionOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (!model) throw Error(ErrorCode::kBadInput, "Session: no model");
  if (options.timesteps < 0 || options.timesteps > model->limits().max_timesteps)
    throw Error(ErrorCode::kBadInput, fmt::format("timesteps {} must be in 1..{} (0: the model's default)",
                                                  options.timesteps, model->limits().max_timesteps));
  if (options.threads < 1) throw Error(ErrorCode::kBadInput, "threads must be >= 1");
  impl_->model = std::move(model);
  impl_->options = options;
  if (options.threads > 1)
    impl_->pool = std::make_unique<ThreadPool>(options.threads,
                                               options.allow_spinning ? ThreadPool::kDefaultSpinUs : 0);
}

Session::Session(const std::string& model_path, SessionOptions options)
    : Session(Model::load(model_path), options) {}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Model& Session::model() const { return *impl_->model; }

int Session::timesteps() const {
  return impl_->options.timesteps > 0 ? impl_->options.timesteps : impl_->info().metadata.timesteps;
}

std::vector<Tensor> Session::run(const Tensor& input) {
  std::vector<Tensor> outputs;
  run(input, outputs);
  return outputs;
}

void Session::run(const Tensor& input, std::vector<Tensor>& outputs) {
  run(TensorView{input.shape, input.data.data(), input.data.size()}, outputs);
}

void Session::run(const TensorView& input, std::vector<Tensor>& outputs) {
  Impl& s = *impl_;
  s.check_tensor(input, "input tensor");
  const bool sequence = s.info().metadata.encoding == Encoding::kSequence;
  int timesteps = this->timesteps();
  if (sequence) {
    if (input.shape.empty())
      throw s.bad_input("sequence encoding needs an input [T, N, ...] with a leading time axis");
    const int64_t t = input.shape[0];
    if (s.options.timesteps > 0 && t != s.options.timesteps)
      throw s.bad_input(
          fmt::format("the input has {} timesteps but {} were asked for; with sequence "
                      "encoding T is the input's time length",
                      t, s.options.timesteps));
    if (t < 1 || t > s.model->limits().max_timesteps)
      throw s.bad_input(
          fmt::format("the input's time length {} is not in 1..{}", t, s.model->limits().max_timesteps));
    timesteps = static_cast<int>(t);
    s.set_frame_shape(input.shape, 1, "sequence encoding: expected [T, N, ...] or [T, ...]");
  } else {
    s.set_frame_shape(input.shape, 0, "direct encoding: expected [N, ...] or the same without N");
  }
  const Shape& frame = s.frame;
  s.ensure_plan(frame, timesteps);  // planning is load-time work: not part of time_ms
  const bool layer_major = s.ensure_layer_major(timesteps);
  s.ran_layer_major = layer_major;
  if (s.recorder) s.recorder->reserve(timesteps);
  const auto start = std::chrono::steady_clock::now();
  s.reset();
  const int64_t frame_size = element_count(frame);
  if (layer_major) {
    for (int t = 0; t < timesteps; ++t)
      std::memcpy(s.by_timestep[t]->input.data, input.data + (sequence ? t * frame_size : 0),
                  frame_size * sizeof(float));
    if (s.recorder)
      s.recorder->run_layer_major(s.graph(), s.by_timestep, /*direct=*/!sequence);
    else
      detail::run_layer_major(s.graph(), s.by_timestep, /*direct=*/!sequence);
    for (const detail::Plan* p : s.by_timestep) s.accumulate(*p);
  } else {
    for (int t = 0; t < timesteps; ++t) {
      if (sequence || t == 0)
        std::memcpy(s.plan->input.data, input.data + (sequence ? t * frame_size : 0),
                    frame_size * sizeof(float));
      s.run_timestep(/*skip_invariant=*/!sequence && t > 0, t);
      s.accumulate(*s.plan);
    }
  }
  s.steps = timesteps;
  s.emit(outputs, /*from_accum=*/true, timesteps);
  if (s.pool) s.pool->rest();
  s.time_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void Session::reset() { impl_->reset(); }

std::vector<Tensor> Session::step(const Tensor& frame) {
  std::vector<Tensor> outputs;
  step(frame, outputs);
  return outputs;
}

void Session::step(const Tensor& frame, std::vector<Tensor>& outputs) {
  step(TensorView{frame.shape, frame.data.data(), frame.data.size()}, outputs);
}

void Session::step(const TensorView& frame, std::vector<Tensor>& outputs) {
  Impl& s = *impl_;
  s.check_tensor(frame, "frame");
  s.set_frame_shape(frame.shape, 0, "one timestep: expected [N, ...] or the same without N");
  const Shape& shape = s.frame;
  if (s.steps > 0 && s.plan && s.plan->frame_shape != shape)
    throw s.bad_input(fmt::format("frame shape {} differs from {} of the earlier steps; call reset() first",
                                  shape_to_string(shape), shape_to_string(s.plan->frame_shape)));
  if (s.steps >= s.model->limits().max_timesteps)
    throw s.bad_input(fmt::format("more than {} steps without reset()", s.model->limits().max_timesteps));
  const auto start = std::chrono::steady_clock::now();
  if (!s.plan || s.plan->frame_shape != shape) {
    s.ensure_plan(shape, timesteps());
    s.reset();
  }
  std::memcpy(s.plan->input.data, frame.data, frame.size * sizeof(float));
  s.run_timestep(/*skip_invariant=*/false, s.steps);
  s.accumulate(*s.plan);
  s.steps++;
  s.emit(outputs, /*from_accum=*/false, 1);
  if (s.pool) s.pool->rest();
  s.time_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::vector<Tensor> Session::readout() const {
  const Impl& s = *impl_;
  if (!s.plan || s.steps == 0)
    throw Error(ErrorCode::kBadInput, "readout(): no timestep has run since reset()");
  std::vector<Tensor> outputs;
  s.emit(outputs, /*from_accum=*/true, s.steps);
  return outputs;
}

Profile Session::profile() const {
  const Impl& s = *impl_;
  if (!s.options.profile)
    throw Error(ErrorCode::kBadInput, "profile(): the Session was made without SessionOptions::profile");
  if (!s.recorder || s.steps == 0)
    throw Error(ErrorCode::kBadInput, "profile(): nothing has run since reset()");
  return s.recorder->result(s.graph(), *s.plan);
}

void Session::observe(const std::vector<std::string>& nodes, NodeObserver observer) {
  Impl& s = *impl_;
  std::unique_ptr<detail::Observation> next;
  if (observer && !nodes.empty())
    next = std::make_unique<detail::Observation>(s.graph(), nodes, std::move(observer));
  s.observation = std::move(next);
  // The watched values' lifetimes change the memory plan.
  s.plan.reset();
  s.steps = 0;
}

RunStats Session::stats() const {
  const Impl& s = *impl_;
  RunStats r;
  r.timesteps = s.steps;
  r.time_ms = s.time_ms;
  r.layer_major = s.ran_layer_major;
  if (!s.plan) return r;
  r.batch = s.plan->frame_shape.empty() ? 0 : s.plan->frame_shape[0];
  const auto& names = s.info().spike_nodes;
  int64_t fired = 0, total = 0;
  for (size_t k = 0; k < s.plan->spike_counts.size(); ++k) {
    const int64_t elements = s.plan->spike_elements[k] * std::max(1, s.steps);
    r.firing_rates.push_back({names[k], elements ? double(s.plan->spike_counts[k]) / double(elements) : 0.0});
    r.spike_counts.push_back(s.plan->spike_counts[k]);
    fired += s.plan->spike_counts[k];
    total += elements;
  }
  r.mean_firing_rate = total ? double(fired) / double(total) : 0.0;
  return r;
}

}  // namespace tspike
