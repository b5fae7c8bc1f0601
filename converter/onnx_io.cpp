// SPDX-License-Identifier: Apache-2.0
// Reading, validating and writing model files.
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "converter/onnx_model.hpp"

namespace tspike::convert {

namespace {

Error invalid(const std::string& file, const std::string& what) {
  return Error(ErrorCode::kInvalidModel, fmt::format("{}: {}", file, what));
}

std::vector<float> parse_float_list(const std::string& text, const std::string& file,
                                    const std::string& key) {
  std::vector<float> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      float v = std::stof(item, &used);
      while (used < item.size() && std::isspace(static_cast<unsigned char>(item[used]))) used++;
      if (used != item.size() || !std::isfinite(v)) throw std::invalid_argument("bad");
      values.push_back(v);
    } catch (const std::exception&) {
      throw invalid(file, fmt::format("metadata {} = \"{}\": expected comma-separated numbers", key, text));
    }
  }
  if (values.empty()) throw invalid(file, fmt::format("metadata {} is empty", key));
  return values;
}

}  // namespace

int default_opset(const onnx::ModelProto& model) {
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") return static_cast<int>(op.version());
  return 0;
}

onnx::ModelProto parse_model(const void* data, std::size_t size, const std::string& name,
                             const Limits& limits) {
  if (size == 0) throw Error(ErrorCode::kParse, fmt::format("{}: empty file", name));
  if (size > limits.max_file_bytes)
    throw Error(ErrorCode::kResourceLimit, fmt::format("{}: file of {} bytes exceeds the limit of {} bytes",
                                                       name, size, limits.max_file_bytes));
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(ErrorCode::kResourceLimit, fmt::format("{}: file too large for protobuf", name));
  onnx::ModelProto model;
  if (!model.ParseFromArray(data, static_cast<int>(size)))
    throw Error(ErrorCode::kParse, fmt::format("{}: not a valid ONNX (protobuf) model file", name));
  if (!model.has_graph()) throw Error(ErrorCode::kParse, fmt::format("{}: the file holds no graph", name));
  return model;
}

onnx::ModelProto read_model_file(const std::string& path, const Limits& limits) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorCode::kIO, fmt::format("{}: cannot open model file: {}", path, ec.message()));
  if (size > limits.max_file_bytes)
    throw Error(ErrorCode::kResourceLimit, fmt::format("{}: file of {} bytes exceeds the limit of {} bytes",
                                                       path, size, limits.max_file_bytes));
  if (size == 0) throw Error(ErrorCode::kParse, fmt::format("{}: empty file", path));
  if (size > static_cast<std::uintmax_t>(std::numeric_limits<int>::max()))
    throw Error(ErrorCode::kResourceLimit, fmt::format("{}: file too large for protobuf", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIO, fmt::format("{}: cannot open model file", path));
  // Parsed from the stream, not from a copy of the file in memory: the
  // file's bytes and the parsed model are never both held whole.
  onnx::ModelProto model;
  bool parsed = false;
  {
    google::protobuf::io::IstreamInputStream stream(&in);
    google::protobuf::io::CodedInputStream coded(&stream);
    coded.SetTotalBytesLimit(static_cast<int>(size));
    parsed = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  }
  if (in.bad()) throw Error(ErrorCode::kIO, fmt::format("{}: read error", path));
  if (!parsed)
    throw Error(ErrorCode::kParse, fmt::format("{}: not a valid ONNX (protobuf) model file", path));
  if (!model.has_graph()) throw Error(ErrorCode::kParse, fmt::format("{}: the file holds no graph", path));
  return model;
}

void write_model_file(const onnx::ModelProto& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out))
    throw Error(ErrorCode::kIO, fmt::format("{}: cannot write model file", path));
}

