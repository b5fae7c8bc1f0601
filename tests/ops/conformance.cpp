// SPDX-License-Identifier: Apache-2.0
// The runner of ONNX's operator test cases (tests/ops/conformance.hpp).
//
// A case is a directory data/node/test_*/ whose model is one node of a
// claimed op: the op_type decides, not the directory name (so e.g. the
// single-Cast models of test_castlike_*_expanded are Cast cases, and
// test_convinteger or test_gather_elements are not cases at all). Each case
// is adapted to the format's rules (spec section 2): the first graph input
// stays the one runtime input, every other input becomes an initializer
// holding the case's input_k.pb, and tspike.timesteps = 1, so that the mean
// readout over one timestep is the plain op output.
//
// Every case runs twice: with the default LoadOptions (the converter's passes
// first, as users load models) and with reparameterize = false, because the
// passes rewrite some ops away (a Constant becomes an initializer) and the
// kernels must be checked on their own too.
#include "tests/ops/conformance.hpp"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "ops/op.hpp"
#include "tspike/error.hpp"
#include "tspike/model.hpp"
#include "tspike/session.hpp"

namespace tspike::test {

namespace fs = std::filesystem;

const char* const kOnnxTestdataDir = "/usr/share/libonnx-testdata/data/node";

std::set<std::string> claimed_ops() {
  std::set<std::string> ops;
  for (const auto& e : ops::op_registry())
    if (std::string(e.domain).empty()) ops.insert(e.op_type);
  return ops;
}

namespace {

template <typename Message>
bool read_proto(const fs::path& path, Message& out) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return in && out.ParseFromString(buffer.str());
}

}  // namespace

const std::map<std::string, std::string>& onnx_cases() {
  static const std::map<std::string, std::string> cases = [] {
    std::map<std::string, std::string> found;
    std::error_code ec;
    if (!fs::is_directory(kOnnxTestdataDir, ec)) return found;
    const auto claimed = claimed_ops();
    for (const auto& entry : fs::directory_iterator(kOnnxTestdataDir)) {
      onnx::ModelProto model;
      if (!read_proto(entry.path() / "model.onnx", model) || model.graph().node_size() != 1) continue;
      const auto& node = model.graph().node(0);
      if ((node.domain().empty() || node.domain() == "ai.onnx") && claimed.count(node.op_type()))
        found[entry.path().filename().string()] = node.op_type();
    }
    return found;
  }();
  return cases;
}

namespace {

// A TensorProto's values as doubles, for the types that hold numbers tspike
// can represent; nullopt for the others (uint8, float16, strings, ...).
std::optional<std::vector<double>> values_of(const onnx::TensorProto& t) {
  using TP = onnx::TensorProto;
  std::vector<double> v;
  auto from_raw = [&](auto zero) {
    using E = decltype(zero);
    const std::string& raw = t.raw_data();
    for (size_t off = 0; off + sizeof(E) <= raw.size(); off += sizeof(E)) {
      E e;
      std::memcpy(&e, raw.data() + off, sizeof(E));
      v.push_back(static_cast<double>(e));
    }
  };
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case TP::FLOAT:
      if (raw)
        from_raw(float{});
      else
        v.assign(t.float_data().begin(), t.float_data().end());
      break;
    case TP::DOUBLE:
      if (raw)
        from_raw(double{});
      else
        v.assign(t.double_data().begin(), t.double_data().end());
      break;
    case TP::INT64:
      if (raw)
        from_raw(int64_t{});
      else
        v.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case TP::INT32:
      if (raw)
        from_raw(int32_t{});
      else
        v.assign(t.int32_data().begin(), t.int32_data().end());
      break;
    default:
      return std::nullopt;
  }
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  if (static_cast<int64_t>(v.size()) != count) return std::nullopt;  // malformed: never index past it
  return v;
}

std::string type_name(int32_t type) {
  return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type));
}

