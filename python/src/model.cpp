// SPDX-License-Identifier: Apache-2.0
// tspike.Limits and tspike.Model.
#include <fmt/format.h>

#include "python/src/bindings.hpp"

namespace tspike::python {

namespace {

Engine parse_engine(const std::string& s) {
  if (s == "auto") return Engine::kAuto;
  if (s == "event") return Engine::kEvent;
  if (s == "dense") return Engine::kDense;
  throw Error(ErrorCode::kBadInput, fmt::format("engine '{}': expected 'auto', 'event' or 'dense'", s));
}

InstructionSet parse_isa(const std::string& s) {
  if (s == "best") return InstructionSet::kBest;
  if (s == "avx512") return InstructionSet::kAvx512;
  if (s == "avx2") return InstructionSet::kAvx2;
  if (s == "portable") return InstructionSet::kPortable;
  throw Error(ErrorCode::kBadInput,
              fmt::format("isa '{}': expected 'best', 'avx512', 'avx2' or 'portable'", s));
}

py::dict value_dict(const ValueInfo& v) {
  py::dict d;
  d["name"] = text(v.name);
  d["shape"] = shape_tuple(v.shape);
  py::list names;
  for (const auto& n : v.dim_names) names.append(text(n));
  d["dim_names"] = names;
  return d;
}

py::list text_list(const std::vector<std::string>& v) {
  py::list l;
  for (const auto& s : v) l.append(text(s));
  return l;
}

ModelHandle load(py::handle source, const std::string& engine, const std::string& isa, bool reference_kernels,
                 bool reparameterize, const Limits* limits, const std::string& name) {
  LoadOptions o;
  o.engine = parse_engine(engine);
  o.max_isa = parse_isa(isa);
  o.reference_kernels = reference_kernels;
  o.reparameterize = reparameterize;
  if (limits) o.limits = *limits;
  ModelHandle h;
  if (is_file_contents(source)) {
    py::buffer_info buf =
        py::reinterpret_borrow<py::buffer>(source).request();  // holds the buffer: no resize
    const std::size_t size = static_cast<std::size_t>(buf.size * buf.itemsize);
    py::gil_scoped_release unlocked;
    h.model = Model::load_from_memory(buf.ptr, size, name.empty() ? "<bytes>" : name, o);
  } else {
    const std::string path = fspath(source);
    py::gil_scoped_release unlocked;
    h.model = Model::load(path, o);
  }
  return h;
}

}  // namespace

py::dict limits_dict(const Limits& l) {
  py::dict d;
  d["max_file_bytes"] = l.max_file_bytes;
  d["max_tensor_elements"] = l.max_tensor_elements;
  d["max_arena_bytes"] = l.max_arena_bytes;
  d["max_nodes"] = l.max_nodes;
  d["max_timesteps"] = l.max_timesteps;
  d["max_image_pixels"] = l.max_image_pixels;
  return d;
}

py::dict info_dict(const ModelInfo& info) {
  py::dict d;
  d["path"] = text(info.path);
  d["input"] = value_dict(info.input);
  py::list outputs;
  for (const auto& o : info.outputs) outputs.append(value_dict(o));
  d["outputs"] = outputs;
  const ModelMetadata& md = info.metadata;
  d["timesteps"] = md.timesteps;
  d["encoding"] = to_string(md.encoding);
  d["readout"] = to_string(md.readout);
  d["labels"] = text_list(md.labels);
  py::dict image;
  image["scale"] = md.image_scale;
  image["mean"] = md.image_mean;
  image["std"] = md.image_std;
  d["image"] = image;
  d["reparameterized"] = md.reparameterized;
  py::dict raw;
  for (const auto& [k, v] : md.raw) raw[text(k)] = text(v);
  d["metadata"] = raw;
  py::dict ops;
  for (const auto& [op, n] : info.op_counts) ops[text(op)] = n;
  d["op_counts"] = ops;
  d["spike_nodes"] = text_list(info.spike_nodes);
  py::list layers;
  for (const auto& l : info.layers) {
    py::dict layer;
    layer["node"] = text(l.node);
    layer["op"] = text(l.op_type);
    layer["multiplication_free"] = l.multiplication_free;
    layer["why"] = text(l.why);
    layer["kernel"] = text(l.kernel);
    layers.append(layer);
  }
  d["layers"] = layers;
  d["folded"] = text_list(info.conversion.folded);
  py::list kept;
  for (const auto& [node, why] : info.conversion.kept_amplitudes) {
    py::dict k;
    k["node"] = text(node);
    k["why"] = text(why);
    kept.append(k);
  }
  d["kept_amplitudes"] = kept;
  py::list unfolded;
  for (const auto& [node, why] : info.conversion.unfolded) {
    py::dict k;
    k["node"] = text(node);
    k["why"] = text(why);
    unfolded.append(k);
  }
  d["unfolded_batchnorms"] = unfolded;
  return d;
}

void bind_model(py::module_& m) {
  py::class_<Limits>(m, "Limits", R"(Limits that protect the process from hostile files and inputs.

Every size a file declares is checked against them before anything is
allocated. Raise them for big models: ``tspike.Limits(max_file_bytes=8 << 30)``.)")
      .def(py::init([](py::kwargs kwargs) {
             Limits l;
             py::object self = py::cast(l);
             for (auto [key, value] : kwargs) {
               const std::string k = py::str(key);
               if (!py::hasattr(self, k.c_str()) || k.rfind("max_", 0) != 0)
                 throw Error(ErrorCode::kBadInput,
                             fmt::format("Limits: no limit named '{}' (see tspike.Limits().as_dict())", k));
               self.attr(k.c_str()) = value;
             }
             return self.cast<Limits>();
           }),
           "Limits(**overrides): the defaults, with any named limit changed.")
      .def_readwrite("max_file_bytes", &Limits::max_file_bytes, "Largest model, image or .npy file (2 GiB).")
      .def_readwrite("max_tensor_elements", &Limits::max_tensor_elements,
                     "Most elements of one tensor (2**28).")
      .def_readwrite("max_arena_bytes", &Limits::max_arena_bytes, "Most memory one Session plans (4 GiB).")
      .def_readwrite("max_nodes", &Limits::max_nodes, "Most nodes in a graph (100000).")
      .def_readwrite("max_timesteps", &Limits::max_timesteps, "Most timesteps of a run (10000).")
      .def_readwrite("max_image_pixels", &Limits::max_image_pixels, "Most pixels of an image (2**26).")
      .def("as_dict", &limits_dict, "The limits as a dict.")
      .def(py::pickle([](const Limits& l) { return limits_dict(l); },  // Dask sends them to workers
                      [](const py::dict& d) {
                        Limits l;
                        py::object self = py::cast(l);
                        for (auto [k, v] : d) self.attr(k) = v;
                        return self.cast<Limits>();
                      }))
      .def("__repr__", [](const Limits& l) {
        std::string s = "tspike.Limits(";
        bool first = true;
        for (auto [k, v] : limits_dict(l)) {
          s += (first ? "" : ", ") + std::string(py::str(k)) + "=" + std::string(py::str(v));
          first = false;
        }
        return s + ")";
      });

  py::class_<ModelHandle>(m, "Model", R"(A loaded, checked and converted tspike model.

Immutable once loaded: share one Model between any number of Sessions on
any threads. Load with ``tspike.Model.load(path_or_bytes, ...)``.)")
      .def_static("load", &load, py::arg("source"), py::kw_only(), py::arg("engine") = "auto",
                  py::arg("isa") = "best", py::arg("reference_kernels") = false,
                  py::arg("reparameterize") = true, py::arg("limits") = py::none(), py::arg("name") = "",
                  R"(Load a model from a path (str or os.PathLike) or from the file's bytes.

Parses, checks (ONNX checker, shape inference, the format's rules),
folds BatchNorm and spike amplitudes into weights unless the file is
already converted, and picks each layer's kernel. The GIL is released
while loading.

engine: how layers fed by spikes run: "auto" (event-driven, dense for a
    timestep denser than the measured crossover), "event" or "dense".
isa: the most the optimized kernels may use of the CPU: "best",
    "avx512", "avx2" or "portable" (TSPIKE_ISA caps it too).
reference_kernels: run every op with its plain reference kernel.
reparameterize: apply the converter's passes to an unconverted file.
limits: a tspike.Limits; the defaults otherwise.
name: what errors call the model when it is loaded from bytes.

Raises tspike.Error (a subclass per ErrorCode) naming the file, node and
tensor at fault.)")
      .def_property_readonly(
          "info", [](const ModelHandle& h) { return info_dict(h.model->info()); },
          R"(The model as plain Python objects (a new dict at each access):
path, input and outputs (name, shape with None for unknown dimensions,
dim_names), timesteps, encoding, readout, labels, image preprocessing
(scale, mean, std), reparameterized, metadata (every tspike.* entry),
op_counts, spike_nodes (TernarySpike nodes in graph order), layers (each
Conv / Gemm / MatMul: node, op, multiplication_free, why, kernel), folded
and kept_amplitudes (what conversion did).)")
      .def_property_readonly(
          "limits", [](const ModelHandle& h) { return h.model->limits(); },
          "The tspike.Limits the model was loaded with.")
      .def_property_readonly(
          "labels", [](const ModelHandle& h) { return text_list(h.model->info().metadata.labels); },
          "The class names (tspike.labels), possibly empty.")
      .def_property_readonly(
          "timesteps", [](const ModelHandle& h) { return h.model->info().metadata.timesteps; },
          "The model's default number of timesteps T.")
      .def("__repr__", [](const ModelHandle& h) {
        const ModelInfo& i = h.model->info();
        std::string outs;
        for (const auto& o : i.outputs)
          outs += (outs.empty() ? "" : ", ") + o.name + shape_to_string(o.shape);
        return text(fmt::format("<tspike.Model '{}': input {}{}, outputs {}, T={}>", i.path, i.input.name,
                                shape_to_string(i.input.shape), outs, i.metadata.timesteps));
      });
}

}  // namespace tspike::python