ModelMetadata read_metadata(const onnx::ModelProto& model, const std::string& file) {
  ModelMetadata md;
  for (const auto& kv : model.metadata_props()) md.raw[kv.key()] = kv.value();
  auto get = [&](const char* key) -> const std::string* {
    auto it = md.raw.find(key);
    return it == md.raw.end() ? nullptr : &it->second;
  };
  if (auto v = get("tspike.timesteps")) {
    try {
      size_t used = 0;
      long long t = std::stoll(*v, &used);
      if (used != v->size() || t < 1 || t > std::numeric_limits<int>::max()) throw std::out_of_range("");
      md.timesteps = static_cast<int>(t);
    } catch (const std::exception&) {
      throw invalid(file, fmt::format("metadata tspike.timesteps = \"{}\": expected an integer >= 1", *v));
    }
  }
  if (auto v = get("tspike.encoding")) {
    if (*v == "direct")
      md.encoding = Encoding::kDirect;
    else if (*v == "sequence")
      md.encoding = Encoding::kSequence;
    else
      throw invalid(file, fmt::format("metadata tspike.encoding = \"{}\": expected direct or sequence", *v));
  }
  if (auto v = get("tspike.readout")) {
    if (*v == "mean")
      md.readout = Readout::kMean;
    else if (*v == "sum")
      md.readout = Readout::kSum;
    else if (*v == "last")
      md.readout = Readout::kLast;
    else
      throw invalid(file, fmt::format("metadata tspike.readout = \"{}\": expected mean, sum or last", *v));
  }
  if (auto v = get("tspike.labels")) {
    auto j = nlohmann::json::parse(*v, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) throw invalid(file, "metadata tspike.labels: expected a JSON array of strings");
    for (const auto& e : j) {
      if (!e.is_string()) throw invalid(file, "metadata tspike.labels: expected a JSON array of strings");
      md.labels.push_back(e.get<std::string>());
    }
  }
  if (auto v = get("tspike.image.scale")) {
    auto s = parse_float_list(*v, file, "tspike.image.scale");
    if (s.size() != 1) throw invalid(file, "metadata tspike.image.scale: expected one number");
    md.image_scale = s[0];
  }
  if (auto v = get("tspike.image.mean")) md.image_mean = parse_float_list(*v, file, "tspike.image.mean");
  if (auto v = get("tspike.image.std")) {
    md.image_std = parse_float_list(*v, file, "tspike.image.std");
    for (float s : md.image_std)
      if (s == 0.f) throw invalid(file, "metadata tspike.image.std: a standard deviation of 0");
  }
  if (auto v = get("tspike.image.resize")) {
    std::string method = *v;
    const std::string crop = "_crop";
    if (method.size() > crop.size() && method.compare(method.size() - crop.size(), crop.size(), crop) == 0) {
      md.image_center_crop = true;
      method.resize(method.size() - crop.size());
    }
    if (method == "bilinear")
      md.image_resize = ImageResize::kBilinear;
    else if (method == "bilinear_antialias")
      md.image_resize = ImageResize::kBilinearAntialias;
    else if (method == "nearest")
      md.image_resize = ImageResize::kNearest;
    else
      throw invalid(
          file, fmt::format("metadata tspike.image.resize = \"{}\": expected bilinear, bilinear_antialias "
                            "or nearest, optionally with _crop",
                            *v));
  }
  if (auto v = get("tspike.reparameterized")) md.reparameterized = (*v == "1");
  if (auto v = get("tspike.pool_folds")) {
    const char* expected =
        "metadata tspike.pool_folds: expected a JSON object of node names to pool windows (integers >= 1)";
    auto j = nlohmann::json::parse(*v, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) throw invalid(file, expected);
    for (const auto& [node, window] : j.items()) {
      if (!window.is_number_integer() || window.get<int64_t>() < 1 ||
          window.get<int64_t>() > (int64_t{1} << 31))
        throw invalid(file, expected);
      md.pool_folds[node] = window.get<int64_t>();
    }
  }
  if (auto v = get("tspike.weights")) {
    if (*v != "fp32" && *v != "fp16")
      throw invalid(file, "metadata tspike.weights: expected fp32 or fp16, got \"" + *v + "\"");
    md.half_weights = *v == "fp16";
  }
  return md;
}

}  // namespace tspike::convert
