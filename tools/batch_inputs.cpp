// SPDX-License-Identifier: Apache-2.0
#include "tools/batch_inputs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <glob.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "tools/cli_common.hpp"
#include "tools/ranking.hpp"

namespace tspike::cli {

namespace fs = std::filesystem;

namespace {

bool is_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool readable_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".npy"})
    if (ext == e) return true;
  return false;
}

std::vector<std::string> folder_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && readable_extension(it->path())) files.push_back(it->path().string());
  if (ec) throw Error(ErrorCode::kIO, fmt::format("{}: cannot list the folder: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw Error(
        ErrorCode::kBadInput,
        fmt::format("{}: the folder holds no image (.png .jpg .jpeg .bmp .pgm .ppm) or .npy file", dir));
  return files;
}

std::vector<std::string> glob_files(const std::string& pattern) {
  glob_t g{};
  const int rc = glob(pattern.c_str(), 0, nullptr, &g);  // sorted, as the shell does
  std::vector<std::string> files;
  if (rc == 0)
    for (size_t k = 0; k < g.gl_pathc; ++k) files.push_back(g.gl_pathv[k]);
  globfree(&g);
  if (files.empty())
    throw Error(ErrorCode::kBadInput, fmt::format("{}: no file matches the pattern", pattern));
  return files;
}

// One file of the list and what came of it.
struct Item {
  std::string path;
  Tensor input;
  std::string error;            // empty: it ran
  std::vector<Tensor> outputs;  // this file's samples of every output
  bool image = false;
  ImagePreprocessing preprocessing;  // what was done to an image to fit the model
};

void load_input(Item& item, const Model& model) {
  item.image = fs::path(item.path).extension() != ".npy";
  item.input = item.image ? load_image(item.path, model.info(), model.limits(), &item.preprocessing)
                          : load_npy(item.path, model.limits());
}

bool same_sample_shape(const Tensor& a, const Tensor& b) {
  return a.shape.size() == b.shape.size() && !a.shape.empty() &&
         std::equal(a.shape.begin() + 1, a.shape.end(), b.shape.begin() + 1);
}

// Runs items[first, last) as one batch (their inputs stacked along the
// batch axis) and hands each its own samples of every output.
void run_together(Session& session, std::vector<Item>& items, size_t first, size_t last) {
  Tensor stacked;
  stacked.shape = items[first].input.shape;
  stacked.shape[0] = 0;
  for (size_t k = first; k < last; ++k) {
    stacked.shape[0] += items[k].input.shape[0];
    stacked.data.insert(stacked.data.end(), items[k].input.data.begin(), items[k].input.data.end());
  }
  const std::vector<Tensor> outputs = session.run(stacked);
  for (const Tensor& o : outputs)
    if (o.shape.empty() || o.shape[0] != stacked.shape[0])
      throw Error(ErrorCode::kBadInput, fmt::format("output '{}' {} has no batch axis of {}", o.name,
                                                    shape_to_string(o.shape), stacked.shape[0]));
  std::vector<int64_t> offset(outputs.size(), 0);
  for (size_t k = first; k < last; ++k) {
    const int64_t samples = items[k].input.shape[0];
    for (size_t o = 0; o < outputs.size(); ++o) {
      const int64_t per_sample = element_count(outputs[o].shape) / outputs[o].shape[0];
      Shape shape = outputs[o].shape;
      shape[0] = samples;
      const auto begin = outputs[o].data.begin() + offset[o];
      Tensor part(shape, std::vector<float>(begin, begin + samples * per_sample));
      part.name = outputs[o].name;
      items[k].outputs.push_back(std::move(part));
      offset[o] += samples * per_sample;
    }
  }
}

void run_alone(Session& session, Item& item) {
  try {
    std::vector<Item> one(1);
    one[0].input = std::move(item.input);
    run_together(session, one, 0, 1);
    item.outputs = std::move(one[0].outputs);
  } catch (const std::exception& e) {
    item.error = e.what();
  }
}

// Keys in a fixed order, "file" first, for a reader of the lines.
nlohmann::ordered_json json_of(const Item& item, const ModelInfo& info, int top) {
  nlohmann::ordered_json j;
  j["file"] = item.path;
  if (!item.error.empty()) {
    j["error"] = item.error;
    return j;
  }
  j["outputs"] = nlohmann::ordered_json::array();
  for (const auto& o : item.outputs) {
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    for (float v : o.data)
      data.push_back(std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr));
    j["outputs"].push_back({{"name", o.name}, {"shape", o.shape}, {"data", std::move(data)}});
  }
  j["top"] = nlohmann::ordered_json::array();
  for (const auto& sample : top_classes(item.outputs.at(0), top)) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& r : sample)
      list.push_back(
          {{"index", r.index}, {"label", label_of(info, r.index)}, {"probability", r.probability}});
    j["top"].push_back(std::move(list));
  }
  if (item.image)  // as tsrun's JSON for one image
    j["preprocessing"] = {{"width", item.preprocessing.width},
                          {"height", item.preprocessing.height},
                          {"channels", item.preprocessing.channels},
                          {"resize", to_string(info.metadata.image_resize)},
                          {"center_crop", info.metadata.image_center_crop},
                          {"notes", item.preprocessing.notes}};
  return j;
}

