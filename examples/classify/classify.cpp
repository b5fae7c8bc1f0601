// SPDX-License-Identifier: Apache-2.0
// classify: the smallest useful program on tspike's C++ API. Loads a model,
// reads an image, runs the network over its timesteps and prints the label.
//   classify MODEL.onnx IMAGE [TIMESTEPS]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <tspike/tspike.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE [TIMESTEPS]\n", argv[0]);
    return 2;
  }
  try {
    // Loaded once; immutable, so many sessions (threads) may share it.
    std::shared_ptr<const tspike::Model> model = tspike::Model::load(argv[1]);

    tspike::SessionOptions options;
    options.timesteps = argc > 3 ? std::atoi(argv[3]) : 0;  // 0: the model's own T
    tspike::Session session(model, options);

    // Resized and normalized as the model's metadata says: [1, C, H, W].
    tspike::Tensor input = tspike::load_image(argv[2], model->info());
    std::vector<tspike::Tensor> outputs = session.run(input);

    const std::vector<float>& scores = outputs.at(0).data;  // [1, classes]
    const auto best = std::distance(scores.begin(), std::max_element(scores.begin(), scores.end()));
    const auto& labels = model->info().metadata.labels;
    if (best < static_cast<long>(labels.size()))
      std::printf("%s\n", labels[best].c_str());
    else
      std::printf("class %ld\n", static_cast<long>(best));
    return 0;
  } catch (const tspike::Error& e) {
    // Every failure caused by a file or an input is a tspike::Error.
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
}
