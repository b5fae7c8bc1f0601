// tseval: run a TernarySpike model over a labeled IDX test set (MNIST,
// Fashion-MNIST) or a folder of images, one subfolder per class, and print
// its accuracy, the time per image and the firing
// rate of every spike layer; optionally compare with PyTorch's predictions.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tools/cli_common.hpp"
#include "tools/image_folder.hpp"
#include "tools/output_file.hpp"
#include "tspike/dataset.hpp"
#include "tspike/tspike.hpp"

namespace {

using namespace tspike;

// What a whole evaluation adds up to.
struct Totals {
  int64_t images = 0, correct = 0;
  double run_ms = 0;  // Session::run only (no reading or preprocessing)
  // Firing rates weighted by batch size: every batch has the same elements
  // per sample and the same T, so sum(rate_b * N_b) / sum(N_b) equals total
  // spikes / total elements over the whole set.
  std::vector<std::pair<std::string, double>> rate_sums;
  double mean_rate_sum = 0;
  std::vector<float> predictions;
  std::vector<int64_t> class_images, class_correct;  // per label of the data set
};

// The model's name for class `index` (tspike.labels), else "class N".
std::string label_of(const ModelInfo& info, int64_t index) {
  return index < static_cast<int64_t>(info.metadata.labels.size()) ? info.metadata.labels[index]
                                                                    : fmt::format("class {}", index);
}

// argmax of each sample of the first output [N, classes]; the first of equal
// maxima wins, as in torch.argmax.
void predict(const Tensor& out, int64_t n, std::vector<float>& predictions) {
  const int64_t classes = n == 0 ? 0 : int64_t(out.data.size()) / n;
  for (int64_t s = 0; s < n; ++s) {
    const float* row = out.data.data() + s * classes;
    predictions.push_back(float(std::max_element(row, row + classes) - row));
  }
}

// How many predictions equal a reference's (PyTorch's), and the reference's
// own accuracy on the same labels.
struct Comparison {
  int64_t identical = 0, reference_correct = 0;
};

Comparison compare(const std::string& path, const std::vector<float>& predictions, const std::vector<int64_t>& labels) {
  Tensor golden = load_npy(path);
  const int64_t n = int64_t(predictions.size());
  if (int64_t(golden.data.size()) < n)
    throw Error(ErrorCode::kBadInput, "--compare file '" + path + "' has " + std::to_string(golden.data.size()) +
                                          " predictions, fewer than the " + std::to_string(n) + " images evaluated");
  Comparison c;
  for (int64_t i = 0; i < n; ++i) {
    c.identical += golden.data[i] == predictions[i];
    c.reference_correct += golden.data[i] == float(labels[i]);
  }
  return c;
}

std::string default_dataset() {
  std::error_code ec;
  return std::filesystem::is_directory(kFashionMnistDir, ec) ? kFashionMnistDir : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Evaluate a TernarySpike model on a labeled IDX test set (MNIST, Fashion-MNIST) or a folder of "
               "images, one subfolder per class.",
               "tseval"};
  std::string model_path, dataset = default_dataset(), predictions_path, compare_path;
  int64_t limit = 0;
  int batch = 256, timesteps = 0, threads = 1;
  bool json = false, quiet = false;
  app.add_option("model", model_path, "Model file (.onnx)")->required();
  app.add_option("-d,--dataset", dataset,
                 fmt::format("Folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, or .gz "
                             "(default: {}, from Debian's dataset-fashion-mnist, if installed); or a folder "
                             "of images in one subfolder per class, named after the model's labels (else "
                             "the subfolders in sorted order are classes 0, 1, ...)",
                             kFashionMnistDir));
  app.add_option("-n,--limit", limit, "Evaluate only the first N images")->check(CLI::Range(int64_t{1}, INT64_MAX));
  app.add_option("-b,--batch", batch, "Images per Session::run")->check(CLI::Range(1, 100000));
  app.add_option("-t,--timesteps", timesteps, "Timesteps T (default: the model's tspike.timesteps)")
      ->check(CLI::Range(1, Limits{}.max_timesteps));
  app.add_option("--threads", threads, "Worker threads")->check(CLI::Range(1, 256));
  app.add_option("--predictions", predictions_path, "Write the predicted class indices as float32 .npy");
  app.add_option("--compare", compare_path,
                 "Count predictions equal to these (a float32 .npy of class indices, e.g. PyTorch's)");
  app.add_flag("--json", json, "Print one JSON object");
  app.add_flag("-q,--quiet", quiet, "No progress; print only the accuracy in percent");
  app.footer(
      "Examples:\n"
      "  tseval models/fashion_tsnet.onnx\n"
      "  tseval models/fashion_tsnet.onnx --compare models/golden/fashion_tsnet.test_predictions.npy\n"
      "  tseval model.onnx --dataset ~/mnist --limit 1000 --batch 100 --threads 2 --json\n"
      "  tseval models/fashion_tsnet.onnx --dataset photos/    (photos/Sneaker/*.png, photos/Bag/*.png, ...)");

