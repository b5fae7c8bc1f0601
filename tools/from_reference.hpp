// SPDX-License-Identifier: Apache-2.0
// tsconvert --from-reference: a checkpoint of the Ternary-Spike reference
// training code exported to a trained tspike ONNX file by the Python package
// (python3 -m tspike.torch.reference_checkpoint), for tsconvert to convert.
#pragma once

#include <string>
#include <vector>

namespace tspike::cli {

struct ReferenceExport {
  std::string arch;        // resnet19, resnet20, resnet20_modified, vgg16 (or the reference's names)
  std::string checkpoint;  // the .pth file
  std::string output;      // the trained-form .onnx to write
  std::vector<std::string> options;  // further arguments for the exporter (--width 8, ...)
};

// Runs the exporter with the interpreter $TSPIKE_PYTHON (default
// /usr/bin/python3) and the package found beside this program (the build
// tree's python/, the install's site directory) or $TSPIKE_PYTHONPATH.
// Its notes are returned (one per line), its errors go to stderr. Throws
// tspike::Error naming the checkpoint when it fails.
std::vector<std::string> export_reference_checkpoint(const ReferenceExport& e);

}  // namespace tspike::cli
