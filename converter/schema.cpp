// The ONNX OpSchema of tspike::TernarySpike, so that ONNX's checker and shape
// inference accept models that use it.
#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <mutex>

#include "converter/onnx_model.hpp"

namespace tspike::convert {

void register_schemas() {
  static std::once_flag once;
  std::call_once(once, [] {
    using onnx::OpSchema;
    auto& domains = onnx::OpSchemaRegistry::DomainToVersionRange::Instance();
    if (domains.Map().count(kDomain) == 0) domains.AddDomainToVersion(kDomain, 1, 1);
    static OpSchema schema;
    schema.SetName(kSpikeOp)
        .SetDomain(kDomain)
        .SinceVersion(1)
        .SetDoc(
            "Ternary (or binary) spiking neuron with hard reset, one timestep. "
            "u = decay*u + X; ternary: s = +1 if u >= threshold, -1 if u <= -threshold; "
            "binary: s = 1 if u > threshold; u = u*(1-|s|); Y = amplitude*s along axis 1.")
        .Input(0, "X", "Input current of this timestep, [N, C, ...].", "T")
        .Input(1, "amplitude", "Spike amplitude: 1 or C elements along axis 1.", "T",
               OpSchema::Optional)
        .Output(0, "Y", "Spikes times amplitude, same shape as X.", "T")
        .Attr("threshold", "Firing threshold, > 0.", onnx::AttributeProto::FLOAT, 0.5f)
        .Attr("decay", "Membrane decay in [0, 1].", onnx::AttributeProto::FLOAT, 0.25f)
        .Attr("mode", "\"ternary\" or \"binary\".", onnx::AttributeProto::STRING,
              std::string("ternary"))
        .TypeConstraint("T", {"tensor(float)"}, "float32 only.")
        .TypeAndShapeInferenceFunction([](onnx::InferenceContext& ctx) {
          onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
          if (onnx::hasInputShape(ctx, 0)) onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
        });
    onnx::OpSchemaRegistry::OpSchemaRegisterOnce registration(schema);
  });
}

}  // namespace tspike::convert
