// SPDX-License-Identifier: Apache-2.0
// Initializer <-> ConstTensor: how ops, the converter and the loader read
// the tensors of an ONNX file (internal).
#pragma once

#include <string>

#include "base/values.hpp"
#include "tspike/model.hpp"

namespace onnx {
class TensorProto;
}

namespace tspike::ops {

// Supports float, double (converted to float), int64 and int32 (to int64).
// `where` names the tensor in errors; `limits` bound its element count,
// checked before anything is reserved. External data is refused, never
// opened. Throws Error.
ConstTensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where, const Limits& limits);
onnx::TensorProto tensor_to_proto(const ConstTensor& t, const std::string& name);

}  // namespace tspike::ops
