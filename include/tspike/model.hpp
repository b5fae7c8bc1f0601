// SPDX-License-Identifier: Apache-2.0
// tspike::Model: a loaded, validated, re-parameterized TernarySpike model.
//
// Ownership and threads: Model::load returns a shared_ptr to an immutable
// model. Any number of tspike::Session objects, on any threads, may share it;
// the model outlives them through the shared_ptr. Nothing in a Model changes
// after load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tspike/export.h"
#include "tspike/tensor.hpp"

namespace tspike {

enum class Encoding { kDirect, kSequence };
enum class Readout { kMean, kSum, kLast };
// How an image is resized to the input's H x W (tspike.image.resize,
// docs/format.md): half-pixel bilinear without antialiasing (the default),
// PIL's / torchvision's antialiased bilinear, or PIL's nearest.
enum class ImageResize { kBilinear, kBilinearAntialias, kNearest };

TSPIKE_API const char* to_string(Encoding e);
TSPIKE_API const char* to_string(Readout r);
TSPIKE_API const char* to_string(ImageResize r);

// A graph input or output. Dimensions unknown in the file (the batch size,
// normally) are -1 here, with their symbolic name in dim_names when given.
struct ValueInfo {
  std::string name;
  Shape shape;
  std::vector<std::string> dim_names;
};

// The model-level settings of the format (metadata_props "tspike.*").
struct ModelMetadata {
  int timesteps = 4;
  Encoding encoding = Encoding::kDirect;
  Readout readout = Readout::kMean;
  std::vector<std::string> labels;
  float image_scale = 1.0f / 255.0f;
  std::vector<float> image_mean{0.0f};
  std::vector<float> image_std{1.0f};
  ImageResize image_resize = ImageResize::kBilinear;
  // Resize to cover H x W keeping the aspect ratio, then crop the centre
  // (torchvision's Resize(S) + CenterCrop(S)), instead of stretching.
  bool image_center_crop = false;
  bool reparameterized = false;
  // tspike.pool_folds: layer node -> the inputs of the average pool folded
  // into it (spec 3.3), written by the converter.
  std::map<std::string, int64_t> pool_folds;
  // tspike.weights = fp16 (tsconvert --weights fp16): the event-driven
  // Convs keep their weights as IEEE half floats (docs/engines.md); fp32,
  // the default, keeps them exact.
  bool half_weights = false;
  std::map<std::string, std::string> raw;  // every metadata_props entry
};

// How one Conv / Gemm / MatMul consumes its data input after conversion.
struct LayerInfo {
  std::string node;
  std::string op_type;
  bool multiplication_free = false;  // consumes only {-1, 0, +1}
  std::string why;                   // what its input is
  std::string kernel;                // chosen at load: "event/avx512", "oneDNN", "reference", ...
  // The window of the average pool the converter folded into this layer (1:
  // none): the layer as trained had 1/folded_pool of its connections, which
  // is what the dense-ANN comparison of a profile counts.
  int64_t folded_pool = 1;
};

// What re-parameterization did (filled by the converter passes).
struct ConversionReport {
  std::vector<std::string> folded;  // one line per fold, human readable
  // TernarySpike nodes (or edges) that keep a multiplicative amplitude, and why.
  std::vector<std::pair<std::string, std::string>> kept_amplitudes;
  // Average pools of spikes left before a layer (spec 3.3), and why.
  std::vector<std::pair<std::string, std::string>> kept_pools;
  // BatchNormalization nodes (per-channel affine maps) left unfolded, and why.
  std::vector<std::pair<std::string, std::string>> unfolded;
  bool already_reparameterized = false;
};

// Limits that protect the host from hostile files. Raise them for big models.
struct Limits {
  std::size_t max_file_bytes = std::size_t{2} << 30;  // 2 GiB
  int64_t max_tensor_elements = int64_t{1} << 28;     // 1 GiB of float32
  int64_t max_arena_bytes = int64_t{4} << 30;
  int64_t max_nodes = 100000;
  int max_timesteps = 10000;
  int64_t max_image_pixels = int64_t{1} << 26;
  int64_t max_events = int64_t{1} << 26;  // events in one recording (16 bytes each in memory)
};

// How the Conv / Gemm / MatMul layers fed directly by spikes run
// (docs/engines.md). The event kernels allocate nothing in run().
enum class Engine {
  kAuto,   // event-driven, but a Conv timestep denser than the measured crossover runs on oneDNN
  kEvent,  // always event-driven: adds and subtracts weight rows for the nonzero spikes only
  kDense,  // every layer dense fp32 (oneDNN when built with it, else the reference kernels)
};
TSPIKE_API const char* to_string(Engine e);

// The most an optimized kernel may use of the CPU; it never uses more than
// the CPU has. The environment variable TSPIKE_ISA (portable, avx2, avx512)
// caps it as well.
enum class InstructionSet { kBest, kAvx512, kAvx2, kPortable };

// The converter's default for folding average pools of spikes into the
// layer they feed (ConvertOptions::fold_pool_max_window): windows of up to 4
// inputs, i.e. 2 x 2 pools (the measurements: docs/format.md).
inline constexpr int64_t kDefaultFoldPoolMaxWindow = 4;

struct LoadOptions {
  // Apply the converter's passes when the file is not yet converted.
  bool reparameterize = true;
  // Those passes fold an average pool of spikes of at most this many inputs
  // into the layer it feeds (ConvertOptions::fold_pool_max_window).
  int64_t fold_pool_max_window = kDefaultFoldPoolMaxWindow;
  Limits limits;
  // Run every op with its portable reference kernel, not the optimized one
  // (oneDNN Conv, in builds with TSPIKE_WITH_ONEDNN). The environment
  // variable TSPIKE_REFERENCE_KERNELS, when set, overrides this for every
  // model loaded: 1 = reference, 0 = optimized.
  // The reference kernels allocate nothing in run(); oneDNN's execute makes
  // a few small heap allocations per call (its argument map), the one
  // exception to Session's no-allocation promise.
  bool reference_kernels = false;
  // Kernels of the layers fed by pure spikes; reference_kernels overrides it.
  Engine engine = Engine::kAuto;
  InstructionSet max_isa = InstructionSet::kBest;
};

struct ModelInfo {
  std::string path;
  ValueInfo input;
  std::vector<ValueInfo> outputs;
  ModelMetadata metadata;
  std::map<std::string, int> op_counts;
  std::vector<std::string> spike_nodes;  // TernarySpike node names, graph order
  std::vector<LayerInfo> layers;         // Conv / Gemm / MatMul, graph order
  ConversionReport conversion;
};

class TSPIKE_API Model {
 public:
  // Parses, checks (ONNX checker + shape inference + the format's rules),
  // re-parameterizes and prepares the model. Throws tspike::Error.
  static std::shared_ptr<const Model> load(const std::string& path, const LoadOptions& options = {});
  static std::shared_ptr<const Model> load_from_memory(const void* data, std::size_t size,
                                                       const std::string& name,
                                                       const LoadOptions& options = {});

  const ModelInfo& info() const;
  const Limits& limits() const;

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // The executable graph: internal, opaque to users of the library.
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Model();
  std::unique_ptr<Impl> impl_;
  friend struct ModelBuilder;
};

}  // namespace tspike
