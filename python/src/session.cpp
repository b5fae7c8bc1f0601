// SPDX-License-Identifier: Apache-2.0
// tspike.Session: runs a Model, NumPy in and out, the GIL released while
// the network runs.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <optional>

#include "python/src/bindings.hpp"

namespace tspike::python {

namespace {

// One output of one node at one timestep, given to an observe() callback.
struct NodeOutputValue {
  int timestep = 0;
  py::object node, op_type, value;  // str
  py::array data;                   // a copy: the Session reuses its memory
};

struct SessionHandle {
  std::shared_ptr<const Model> model;
  std::optional<Session> session;
  std::vector<Tensor> outputs;  // reused: run() allocates no output vectors
  Shape shape;                  // the input's shape, reused
  py::object observer = py::none();
  // A Session runs one call at a time; with the GIL released two Python
  // threads (or an observer callback) could otherwise enter it together.
  std::atomic<bool> busy{false};
};

// Marks the Session busy for one call, or refuses the call.
class Busy {
 public:
  Busy(SessionHandle& h, const char* call) : h_(h) {
    bool idle = false;
    if (!h_.busy.compare_exchange_strong(idle, true))
      throw Error(ErrorCode::kBadInput,
                  fmt::format("Session.{}(): the Session is busy with another call (from another thread, or "
                              "from its own observe() callback); give each thread its own Session",
                              call));
  }
  ~Busy() { h_.busy.store(false); }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  SessionHandle& h_;
};

std::unique_ptr<SessionHandle> make_session(py::object model, std::optional<int> timesteps, int threads,
                                            bool profile, bool layer_major, bool allow_spinning) {
  auto h = std::make_unique<SessionHandle>();
  if (py::isinstance<ModelHandle>(model)) {
    h->model = model.cast<const ModelHandle&>().model;
  } else {
    h->model =
        py::module_::import("tspike").attr("Model").attr("load")(model).cast<const ModelHandle&>().model;
  }
  SessionOptions o;
  if (timesteps) {
    if (*timesteps < 1)
      throw Error(ErrorCode::kBadInput,
                  fmt::format("timesteps {} must be at least 1 (None: the model's)", *timesteps));
    o.timesteps = *timesteps;
  }
  o.threads = threads;
  o.profile = profile;
  o.layer_major = layer_major;
  o.allow_spinning = allow_spinning;
  h->session.emplace(h->model, o);
  return h;
}

py::object run(SessionHandle& h, py::handle x, bool as_dict) {
  Busy busy(h, "run");
  InputArray in = as_float32(x, "input", h.shape, h.model->limits());
  {
    py::gil_scoped_release unlocked;
    h.session->run(TensorView{h.shape, in.data(), in.size()}, h.outputs);
  }
  return outputs_to_python(h.outputs, as_dict);
}

py::object step(SessionHandle& h, py::handle x, bool as_dict) {
  Busy busy(h, "step");
  InputArray in = as_float32(x, "frame", h.shape, h.model->limits());
  {
    py::gil_scoped_release unlocked;
    h.session->step(TensorView{h.shape, in.data(), in.size()}, h.outputs);
  }
  return outputs_to_python(h.outputs, as_dict);
}

void observe(SessionHandle& h, py::object callback, std::optional<std::vector<std::string>> nodes) {
  Busy busy(h, "observe");
  if (callback.is_none()) {
    h.session->observe({}, nullptr);
    h.observer = py::none();
    return;
  }
  if (!PyCallable_Check(callback.ptr()))
    throw py::type_error("observe(): the callback must be callable or None");
  const std::vector<std::string> names = nodes ? *nodes : h.model->info().spike_nodes;
  SessionHandle* self = &h;
  // Runs on the thread that called run()/step(), which released the GIL.
  h.session->observe(names, [self](const NodeOutput& o) {
    py::gil_scoped_acquire locked;
    NodeOutputValue v;
    v.timestep = o.timestep;
    v.node = text(o.node);
    v.op_type = text(o.op_type);
    v.value = text(o.value);
    v.data = to_numpy(Tensor(o.shape, std::vector<float>(o.data, o.data + element_count(o.shape))));
    self->observer(v);
  });
  h.observer = std::move(callback);
}

// For python/bench/bench_overhead.py: `iterations` calls of the C++
// Session::run on this Session and input, timed in C++ with no Python in
// the loop; returns seconds per call.
double native_run_seconds(SessionHandle& h, py::handle x, int iterations) {
  Busy busy(h, "_native_run_seconds");
  InputArray in = as_float32(x, "input", h.shape, h.model->limits());
  py::gil_scoped_release unlocked;
  const TensorView view{h.shape, in.data(), in.size()};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) h.session->run(view, h.outputs);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
         std::max(1, iterations);
}

}  // namespace

