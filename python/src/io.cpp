// SPDX-License-Identifier: Apache-2.0
// Files in and out: images, .npy, IDX data sets, and conversion
// (tsconvert as a function).
#include <fmt/format.h>

#include <cstring>

#include "python/src/bindings.hpp"

namespace tspike::python {

namespace {

const ModelHandle& as_model(py::handle model) {
  if (!py::isinstance<ModelHandle>(model))
    throw py::type_error("expected a tspike.Model, got " +
                         std::string(py::str(py::type::handle_of(model).attr("__name__"))));
  return model.cast<const ModelHandle&>();
}

py::array load_image(py::handle source, py::handle model_obj) {
  const ModelHandle& model = as_model(model_obj);
  Tensor t;
  if (is_file_contents(source)) {
    py::buffer_info buf = py::reinterpret_borrow<py::buffer>(source).request();
    py::gil_scoped_release unlocked;
    t = load_image_from_memory(buf.ptr, static_cast<std::size_t>(buf.size * buf.itemsize), "<bytes>",
                               model.model->info(), model.model->limits());
  } else {
    const std::string path = fspath(source);
    py::gil_scoped_release unlocked;
    t = tspike::load_image(path, model.model->info(), model.model->limits());
  }
  return to_numpy(t);
}

py::array load_npy(py::handle source, const Limits* limits) {
  const Limits l = limits ? *limits : Limits{};
  Tensor t;
  if (is_file_contents(source)) {
    py::buffer_info buf = py::reinterpret_borrow<py::buffer>(source).request();
    py::gil_scoped_release unlocked;
    t = load_npy_from_memory(buf.ptr, static_cast<std::size_t>(buf.size * buf.itemsize), "<bytes>", l);
  } else {
    const std::string path = fspath(source);
    py::gil_scoped_release unlocked;
    t = tspike::load_npy(path, l);
  }
  return to_numpy(t);
}

py::tuple labeled_images(LabeledImages set) {
  py::array_t<uint8_t> images({set.count, int64_t(set.height), int64_t(set.width)});
  py::array_t<uint8_t> labels({set.count});
  if (!set.pixels.empty()) std::memcpy(images.mutable_data(), set.pixels.data(), set.pixels.size());
  if (!set.labels.empty()) std::memcpy(labels.mutable_data(), set.labels.data(), set.labels.size());
  return py::make_tuple(images, labels);
}

py::tuple load_idx_dir(py::handle dir, const std::string& prefix, const Limits* limits) {
  const std::string path = fspath(dir);
  const Limits l = limits ? *limits : Limits{};
  LabeledImages set;
  {
    py::gil_scoped_release unlocked;
    set = tspike::load_idx_dir(path, prefix, l);
  }
  return labeled_images(std::move(set));
}

py::tuple load_idx(py::handle images_path, py::handle labels_path, const Limits* limits) {
  const std::string images = fspath(images_path), labels = fspath(labels_path);
  const Limits l = limits ? *limits : Limits{};
  LabeledImages set;
  {
    py::gil_scoped_release unlocked;
    set = tspike::load_idx(images, labels, l);
  }
  return labeled_images(std::move(set));
}

py::array images_to_input(py::handle images_obj, py::handle model_obj) {
  const ModelHandle& model = as_model(model_obj);
  py::array images = py::isinstance<py::array>(images_obj)
                         ? py::reinterpret_borrow<py::array>(images_obj)
                         : py::array(py::module_::import("numpy").attr("asarray")(images_obj));
  if (!images.dtype().is(py::dtype::of<uint8_t>()) || (images.ndim() != 3 && images.ndim() != 2))
    throw Error(
        ErrorCode::kBadInput,
        fmt::format("images_to_input: expected uint8 gray images [N, H, W] (or one [H, W]), got {} of "
                    "shape {}",
                    std::string(py::str(images.dtype())), std::string(py::str(images.attr("shape")))));
  if (images.size() > model.model->limits().max_tensor_elements)
    throw Error(ErrorCode::kResourceLimit,
                fmt::format("images_to_input: {} pixels, more than the limit on tensor "
                            "elements ({})",
                            images.size(), model.model->limits().max_tensor_elements));
  py::array_t<uint8_t, py::array::c_style | py::array::forcecast> pixels(images);
  LabeledImages set;
  const bool one = pixels.ndim() == 2;
  set.count = one ? 1 : pixels.shape(0);
  set.height = static_cast<int>(pixels.shape(one ? 0 : 1));
  set.width = static_cast<int>(pixels.shape(one ? 1 : 2));
  set.pixels.assign(pixels.data(), pixels.data() + pixels.size());
  Tensor out;
  {
    py::gil_scoped_release unlocked;
    tspike::images_to_input(set, 0, set.count, model.model->info(), out);
  }
  return to_numpy(out);
}

py::dict convert(py::handle src, py::handle dst, bool strict, bool verify, const Limits* limits) {
  const std::string in = fspath(src), out = fspath(dst);
  ConvertOptions o;
  o.strict = strict;
  if (limits) o.limits = *limits;
  ConversionReport report;
  std::shared_ptr<const Model> converted;
  ConversionCheck check;
  {
    py::gil_scoped_release unlocked;
    report = convert_file(in, out, o);
    converted = Model::load(out);
    if (verify) check = verify_conversion(in, out);
  }
  // The fields of `tsconvert --json`.
  py::dict d;
  d["input"] = text(in);
  d["output"] = text(out);
  d["already_reparameterized"] = report.already_reparameterized;
  py::list folded, kept, layers;
  for (const auto& line : report.folded) folded.append(text(line));
  d["folded"] = folded;
  for (const auto& [node, why] : report.kept_amplitudes) {
    py::dict k;
    k["node"] = text(node);
    k["why"] = text(why);
    kept.append(k);
  }
  d["kept_amplitudes"] = kept;
  py::list unfolded;
  for (const auto& [node, why] : report.unfolded) {
    py::dict k;
    k["node"] = text(node);
    k["why"] = text(why);
    unfolded.append(k);
  }
  d["unfolded_batchnorms"] = unfolded;
  py::list kept_pools;
  for (const auto& [edge, why] : report.kept_pools) {
    py::dict k;
    k["edge"] = text(edge);
    k["why"] = text(why);
    kept_pools.append(k);
  }
  d["kept_pools"] = kept_pools;
  int free = 0;
  for (const LayerInfo& l : converted->info().layers) {
    py::dict layer;
    layer["node"] = text(l.node);
    layer["op"] = text(l.op_type);
    layer["multiplication_free"] = l.multiplication_free;
    layer["folded_pool"] = l.folded_pool;
    layer["why"] = text(l.why);
    layers.append(layer);
    free += l.multiplication_free;
  }
  d["layers"] = layers;
  d["multiplication_free_layers"] = free;
  if (verify) {
    py::dict v;
    v["input_shape"] = shape_tuple(check.input_shape);
    v["inputs"] = check.inputs;
    v["max_abs_difference"] = check.max_abs_difference;
    v["max_rel_difference"] = check.max_rel_difference;
    v["limit"] = check.limit;
    v["spike_count_difference"] = check.spike_count_difference;
    v["samples"] = check.samples;
    v["compared_spikes"] = check.compared_spikes;
    v["flip_count"] = check.flip_count;
    v["excused_differences"] = check.excused_differences;
    v["samples_with_flips"] = check.samples_with_flips;
    py::list flips;
    for (const SpikeFlip& f : check.flips) {
      py::dict flip;
      flip["node"] = text(f.node);
      flip["timestep"] = f.timestep;
      flip["sample"] = f.sample;
      flip["input"] = f.input;
      flip["element"] = shape_tuple(f.element);
      flip["original_spike"] = f.original_spike;
      flip["converted_spike"] = f.converted_spike;
      flip["original_membrane"] = f.original_membrane;
      flip["converted_membrane"] = f.converted_membrane;
      flip["threshold"] = f.threshold;
      flip["margin"] = f.margin;
      flip["margin_steps"] = f.margin_steps;
      flips.append(flip);
    }
    v["flips"] = flips;
    v["failure"] = text(check.failure);
    v["ok"] = check.ok;
    d["verify"] = v;
  }
  return d;
}

void set_log_level(const std::string& level) {
  static const std::pair<const char*, LogLevel> kLevels[] = {{"off", LogLevel::kOff},
                                                             {"error", LogLevel::kError},
                                                             {"warning", LogLevel::kWarning},
                                                             {"info", LogLevel::kInfo},
                                                             {"debug", LogLevel::kDebug}};
  for (const auto& [name, l] : kLevels)
    if (level == name) return tspike::set_log_level(l);
  throw Error(ErrorCode::kBadInput,
              fmt::format("log level '{}': expected 'off', 'error', 'warning', 'info' or 'debug'", level));
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("load_image", &load_image, py::arg("source"), py::arg("model"),
        R"(Decode an image (PNG, JPEG, BMP, PGM/PPM; a path or the file's bytes) and
preprocess it as the model says: its channel count, bilinear resize to its
H x W, pixel * image scale, then (x - mean[c]) / std[c]. Returns a float32
array [1, C, H, W] for Session.run. The model's limits bound the file size
and pixel count (checked from the header, before decoding).)");
  m.def("load_npy", &load_npy, py::arg("source"), py::arg("limits") = py::none(),
        R"(Read a float32 .npy file (a path or the file's bytes) with the runtime's
checked reader (the header against the file size and the limits before
allocating). numpy.load reads the same files; this is the one tsrun uses.)");
  m.def("load_idx_dir", &load_idx_dir, py::arg("dir"), py::arg("prefix") = "t10k",
        py::arg("limits") = py::none(),
        R"(Read an IDX data set (MNIST, Fashion-MNIST): DIR/PREFIX-images-idx3-ubyte
and DIR/PREFIX-labels-idx1-ubyte, plain or .gz. Returns (images, labels):
uint8 arrays [N, H, W] and [N]. prefix "t10k" is the test set, "train"
the training set; tspike.FASHION_MNIST_DIR is where Debian's
dataset-fashion-mnist installs them.)");
  m.def("load_idx", &load_idx, py::arg("images"), py::arg("labels"), py::arg("limits") = py::none(),
        "Read an IDX images file and its labels file: (uint8 [N, H, W], uint8 [N]).");
  m.def("images_to_input", &images_to_input, py::arg("images"), py::arg("model"),
        R"(Gray uint8 images [N, H, W] (or one [H, W]) as the model's input
[N, C, H, W], preprocessed exactly as load_image and tseval do: gray
copied to each channel, (pixel * image scale - mean[c]) / std[c]. No
resize: H x W must be the model's.)");
  m.def("convert", &convert, py::arg("src"), py::arg("dst"), py::kw_only(), py::arg("strict") = false,
        py::arg("verify") = false, py::arg("limits") = py::none(),
        R"(Convert a trained TernarySpike ONNX model (tsconvert as a function): fold
BatchNorm and spike amplitudes into weights, write the inference model to
dst, and return the report as a dict with the fields of
`tsconvert --json`: input, output, already_reparameterized, folded (one
line per fold), unfolded_batchnorms [{node, why}], kept_amplitudes
[{node, why}], kept_pools [{edge, why}], layers [{node, op,
multiplication_free, folded_pool, why}],
multiplication_free_layers and, with verify=True, verify {input_shape,
inputs, samples, compared_spikes, flip_count, flips, excused_differences,
samples_with_flips, max_abs_difference, max_rel_difference, limit,
spike_count_difference, failure, ok}: the original and the converted model
run on random inputs and are compared spike map by spike map under the
format's equality rule (a failed verification is reported in verify.ok and
verify.failure, not raised; dst is written all the same). strict=True raises when an amplitude
cannot be folded. The GIL is released while converting.)");
  m.def("set_log_level", &set_log_level, py::arg("level"),
        R"(The library's logging, process-wide: "off" (the default), "error",
"warning", "info" or "debug"; messages go to stderr.)");
  m.attr("FASHION_MNIST_DIR") = kFashionMnistDir;
}

}  // namespace tspike::python
