// SPDX-License-Identifier: Apache-2.0
// Initializers and attribute tensors of ONNX files as ConstTensor.
#include "ops/tensor_proto.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>

namespace tspike::ops {

ConstTensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where, const Limits& limits) {
  using TP = onnx::TensorProto;
  if (t.data_location() == TP::EXTERNAL || t.external_data_size() > 0) {
    std::string location;
    for (const auto& kv : t.external_data())
      if (kv.key() == "location") location = fmt::format(" (location '{}')", kv.value());
    // Never opened: a file may point anywhere (../../etc/passwd, /dev/zero).
    throw Error(ErrorCode::kInvalidModel,
                fmt::format("{}: external tensor data{} is not supported; tspike reads only "
                            "self-contained model files (save the model with its weights inside)",
                            where, location));
  }
  ConstTensor out;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) throw Error(ErrorCode::kInvalidModel, fmt::format("{}: negative dimension {}", where, d));
    if (d > 0 && count > limits.max_tensor_elements / d)
      throw Error(ErrorCode::kResourceLimit,
                  fmt::format("{}: more than {} elements", where, limits.max_tensor_elements));
    count *= d;
    out.shape.push_back(d);
  }
  const bool raw = t.has_raw_data();
  auto check_count = [&](int64_t have, const char* field) {
    if (have != count)
      throw Error(ErrorCode::kInvalidModel,
                  fmt::format("{}: {} holds {} elements, the shape {} needs {}", where, field, have,
                              shape_to_string(out.shape), count));
  };
  // Lengths are checked before reserving: the shape alone never sizes memory.
  auto raw_as = [&](auto zero, auto&& store) {
    using E = decltype(zero);
    for (int64_t k = 0; k < count; ++k) {
      E v;
      std::memcpy(&v, t.raw_data().data() + k * sizeof(E), sizeof(E));
      store(v);
    }
  };
  auto check_raw = [&](std::size_t element_size) {
    if (!raw) return;
    check_count(static_cast<int64_t>(t.raw_data().size() / element_size), "raw_data");
    if (t.raw_data().size() % element_size != 0) check_count(-1, "raw_data");
  };
  switch (t.data_type()) {
    case TP::FLOAT:
      check_raw(sizeof(float));
      if (!raw) check_count(t.float_data_size(), "float_data");
      break;
    case TP::DOUBLE:
      check_raw(sizeof(double));
      if (!raw) check_count(t.double_data_size(), "double_data");
      break;
    case TP::INT64:
      check_raw(sizeof(int64_t));
      if (!raw) check_count(t.int64_data_size(), "int64_data");
      break;
    case TP::INT32:
      check_raw(sizeof(int32_t));
      if (!raw) check_count(t.int32_data_size(), "int32_data");
      break;
    default:
      break;
  }
  switch (t.data_type()) {
    case TP::FLOAT: {
      out.dtype = DType::kFloat32;
      out.f.reserve(count);
      if (raw)
        raw_as(float{}, [&](float v) { out.f.push_back(v); });
      else {
        check_count(t.float_data_size(), "float_data");
        out.f.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    }
    case TP::DOUBLE: {
      out.dtype = DType::kFloat32;
      out.f.reserve(count);
      if (raw)
        raw_as(double{}, [&](double v) { out.f.push_back(static_cast<float>(v)); });
      else {
        check_count(t.double_data_size(), "double_data");
        for (double v : t.double_data()) out.f.push_back(static_cast<float>(v));
      }
      break;
    }
    case TP::INT64: {
      out.dtype = DType::kInt64;
      out.i.reserve(count);
      if (raw)
        raw_as(int64_t{}, [&](int64_t v) { out.i.push_back(v); });
      else {
        check_count(t.int64_data_size(), "int64_data");
        out.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    }
    case TP::INT32: {
      out.dtype = DType::kInt64;
      out.i.reserve(count);
      if (raw)
        raw_as(int32_t{}, [&](int32_t v) { out.i.push_back(v); });
      else {
        check_count(t.int32_data_size(), "int32_data");
        for (int32_t v : t.int32_data()) out.i.push_back(v);
      }
      break;
    }
    default:
      throw Error(ErrorCode::kUnsupportedOp,
                  fmt::format("{}: tensor data type {} is not supported (float, double, int32, int64 are)",
                              where, TP::DataType_Name(static_cast<TP::DataType>(t.data_type()))));
  }
  return out;
}

onnx::TensorProto tensor_to_proto(const ConstTensor& t, const std::string& name) {
  onnx::TensorProto p;
  p.set_name(name);
  for (int64_t d : t.shape) p.add_dims(d);
  if (t.dtype == DType::kFloat32) {
    p.set_data_type(onnx::TensorProto::FLOAT);
    p.set_raw_data(std::string(reinterpret_cast<const char*>(t.f.data()), t.f.size() * sizeof(float)));
  } else {
    p.set_data_type(onnx::TensorProto::INT64);
    p.set_raw_data(std::string(reinterpret_cast<const char*>(t.i.data()), t.i.size() * sizeof(int64_t)));
  }
  return p;
}

}  // namespace tspike::ops