// Runs one test_data_set under one LoadOptions; "" when every output matches.
std::string run_data_set(const onnx::ModelProto& original, const fs::path& set, const LoadOptions& options) {
  onnx::ModelProto model = original;
  onnx::GraphProto& g = *model.mutable_graph();
  Tensor input;
  if (g.input_size() == 0) {
    // The format wants exactly one runtime input (a Constant case has none):
    // add an unused one.
    auto* in = g.add_input();
    in->set_name("tspike_conformance_unused_input");
    in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
    input = Tensor({1}, {0.0f});
  } else {
    if (!g.input(0).type().has_tensor_type()) return "first input is not a tensor";
    onnx::TensorProto t;
    if (!read_proto(set / "input_0.pb", t)) return "cannot read input_0.pb";
    if (t.data_type() != onnx::TensorProto::FLOAT)
      return "first input is " + type_name(t.data_type()) + "; tspike's runtime input is float32";
    const auto v = values_of(t);
    if (!v) return "cannot decode input_0.pb";
    input = Tensor(Shape(t.dims().begin(), t.dims().end()), std::vector<float>(v->begin(), v->end()));
  }
  for (int k = 1; k < g.input_size(); ++k) {
    if (!g.input(k).type().has_tensor_type()) return "graph input " + std::to_string(k) + " is not a tensor";
    onnx::TensorProto t;
    if (!read_proto(set / ("input_" + std::to_string(k) + ".pb"), t))
      return "cannot read input_" + std::to_string(k);
    t.set_name(g.input(k).name());
    *g.add_initializer() = t;
  }
  // tspike refuses opsets older than 7. GlobalAveragePool's cases import
  // opset 1; raising the import is exact when the node resolves to the same
  // schema version under both.
  const auto& node = g.node(0);
  for (auto& op : *model.mutable_opset_import()) {
    if (!(op.domain().empty() || op.domain() == "ai.onnx") || op.version() >= 7) continue;
    const auto* old_schema = onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(op.version()));
    const auto* new_schema = onnx::OpSchemaRegistry::Schema(node.op_type(), 7);
    if (old_schema && new_schema && old_schema->since_version() == new_schema->since_version())
      op.set_version(7);
  }
  auto* meta = model.add_metadata_props();
  meta->set_key("tspike.timesteps");
  meta->set_value("1");

  const std::string bytes = model.SerializeAsString();
  std::vector<Tensor> outputs;
  try {
    auto loaded =
        Model::load_from_memory(bytes.data(), bytes.size(), set.parent_path().filename().string(), options);
    Session session(loaded, SessionOptions{1, 1});
    outputs = session.run(input);
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
  if (static_cast<int>(outputs.size()) != g.output_size())
    return "got " + std::to_string(outputs.size()) + " outputs, expected " + std::to_string(g.output_size());
  std::ostringstream failure;
  for (int k = 0; k < g.output_size(); ++k) {
    onnx::TensorProto t;
    if (!read_proto(set / ("output_" + std::to_string(k) + ".pb"), t))
      return "cannot read output_" + std::to_string(k);
    auto expected = values_of(t);
    if (!expected) return "output " + std::to_string(k) + " is " + type_name(t.data_type());
    const Shape shape(t.dims().begin(), t.dims().end());
    if (outputs[k].shape != shape)
      return "output " + std::to_string(k) + " has shape " + shape_to_string(outputs[k].shape) +
             ", expected " + shape_to_string(shape);
    const bool exact = t.data_type() == onnx::TensorProto::INT64 || t.data_type() == onnx::TensorProto::INT32;
    int mismatches = 0;
    for (size_t e = 0; e < expected->size(); ++e) {
      const double want = (*expected)[e], got = outputs[k].data[e];
      const bool ok = exact ? static_cast<float>(want) == outputs[k].data[e]
                            : std::abs(got - want) <= 1e-5 + 1e-4 * std::abs(want);
      if (!ok && mismatches++ < 3)
        failure << "output " << k << " element " << e << ": expected " << want << ", got " << got << "; ";
    }
    if (mismatches) failure << mismatches << " of " << expected->size() << " elements differ; ";
  }
  return failure.str();
}

}  // namespace

// Memoized: the summary test and the per-case tests share it within one
// process.
const std::string& evaluate_onnx_case(const std::string& name) {
  static std::map<std::string, std::string> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const fs::path dir = fs::path(kOnnxTestdataDir) / name;
  std::string result;
  onnx::ModelProto model;
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (!read_proto(dir / "model.onnx", model))
    result = "cannot read model.onnx";
  else if (sets.empty())
    result = "no test_data_set_*";
  for (const auto& set : sets) {
    for (bool reparameterize : {true, false}) {
      LoadOptions options;
      options.reparameterize = reparameterize;
      const std::string r = run_data_set(model, set, options);
      if (!r.empty()) {
        result = set.filename().string() +
                 (reparameterize ? " (default LoadOptions): " : " (reparameterize=false): ") + r;
        break;
      }
    }
    if (!result.empty()) break;
  }
  return cache[name] = result;
}

namespace {
std::set<std::string>& instantiated() {
  static std::set<std::string> ops;
  return ops;
}
std::map<std::string, std::string>& without_cases() {
  static std::map<std::string, std::string> ops;
  return ops;
}
}  // namespace

std::vector<std::string> onnx_cases_of(const std::set<std::string>& ops) {
  std::vector<std::string> names;
  for (const auto& [name, op] : onnx_cases())
    if (ops.count(op)) names.push_back(name);
  instantiated().insert(ops.begin(), ops.end());
  return names;
}

const std::set<std::string>& instantiated_ops() { return instantiated(); }

bool declare_no_onnx_cases(const std::string& op, const std::string& reason) {
  without_cases()[op] = reason;
  return true;
}

const std::map<std::string, std::string>& ops_without_onnx_cases() { return without_cases(); }

std::string onnx_case_test_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace tspike::test
