// SPDX-License-Identifier: Apache-2.0
// tspike::convert_file: the library side of tsconvert.
#include "base/checked.hpp"
#include "converter/onnx_model.hpp"
#include "tspike/convert.hpp"

namespace tspike {

ConversionReport convert_file(const std::string& input_path, const std::string& output_path,
                              const ConvertOptions& options) {
  // Nothing but tspike::Error leaves (out of memory, ONNX's exceptions).
  return detail::error_boundary(input_path, ErrorCode::kInvalidModel, [&] {
    onnx::ModelProto model = convert::read_model_file(input_path, options.limits);
    convert::check_model(model, input_path, options.limits);
    ConversionReport report = convert::reparameterize(model, input_path, options);
    if (!options.weights.empty()) {
      if (options.weights != "fp32" && options.weights != "fp16")
        throw Error(ErrorCode::kBadInput, "weights \"" + options.weights + "\": expected fp32 or fp16");
      onnx::StringStringEntryProto* entry = nullptr;
      for (auto& kv : *model.mutable_metadata_props())
        if (kv.key() == "tspike.weights") entry = &kv;
      if (!entry) entry = model.add_metadata_props();
      entry->set_key("tspike.weights");
      entry->set_value(options.weights);
    }
    // The passes must leave a valid model; checking here names the output
    // before a broken file reaches the disk.
    convert::check_model(model, output_path, options.limits);
    convert::write_model_file(model, output_path);
    return report;
  });
}

}  // namespace tspike
