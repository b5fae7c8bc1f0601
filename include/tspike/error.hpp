// SPDX-License-Identifier: Apache-2.0
// Errors raised by the tspike library.
//
// Every failure caused by outside input (a model file, an image, a tensor, an
// option) is reported as a tspike::Error carrying a code and a message that
// names the file, node and tensor involved. The library never aborts or exits
// on such input.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "tspike/export.h"

namespace tspike {

enum class ErrorCode {
  kParse,          // the file is not a readable ONNX / image / .npy file
  kInvalidModel,   // the model breaks the format or ONNX's rules
  kUnsupportedOp,  // an op or attribute value the runtime does not implement
  kShapeMismatch,  // shapes that do not fit together
  kResourceLimit,  // a size beyond the configured limits
  kBadInput,       // a caller's input or option that does not fit the model
  kIO,             // a file that cannot be opened, read or written
};

TSPIKE_API std::string_view to_string(ErrorCode code);

class TSPIKE_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace tspike
