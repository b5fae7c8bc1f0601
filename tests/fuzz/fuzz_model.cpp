// SPDX-License-Identifier: Apache-2.0
// Fuzz target: model bytes -> Model::load_from_memory (parse, ONNX checker,
// shape inference, the format's checks, re-parameterization, graph build),
// the converter's round trip (convert, serialize, load the result), and a
// short run of whatever loads on a small input.
//
// Only tspike::Error may leave the library; anything else (another
// exception, a crash, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/checked.hpp"
#include "converter/onnx_model.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "tspike/tspike.hpp"

using namespace tspike;

namespace {

void run_small(const std::shared_ptr<const Model>& model) {
  Shape shape = model->info().input.shape;
  const bool sequence = model->info().metadata.encoding == Encoding::kSequence;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 0) shape[d] = d == 0 ? 1 : 3;
  if (sequence) shape.insert(shape.begin(), 2);
  const int64_t count = detail::bounded_element_count(shape, 1 << 12);
  if (count < 0 || count > (1 << 12)) return;
  Tensor input(shape);
  for (int64_t k = 0; k < count; ++k) input.data[k] = static_cast<float>((k * 7919) % 13) * 0.25f - 1.0f;
  try {
    Session session(model, SessionOptions{sequence ? 0 : 2, 1});
    session.run(input);
    session.reset();
    if (!sequence) session.step(input);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LoadOptions options;
  options.limits = fuzz::small_limits();
  std::shared_ptr<const Model> model;
  try {
    model = Model::load_from_memory(data, size, "fuzz.onnx", options);
  } catch (const Error&) {
  }
  if (model) run_small(model);

  // The converter (what tsconvert and convert_file do), then its output
  // must load again.
  std::string converted;
  try {
    detail::error_boundary("fuzz.onnx", ErrorCode::kInvalidModel, [&] {
      onnx::ModelProto proto = convert::parse_model(data, size, "fuzz.onnx", options.limits);
      convert::check_model(proto, "fuzz.onnx", options.limits);
      ConvertOptions convert_options;
      convert_options.limits = options.limits;
      convert::reparameterize(proto, "fuzz.onnx", convert_options);
      convert::check_model(proto, "converted.onnx", options.limits);
      proto.SerializeToString(&converted);
    });
  } catch (const Error&) {
    converted.clear();
  }
  if (!converted.empty()) {
    try {
      (void)Model::load_from_memory(converted.data(), converted.size(), "converted.onnx", options);
    } catch (const Error&) {
      // A model the loader accepted must also load after conversion.
      if (model) __builtin_trap();
    }
  }
  return 0;
}
