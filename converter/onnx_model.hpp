// SPDX-License-Identifier: Apache-2.0
// Reading, checking and writing TernarySpike ONNX models (internal).
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>

#include "base/values.hpp"
#include "ops/tensor_proto.hpp"
#include "ops/traits.hpp"
#include "tspike/convert.hpp"
#include "tspike/model.hpp"

namespace tspike::convert {

using ops::kDomain;

// Reads and parses a model file; `limits` bound the file size. Throws Error.
onnx::ModelProto read_model_file(const std::string& path, const Limits& limits);
onnx::ModelProto parse_model(const void* data, std::size_t size, const std::string& name,
                             const Limits& limits);
// Writes a model file. Throws Error(kIO).
void write_model_file(const onnx::ModelProto& model, const std::string& path);

// Runs ONNX's checker and shape inference (in place) and the format's own
// rules: one non-initializer input, opset imports, TernarySpike attributes
// and amplitude shapes, tensor sizes, node names (unnamed nodes get one).
// Throws Error naming the file, node and tensor.
void check_model(onnx::ModelProto& model, const std::string& name, const Limits& limits);

// The tspike.* metadata. Throws Error(kInvalidModel) on a malformed value.
ModelMetadata read_metadata(const onnx::ModelProto& model, const std::string& name);

// Initializer <-> ConstTensor (ops/tensor_proto.hpp).
using ops::tensor_from_proto;
using ops::tensor_to_proto;

// The default-domain opset version the model imports.
int default_opset(const onnx::ModelProto& model);

// The converter's passes (BatchNorm folding, view-chain folding, amplitude
// folding), in place. Sets tspike.reparameterized = 1. With
// options.strict, an amplitude that cannot be folded is an Error.
ConversionReport reparameterize(onnx::ModelProto& model, const std::string& name,
                                const ConvertOptions& options);

}  // namespace tspike::convert