py::dict stats_dict(const RunStats& s) {
  py::dict d;
  d["timesteps"] = s.timesteps;
  d["batch"] = s.batch;
  d["time_ms"] = s.time_ms;
  py::dict rates, counts;
  for (std::size_t k = 0; k < s.firing_rates.size(); ++k) {
    rates[text(s.firing_rates[k].first)] = s.firing_rates[k].second;
    if (k < s.spike_counts.size()) counts[text(s.firing_rates[k].first)] = s.spike_counts[k];
  }
  d["firing_rates"] = rates;
  d["mean_firing_rate"] = s.mean_firing_rate;
  d["spike_counts"] = counts;
  d["layer_major"] = s.layer_major;
  return d;
}

py::dict profile_dict(const Profile& p) {
  py::dict d;
  d["timesteps"] = p.timesteps;
  d["batch"] = p.batch;
  d["layer_major"] = p.layer_major;
  d["time_ms"] = p.time_ms;
  d["ac"] = p.ac;
  d["mac"] = p.mac;
  d["dense_macs"] = p.dense_macs;
  d["energy_pj"] = p.energy_pj;
  d["dense_energy_pj"] = p.dense_energy_pj;
  d["energy_ratio"] = p.energy_ratio();
  d["pj_per_ac"] = kPicojoulesPerAC;
  d["pj_per_mac"] = kPicojoulesPerMAC;
  py::list nodes;
  for (const NodeProfile& n : p.nodes) {
    py::dict node;
    node["name"] = text(n.name);
    node["op"] = text(n.op_type);
    node["output_shape"] = shape_tuple(n.output_shape);
    node["folded"] = n.folded;
    node["time_ms"] = n.time_ms;
    node["total_time_ms"] = n.total_time_ms;
    if (n.neuron) {
      node["density"] = n.density;
      node["spikes"] = n.spikes;
    }
    if (n.synapses != SynapseKind::kNone) {
      node["synapses"] = n.synapses == SynapseKind::kAccumulate ? "AC" : "MAC";
      node["ops"] = n.ops;
      node["ac"] = n.ac;
      node["mac"] = n.mac;
      node["dense_macs"] = n.dense_macs;
      node["energy_pj"] = n.energy_pj;
      node["dense_energy_pj"] = n.dense_energy_pj;
    }
    nodes.append(node);
  }
  d["nodes"] = nodes;
  return d;
}

