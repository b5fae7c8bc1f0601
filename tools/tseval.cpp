// SPDX-License-Identifier: Apache-2.0
// tseval: run TernarySpike models over a labeled IDX test set (MNIST,
// Fashion-MNIST) or a folder of images, one subfolder per class, and print each one's accuracy, time per
// image, firing rate of every spike layer and estimated energy against the same network as a dense ANN;
// optionally compare with PyTorch's predictions. Several models: one table, one row per model.
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
  // Synaptic operations and energy over the whole set (SessionOptions::profile).
  int64_t ac = 0, mac = 0, dense_macs = 0;
  double energy_pj = 0, dense_energy_pj = 0;
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

Comparison compare(const std::string& path, const std::vector<float>& predictions,
                   const std::vector<int64_t>& labels) {
  Tensor golden = load_npy(path);
  const int64_t n = int64_t(predictions.size());
  if (int64_t(golden.data.size()) < n)
    throw Error(ErrorCode::kBadInput,
                "--compare file '" + path + "' has " + std::to_string(golden.data.size()) +
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

// The data set: an IDX pair, read once for every model, or a folder of
// images in class subfolders, whose classes are matched to each model's
// labels (scan_image_folder) and whose images each model preprocesses.
struct DataSet {
  std::string path;
  bool folder = false;
  LabeledImages idx;
  int64_t count = 0;
};

struct EvalOptions {
  int64_t limit = 0;
  int batch = 256, timesteps = 0, threads = 1;
};

// One model over the data set.
struct Evaluation {
  std::string model_path;
  std::shared_ptr<const Model> model;  // released once evaluated
  ModelInfo info;
  int timesteps = 0;
  Totals t;
  double total_s = 0;
  std::string compare_path;  // empty: no comparison
  Comparison c;
  std::vector<int64_t> labels;               // the class of each image evaluated
  tspike::cli::ImageFolderSet image_folder;  // folder data sets only

  double accuracy() const { return double(t.correct) / double(t.images); }
  double rate(size_t k) const { return t.rate_sums[k].second / double(t.images); }
  double mean_rate() const { return t.mean_rate_sum / double(t.images); }
  double energy_nj_per_image() const { return t.energy_pj * 1e-3 / double(t.images); }
  double dense_energy_nj_per_image() const { return t.dense_energy_pj * 1e-3 / double(t.images); }
  double energy_ratio() const { return t.energy_pj > 0 ? t.dense_energy_pj / t.energy_pj : 0.0; }
};

Evaluation evaluate(const std::string& model_path, const DataSet& data, const EvalOptions& o,
                    tspike::cli::Progress& progress, const std::string& what) {
  Evaluation e;
  e.model_path = model_path;
  e.model = Model::load(model_path);
  e.info = e.model->info();
  const ModelInfo& info = e.info;
  const LabeledImages& set = data.idx;
  if (data.folder) {
    e.image_folder = tspike::cli::scan_image_folder(data.path, info);
    e.labels = e.image_folder.labels;
  } else {
    e.labels.assign(set.labels.begin(), set.labels.end());
    // Checks the model's input against the images before the long run.
    images_to_input(set, 0, 1, info);
  }
  const int64_t count = int64_t(e.labels.size());
  if (count == 0) throw Error(ErrorCode::kBadInput, "data set '" + data.path + "' has no images");
  const int64_t images = o.limit ? std::min(o.limit, count) : count;

  // The profile counts synaptic operations (about one pass over each spike
  // input per timestep: docs/profiling.md measured 1.00-1.04x the time).
  SessionOptions session_options;
  session_options.timesteps = o.timesteps;
  session_options.threads = o.threads;
  session_options.profile = true;
  Session session(e.model, session_options);
  e.timesteps = session.timesteps();
  const auto start = std::chrono::steady_clock::now();
  Totals& t = e.t;
  t.predictions.reserve(size_t(images));
  Tensor input;
  std::vector<Tensor> outputs;
  for (int64_t first = 0; first < images; first += o.batch) {
    const int64_t n = std::min<int64_t>(o.batch, images - first);
    if (data.folder)
      tspike::cli::image_folder_input(e.image_folder, first, n, *e.model, input);
    else
      images_to_input(set, first, n, info, input);
    session.run(input, outputs);
    const RunStats stats = session.stats();
    predict(outputs.at(0), n, t.predictions);
    for (int64_t i = first; i < first + n; ++i) {
      const bool right = t.predictions[i] == float(e.labels[i]);
      const size_t label = size_t(e.labels[i]);
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
    for (size_t k = 0; k < stats.firing_rates.size(); ++k)
      t.rate_sums[k].second += stats.firing_rates[k].second * n;
    t.mean_rate_sum += stats.mean_firing_rate * n;
    const Profile p = session.profile();
    t.ac += p.ac;
    t.mac += p.mac;
    t.dense_macs += p.dense_macs;
    t.energy_pj += p.energy_pj;
    t.dense_energy_pj += p.dense_energy_pj;
    progress.show(fmt::format("{}{}/{} images, accuracy so far {:.2f}%", what, t.images, images,
                              100.0 * t.correct / t.images));
  }
  progress.clear();
  e.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return e;
}

nlohmann::json to_json(const Evaluation& e, const DataSet& data, const EvalOptions& o) {
  const Totals& t = e.t;
  nlohmann::json j;
  j["model"] = e.model_path;
  j["dataset"] = data.path;
  j["dataset_layout"] = data.folder ? "image folder" : "idx";
  if (data.folder) {
    const auto& f = e.image_folder;
    j["class_folders"] = nlohmann::json::array();
    for (size_t k = 0; k < f.classes.size(); ++k)
      j["class_folders"].push_back({{"folder", f.classes[k]}, {"index", f.class_index[k]}});
    j["classes_matched_by"] = f.matched_by_name ? "label" : "sorted order";
  }
  j["images"] = t.images;
  j["correct"] = t.correct;
  j["accuracy"] = e.accuracy();
  j["timesteps"] = e.timesteps;
  j["batch"] = o.batch;
  j["threads"] = o.threads;
  j["time_ms_per_image"] = t.run_ms / double(t.images);
  j["total_time_s"] = e.total_s;
  j["firing_rates"] = nlohmann::json::object();
  for (size_t k = 0; k < t.rate_sums.size(); ++k) j["firing_rates"][t.rate_sums[k].first] = e.rate(k);
  j["mean_firing_rate"] = e.mean_rate();
  int free = 0;
  for (const auto& l : e.info.layers) free += l.multiplication_free;
  j["energy"] = {{"ac_per_image", double(t.ac) / double(t.images)},
                 {"mac_per_image", double(t.mac) / double(t.images)},
                 {"nj_per_image", e.energy_nj_per_image()},
                 {"dense_ann_mac_per_image", double(t.dense_macs) / double(t.images)},
                 {"dense_ann_nj_per_image", e.dense_energy_nj_per_image()},
                 {"ratio_dense_ann_to_snn", e.energy_ratio()},
                 {"pj_per_ac", 0.9},
                 {"pj_per_mac", 4.6}};
  j["layers"] = {{"total", e.info.layers.size()}, {"multiplication_free", free}};
  j["classes"] = nlohmann::json::array();
  for (size_t c = 0; c < t.class_images.size(); ++c)
    if (t.class_images[c])
      j["classes"].push_back({{"index", c},
                              {"label", label_of(e.info, int64_t(c))},
                              {"images", t.class_images[c]},
                              {"correct", t.class_correct[c]},
                              {"accuracy", double(t.class_correct[c]) / double(t.class_images[c])}});
  if (!e.compare_path.empty()) {
    const double identical = double(e.c.identical) / double(t.images);
    const double reference = double(e.c.reference_correct) / double(t.images);
    j["compare"] = {{"file", e.compare_path},
                    {"identical", e.c.identical},
                    {"identical_fraction", identical},
                    {"reference_accuracy", reference},
                    {"accuracy_difference", e.accuracy() - reference}};
  }
  return j;
}

std::string energy_line(const Evaluation& e) {
  return fmt::format(
      "energy per image (45 nm: 0.9 pJ per AC, 4.6 pJ per MAC): {:.1f} nJ ({:.0f} AC, {:.0f} MAC); "
      "the same network as a dense ANN: {:.1f} nJ; ratio dense ANN / SNN: {:.2f}",
      e.energy_nj_per_image(), double(e.t.ac) / double(e.t.images), double(e.t.mac) / double(e.t.images),
      e.dense_energy_nj_per_image(), e.energy_ratio());
}

void print_one(const Evaluation& e, const DataSet& data, const EvalOptions& o) {
  const Totals& t = e.t;
  const ModelInfo& info = e.info;
  fmt::print("model: {}\n", e.model_path);
  if (data.folder)
    fmt::print("data set: {} ({} of {} images in {} class folders, matched to classes by {})\n", data.path,
               t.images, e.labels.size(), e.image_folder.classes.size(),
               e.image_folder.matched_by_name ? "label" : "sorted order");
  else
    fmt::print("data set: {} ({} of {} images, {}x{})\n", data.path, t.images, data.idx.count,
               data.idx.height, data.idx.width);
  fmt::print("accuracy: {:.2f}% ({} / {})\n", 100 * e.accuracy(), t.correct, t.images);
  fmt::print("timesteps: {}  batch: {}  threads: {}  time: {:.3f} ms per image ({:.1f} s in total)\n",
             e.timesteps, o.batch, o.threads, t.run_ms / double(t.images), e.total_s);
  fmt::print("firing rate: {:.2f}% (", 100 * e.mean_rate());
  for (size_t k = 0; k < t.rate_sums.size(); ++k)
    fmt::print("{}{} {:.2f}%", k ? ", " : "", t.rate_sums[k].first, 100 * e.rate(k));
  fmt::print(")\n");
  fmt::print("{}\n", energy_line(e));
  fmt::print("accuracy per class:\n");
  for (size_t c = 0; c < t.class_images.size(); ++c)
    if (t.class_images[c])
      fmt::print("  {:>2} {:<20} {:6.2f}% ({} / {})\n", c, label_of(info, int64_t(c)),
                 100.0 * t.class_correct[c] / t.class_images[c], t.class_correct[c], t.class_images[c]);
  if (!e.compare_path.empty())
    fmt::print(
        "compared with {}: {} / {} predictions identical ({:.2f}%); its accuracy {:.2f}%, "
        "difference {:+.2f} percentage points\n",
        e.compare_path, e.c.identical, t.images, 100.0 * e.c.identical / t.images,
        100.0 * e.c.reference_correct / t.images,
        100 * (e.accuracy() - double(e.c.reference_correct) / t.images));
}

// One row per model: the columns of the model zoo table.
void print_table(const std::vector<Evaluation>& evals) {
  size_t width = 5;
  for (const auto& e : evals) width = std::max(width, e.model_path.size());
  fmt::print("{:<{}} {:>6} {:>9} {:>11} {:>3} {:>8} {:>9} {:>9} {:>8}  {}\n", "model", width, "images",
             "accuracy", "same as ref", "T", "firing", "SNN nJ", "ANN nJ", "ANN/SNN",
             "firing rate per spike layer");
  for (const auto& e : evals) {
    std::string rates;
    for (size_t k = 0; k < e.t.rate_sums.size(); ++k)
      rates += fmt::format("{}{} {:.1f}%", k ? ", " : "", e.t.rate_sums[k].first, 100 * e.rate(k));
    const std::string same = e.compare_path.empty() ? "-" : fmt::format("{}/{}", e.c.identical, e.t.images);
    fmt::print("{:<{}} {:>6} {:>8.2f}% {:>11} {:>3} {:>7.1f}% {:>9.1f} {:>9.1f} {:>8.2f}  {}\n", e.model_path,
               width, e.t.images, 100 * e.accuracy(), same, e.timesteps, 100 * e.mean_rate(),
               e.energy_nj_per_image(), e.dense_energy_nj_per_image(), e.energy_ratio(), rates);
  }
  fmt::print(
      "accuracy over the data set; same as ref: predictions equal to the reference's (--compare, "
      "--golden); firing: all spike layers (spikes / neuron-timesteps); energy per image at 45 nm "
      "(0.9 pJ per AC, 4.6 pJ per MAC) against the same network as a dense ANN\n");
}

// --golden DIR: DIR/<model file name without .onnx>.test_predictions.npy, if it exists.
std::string golden_for(const std::string& dir, const std::string& model_path) {
  std::string stem = std::filesystem::path(model_path).filename().string();
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".onnx") == 0) stem.resize(stem.size() - 5);
  const auto path = std::filesystem::path(dir) / (stem + ".test_predictions.npy");
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) ? path.string() : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Evaluate TernarySpike models on a labeled IDX test set (MNIST, Fashion-MNIST) or a folder of "
      "images, one subfolder per class: accuracy, firing rates, energy against the dense ANN.",
      "tseval"};
  std::vector<std::string> model_paths;
  std::string dataset = default_dataset(), predictions_path, compare_path, golden_dir;
  EvalOptions o;
  bool json = false, quiet = false;
  app.add_option("model", model_paths, "Model files (.onnx); several: one table, one row per model")
      ->required();
  app.add_option("-d,--dataset", dataset,
                 fmt::format("Folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, or .gz "
                             "(default: {}, from Debian's dataset-fashion-mnist, if installed); or a folder "
                             "of images in one subfolder per class, named after the model's labels (else "
                             "the subfolders in sorted order are classes 0, 1, ...)",
                             kFashionMnistDir));
  app.add_option("-n,--limit", o.limit, "Evaluate only the first N images")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  app.add_option("-b,--batch", o.batch, "Images per Session::run")->check(CLI::Range(1, 100000));
  app.add_option("-t,--timesteps", o.timesteps, "Timesteps T (default: each model's tspike.timesteps)")
      ->check(CLI::Range(1, Limits{}.max_timesteps));
  app.add_option("--threads", o.threads, "Worker threads")->check(CLI::Range(1, 256));
  app.add_option("--predictions", predictions_path,
                 "Write the predicted class indices as float32 .npy (one model)");
  app.add_option(
      "--compare", compare_path,
      "Count predictions equal to these (a float32 .npy of class indices, e.g. PyTorch's; one model)");
  app.add_option("--golden", golden_dir,
                 "Compare each model with DIR/<model name>.test_predictions.npy where that file exists");
  app.add_flag("--json", json, "Print one JSON object (several models: {\"models\": [...]})");
  app.add_flag("-q,--quiet", quiet, "No progress; print only the accuracy in percent (per model)");
  app.footer(
      "Examples:\n"
      "  tseval models/fashion_tsnet.onnx\n"
      "  tseval models/fashion_tsnet.onnx --compare models/golden/fashion_tsnet.test_predictions.npy\n"
      "  tseval models/*.onnx --golden models/golden          # the model zoo table\n"
      "  tseval model.onnx --dataset ~/mnist --limit 1000 --batch 100 --threads 2 --json\n"
      "  tseval models/fashion_tsnet.onnx --dataset photos/    (photos/Sneaker/*.png, photos/Bag/*.png, "
      "...)");

  return tspike::cli::run_tool(app, argc, argv, [&]() -> int {
    if (model_paths.size() > 1 && (!compare_path.empty() || !predictions_path.empty())) {
      fmt::print(
          stderr,
          "tseval: error: --compare and --predictions take one model; with several use --golden DIR\n");
      return tspike::cli::kExitUsage;
    }
    if (dataset.empty())
      throw Error(ErrorCode::kIO, fmt::format("no data set: {} does not exist; install the Debian package "
                                              "dataset-fashion-mnist or give --dataset DIR",
                                              kFashionMnistDir));
    DataSet data;
    data.path = dataset;
    data.folder = tspike::cli::is_image_folder(dataset);
    if (!data.folder) {
      Limits limits;  // the data set is read once, within the default limits
      data.idx = load_idx_dir(dataset, "t10k", limits);
      if (data.idx.count == 0) throw Error(ErrorCode::kBadInput, "data set '" + dataset + "' has no images");
    }
    tspike::cli::Progress progress(!quiet && !json);
    std::vector<Evaluation> evals;
    for (size_t m = 0; m < model_paths.size(); ++m) {
      const std::string what =
          model_paths.size() > 1 ? fmt::format("model {}/{}: ", m + 1, model_paths.size()) : std::string();
      evals.push_back(evaluate(model_paths[m], data, o, progress, what));
      Evaluation& e = evals.back();
      e.compare_path = !compare_path.empty() ? compare_path
                       : golden_dir.empty()  ? std::string()
                                             : golden_for(golden_dir, e.model_path);
      if (!e.compare_path.empty()) e.c = compare(e.compare_path, e.t.predictions, e.labels);
      e.model.reset();  // the weights are not needed past here
    }
    if (!predictions_path.empty())
      tspike::cli::write_npy_file(predictions_path, Tensor({evals[0].t.images}, evals[0].t.predictions));

    if (json) {
      if (evals.size() == 1) {
        fmt::print("{}\n", to_json(evals[0], data, o).dump(2));
      } else {
        nlohmann::json j;
        for (const auto& e : evals) j["models"].push_back(to_json(e, data, o));
        fmt::print("{}\n", j.dump(2));
      }
      return 0;
    }
    if (quiet) {
      for (const auto& e : evals) fmt::print("{:.2f}\n", 100 * e.accuracy());
      return 0;
    }
    if (evals.size() == 1)
      print_one(evals[0], data, o);
    else
      print_table(evals);
    return 0;
  });
}