  return tspike::cli::run_tool(app, argc, argv, [&]() -> int {
    if (dataset.empty())
      throw Error(ErrorCode::kIO, fmt::format("no data set: {} does not exist; install the Debian package "
                                              "dataset-fashion-mnist or give --dataset DIR",
                                              kFashionMnistDir));
    auto model = Model::load(model_path);
    const ModelInfo& info = model->info();
    // An IDX data set, or images in class subfolders.
    const bool folder = tspike::cli::is_image_folder(dataset);
    LabeledImages set;
    tspike::cli::ImageFolderSet image_folder;
    std::vector<int64_t> labels;
    if (folder) {
      image_folder = tspike::cli::scan_image_folder(dataset, info);
      labels = image_folder.labels;
      set.count = int64_t(labels.size());
    } else {
      set = load_idx_dir(dataset, "t10k", model->limits());
      labels.assign(set.labels.begin(), set.labels.end());
    }
    auto to_input = [&](int64_t first, int64_t n, Tensor& input) {
      if (folder) tspike::cli::image_folder_input(image_folder, first, n, *model, input);
      else images_to_input(set, first, n, info, input);
    };
    const int64_t images = limit ? std::min(limit, set.count) : set.count;
    if (images == 0) throw Error(ErrorCode::kBadInput, "data set '" + dataset + "' has no images");
    // Checks the model's input against the images before the long run.
    if (!folder) images_to_input(set, 0, 1, info);

    Session session(model, SessionOptions{timesteps, threads});
    tspike::cli::Progress progress(!quiet && !json);
    const auto start = std::chrono::steady_clock::now();
    Totals t;
    t.predictions.reserve(size_t(images));
    Tensor input;
    std::vector<Tensor> outputs;
    for (int64_t first = 0; first < images; first += batch) {
      const int64_t n = std::min<int64_t>(batch, images - first);
      to_input(first, n, input);
      session.run(input, outputs);
      const RunStats stats = session.stats();
      predict(outputs.at(0), n, t.predictions);
      for (int64_t i = first; i < first + n; ++i) {
        const bool right = t.predictions[i] == float(labels[i]);
        const size_t label = size_t(labels[i]);
        if (label >= t.class_images.size()) {
          t.class_images.resize(label + 1, 0);
          t.class_correct.resize(label + 1, 0);
        }
        t.class_images[label]++;
        t.class_correct[label] += right;
        t.correct += right;
      }
      t.images += n;
      t.run_ms += stats.time_ms;
      if (t.rate_sums.empty())
        for (const auto& [node, rate] : stats.firing_rates) t.rate_sums.push_back({node, 0.0});
      for (size_t k = 0; k < stats.firing_rates.size(); ++k) t.rate_sums[k].second += stats.firing_rates[k].second * n;
      t.mean_rate_sum += stats.mean_firing_rate * n;
      progress.show(fmt::format("{}/{} images, accuracy so far {:.2f}%", t.images, images,
                                100.0 * t.correct / t.images));
    }
    progress.clear();
    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double accuracy = double(t.correct) / t.images;
    const double ms_per_image = t.run_ms / t.images;

    if (!predictions_path.empty()) tspike::cli::write_npy_file(predictions_path, Tensor({t.images}, t.predictions));
    Comparison c;
    if (!compare_path.empty()) c = compare(compare_path, t.predictions, labels);
    const double identical = double(c.identical) / t.images, reference = double(c.reference_correct) / t.images;

    if (json) {
      nlohmann::json j;
      j["model"] = model_path;
      j["dataset"] = dataset;
      j["dataset_layout"] = folder ? "image folder" : "idx";
      if (folder) {
        j["class_folders"] = nlohmann::json::array();
        for (size_t k = 0; k < image_folder.classes.size(); ++k)
          j["class_folders"].push_back({{"folder", image_folder.classes[k]}, {"index", image_folder.class_index[k]}});
        j["classes_matched_by"] = image_folder.matched_by_name ? "label" : "sorted order";
      }
      j["images"] = t.images;
      j["correct"] = t.correct;
      j["accuracy"] = accuracy;
      j["timesteps"] = session.timesteps();
      j["batch"] = batch;
      j["threads"] = threads;
      j["time_ms_per_image"] = ms_per_image;
      j["total_time_s"] = total_s;
      j["firing_rates"] = nlohmann::json::object();
      for (const auto& [node, sum] : t.rate_sums) j["firing_rates"][node] = sum / t.images;
      j["mean_firing_rate"] = t.mean_rate_sum / t.images;
      j["classes"] = nlohmann::json::array();
      for (size_t c = 0; c < t.class_images.size(); ++c)
        if (t.class_images[c])
          j["classes"].push_back({{"index", c},
                                  {"label", label_of(info, int64_t(c))},
                                  {"images", t.class_images[c]},
                                  {"correct", t.class_correct[c]},
                                  {"accuracy", double(t.class_correct[c]) / double(t.class_images[c])}});
      if (!compare_path.empty())
        j["compare"] = {{"file", compare_path},          {"identical", c.identical},
                        {"identical_fraction", identical}, {"reference_accuracy", reference},
                        {"accuracy_difference", accuracy - reference}};
      fmt::print("{}\n", j.dump(2));
      return 0;
    }
    if (quiet) {
      fmt::print("{:.2f}\n", 100 * accuracy);
      return 0;
    }
    fmt::print("model: {}\n", model_path);
    if (folder)
      fmt::print("data set: {} ({} of {} images in {} class folders, matched to classes by {})\n", dataset, t.images,
                 set.count, image_folder.classes.size(), image_folder.matched_by_name ? "label" : "sorted order");
    else
      fmt::print("data set: {} ({} of {} images, {}x{})\n", dataset, t.images, set.count, set.height, set.width);
    fmt::print("accuracy: {:.2f}% ({} / {})\n", 100 * accuracy, t.correct, t.images);
    fmt::print("timesteps: {}  batch: {}  threads: {}  time: {:.3f} ms per image ({:.1f} s in total)\n",
               session.timesteps(), batch, threads, ms_per_image, total_s);
    fmt::print("firing rate: {:.2f}% (", 100 * t.mean_rate_sum / t.images);
    for (size_t k = 0; k < t.rate_sums.size(); ++k)
      fmt::print("{}{} {:.2f}%", k ? ", " : "", t.rate_sums[k].first, 100 * t.rate_sums[k].second / t.images);
    fmt::print(")\n");
    fmt::print("accuracy per class:\n");
    for (size_t c = 0; c < t.class_images.size(); ++c)
      if (t.class_images[c])
        fmt::print("  {:>2} {:<20} {:6.2f}% ({} / {})\n", c, label_of(info, int64_t(c)),
                   100.0 * t.class_correct[c] / t.class_images[c], t.class_correct[c], t.class_images[c]);
    if (!compare_path.empty())
      fmt::print("compared with {}: {} / {} predictions identical ({:.2f}%); its accuracy {:.2f}%, "
                 "difference {:+.2f} percentage points\n",
                 compare_path, c.identical, t.images, 100 * identical, 100 * reference,
                 100 * (accuracy - reference));
    return 0;
  });
}