// "file: label (class i, p = 0.9876)"; a file of several samples lists
// them, separated by "; ".
std::string line_of(const Item& item, const ModelInfo& info, bool quiet) {
  // Errors are one line, as the tools' own.
  std::string error = item.error;
  std::replace(error.begin(), error.end(), '\n', ' ');
  if (!error.empty()) return fmt::format("{}: error: {}", item.path, error);
  std::string line = item.path + ":";
  const auto ranked = top_classes(item.outputs.at(0), 1);
  for (size_t s = 0; s < ranked.size(); ++s) {
    const Ranked& best = ranked[s].front();
    line += s ? "; " : " ";
    line += quiet ? label_of(info, best.index)
                  : fmt::format("{} (class {}, p = {:.4f})", label_of(info, best.index), best.index,
                                best.probability);
  }
  return line;
}

}  // namespace

// Measured with tsrun over 512 Fashion-MNIST images (fashion_tsnet, T = 4)
// on a 2-core AMD EPYC under a load of about 9, Session::run time per image:
// with --threads 2, batches of 16 take 0.35 ms against 0.6-0.7 ms for one
// image at a time (the threads need samples to share), 0.40-0.50 ms for 64;
// with one thread the batch size changes little (0.7-0.9 ms from 1 to 64).
// Larger batches hold more activations and show no gain.
int default_batch_size() { return 16; }

bool is_batch_request(const std::vector<std::string>& inputs) {
  if (inputs.size() != 1) return inputs.size() > 1;
  std::error_code ec;
  if (fs::is_directory(inputs[0], ec)) return true;
  return is_pattern(inputs[0]) && !fs::exists(inputs[0], ec);
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& arg : inputs) {
    std::error_code ec;
    std::vector<std::string> more = fs::is_directory(arg, ec)                 ? folder_files(arg)
                                    : is_pattern(arg) && !fs::exists(arg, ec) ? glob_files(arg)
                                                                              : std::vector<std::string>{arg};
    files.insert(files.end(), more.begin(), more.end());
  }
  return files;
}

int run_batch(Session& session, const std::vector<std::string>& files, const BatchOptions& options) {
  const Model& model = session.model();
  const ModelInfo& info = model.info();
  // A sequence input is [T, N, ...]: its batch axis is not the first, so
  // each file runs alone.
  const int64_t batch = info.metadata.encoding == Encoding::kSequence ? 1
                        : options.batch > 0                           ? options.batch
                                                                      : default_batch_size();
  Progress progress(!options.quiet && int64_t(files.size()) > batch);
  size_t failed = 0, done = 0;
  int64_t images = 0;
  double run_ms = 0;
  for (size_t next = 0; next < files.size();) {
    // Read up to `batch` samples' worth of files.
    std::vector<Item> items;
    int64_t samples = 0;
    while (next < files.size() && samples < batch) {
      Item item;
      item.path = files[next++];
      try {
        load_input(item, model);
        if (item.input.shape.empty() || item.input.shape[0] < 1)
          throw Error(ErrorCode::kBadInput, fmt::format("{}: shape {} has no batch axis", item.path,
                                                        shape_to_string(item.input.shape)));
        samples += item.input.shape[0];
      } catch (const std::exception& e) {
        item.error = e.what();
      }
      items.push_back(std::move(item));
    }
    // Runs of consecutive readable files with the same sample shape.
    for (size_t first = 0; first < items.size();) {
      if (!items[first].error.empty()) {
        ++first;
        continue;
      }
      size_t last = first + 1;
      while (last < items.size() && items[last].error.empty() &&
             same_sample_shape(items[first].input, items[last].input))
        ++last;
      try {
        run_together(session, items, first, last);
        for (size_t k = first; k < last; ++k) images += items[k].input.shape[0];
        run_ms += session.stats().time_ms;
      } catch (const std::exception&) {
        // Which file was it? Each alone says.
        for (size_t k = first; k < last; ++k) {
          items[k].outputs.clear();
          const int64_t n = items[k].input.shape[0];
          run_alone(session, items[k]);
          if (items[k].error.empty()) {
            images += n;
            run_ms += session.stats().time_ms;
          }
        }
      }
      first = last;
    }
    progress.clear();
    for (const Item& item : items) {
      failed += !item.error.empty();
      // What was done to an image, as for one input (in the JSON with --json).
      if (!options.quiet && !options.json && item.error.empty() && !item.preprocessing.notes.empty())
        fmt::print(stderr, "tsrun: note: image '{}' ({}x{}): {}\n", item.path, item.preprocessing.width,
                   item.preprocessing.height, fmt::join(item.preprocessing.notes, "; "));
      if (options.json)
        fmt::print("{}\n", json_of(item, info, options.top).dump());
      else
        fmt::print("{}\n", line_of(item, info, options.quiet));
    }
    std::fflush(stdout);
    done += items.size();
    progress.show(fmt::format("{}/{} files", done, files.size()));
  }
  progress.clear();
  if (failed || !options.quiet)
    fmt::print(stderr, "tsrun: {} files: {} ran, {} failed; {:.3f} ms per image in Session::run\n",
               files.size(), files.size() - failed, failed, images ? run_ms / double(images) : 0.0);
  return failed ? kExitError : kExitOk;
}

}  // namespace tspike::cli