void bind_session(py::module_& m) {
  py::class_<NodeOutputValue>(m, "NodeOutput", R"(One output of one node at one timestep (Session.observe).

timestep: 0-based, since run() started or since reset() for step().
node, op_type, value: the node's name, its op type (TernarySpike, Conv, ...) and
    the output value's name.
data: a float32 array [N, ...] of this timestep, the caller's to keep
    (for a TernarySpike of a converted model: -1, 0, +1).)")
      .def_readonly("timestep", &NodeOutputValue::timestep)
      .def_readonly("node", &NodeOutputValue::node)
      .def_readonly("op_type", &NodeOutputValue::op_type)
      .def_readonly("value", &NodeOutputValue::value)
      .def_readonly("data", &NodeOutputValue::data)
      .def("__repr__", [](const NodeOutputValue& v) {
        return py::str("<tspike.NodeOutput t={} {} '{}' shape={}>")
            .format(v.timestep, v.op_type, v.node, v.data.attr("shape"));
      });

  py::class_<SessionHandle>(m, "Session", R"(The state of runs of a Model: membranes, memory, readout.

Session(model, timesteps=None, threads=1, profile=False, layer_major=False,
        allow_spinning=True)

model: a tspike.Model, or what Model.load takes (a path or bytes).
timesteps: T for run(); None: the model's tspike.timesteps.
threads: worker threads inside the kernels of this Session.
profile: record per-node time, spikes and synaptic operations for
    profile() (costs a little time per timestep).
layer_major: run() goes layer by layer, each layer's T timesteps back to
    back (same outputs; faster on large models, more memory).
allow_spinning: with threads > 1, idle workers poll briefly before they
    sleep.

A Session runs one call at a time: give each thread its own (they may
share one Model). run() and step() release the GIL, so sessions on
several Python threads run in parallel. A call made while the Session is
busy (from another thread, or from its observer) raises BadInputError.

Inputs: a float32 C-contiguous array is read where it lies, without a
copy; any other array-like of a real-number dtype (bool, integers,
float64, strided or Fortran-ordered views) is first converted to a
float32 C-contiguous copy; other dtypes raise BadInputError. A shape
that does not fit raises BadInputError naming the model's input shape.

Outputs: run(), step() and readout() return one float32 NumPy array when
the model has one output, else a dict {output name: array} in graph
order; as_dict=True always gives the dict. Arrays are new copies.)")
      .def(py::init(&make_session), py::arg("model"), py::arg("timesteps") = py::none(),
           py::arg("threads") = 1, py::arg("profile") = false, py::arg("layer_major") = false,
           py::arg("allow_spinning") = true)
      .def("run", &run, py::arg("x"), py::kw_only(), py::arg("as_dict") = false,
           R"(Zero the state, run all T timesteps on x and return the readout.

Direct encoding: x is [N, ...] (or one sample without N). Sequence
encoding: x is [T, N, ...] (or [T, ...]); T is its time length. The GIL
is released while the network runs.)")
      .def("step", &step, py::arg("x"), py::kw_only(), py::arg("as_dict") = false,
           R"(Run one timestep on the frame x ([N, ...]) and return that timestep's
outputs, not reduced over time. The state carries over to the next
step() until reset(). The GIL is released while the network runs.)")
      .def(
          "reset",
          [](SessionHandle& h) {
            Busy busy(h, "reset");
            h.session->reset();
          },
          "Zero the state (membranes, readout) before a new stream of step() calls.")
      .def(
          "readout",
          [](SessionHandle& h, bool as_dict) {
            Busy busy(h, "readout");
            h.outputs = h.session->readout();
            return outputs_to_python(h.outputs, as_dict);
          },
          py::kw_only(), py::arg("as_dict") = false,
          "The readout (mean, sum or last) of the step() outputs since reset(); after T steps it equals "
          "run().")
      .def_property_readonly(
          "stats",
          [](SessionHandle& h) {
            Busy busy(h, "stats");
            return stats_dict(h.session->stats());
          },
          R"(Statistics of the last run() or of the steps since reset(), as a dict:
timesteps, batch, time_ms, firing_rates {node: nonzero spikes / (elements
x T x N)}, mean_firing_rate, spike_counts {node: nonzero spikes},
layer_major.)")
      .def(
          "profile",
          [](SessionHandle& h) {
            Busy busy(h, "profile");
            return profile_dict(h.session->profile());
          },
          R"(The per-node profile of the last run() or the steps since reset(), as a
dict (the fields of `tsrun --profile --json`): totals (time_ms, ac, mac,
dense_macs, energy_pj, dense_energy_pj, energy_ratio) and nodes, a list
of {name, op, output_shape, folded, time_ms per timestep,
total_time_ms, and density/spikes for TernarySpike, synapses/ops/ac/mac/
dense_macs/energy_pj/dense_energy_pj for Conv, Gemm, MatMul}. Raises
BadInputError without profile=True or before anything ran.)")
      .def("observe", &observe, py::arg("callback"), py::arg("nodes") = py::none(),
           R"(Call callback(tspike.NodeOutput) at every timestep of run() and step()
for each output of each node in `nodes` (default: every TernarySpike,
i.e. the spike maps), in graph order, after the timestep has run.
callback=None stops observing. The callback runs on the thread that
called run(), holding the GIL; it must not call this Session. An
exception it raises propagates out of run(). Raises BadInputError for a
name that is no node of the model.)")
      .def_property_readonly(
          "timesteps", [](SessionHandle& h) { return h.session->timesteps(); }, "T of run().")
      .def_property_readonly(
          "model", [](SessionHandle& h) { return ModelHandle{h.model}; }, "The Model this Session runs.")
      .def("_native_run_seconds", &native_run_seconds, py::arg("x"), py::arg("iterations"),
           "Benchmark helper: seconds per call of the C++ Session::run on x, looped in C++.");
}

}  // namespace tspike::python
