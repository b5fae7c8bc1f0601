// SPDX-License-Identifier: Apache-2.0
#include "tools/image_folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace tspike::cli {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"})
    if (ext == e) return true;
  return false;
}

// A name as compared with the labels: lower case, letters and digits only.
std::string comparable(const std::string& name) {
  std::string s;
  for (unsigned char c : name)
    if (std::isalnum(c)) s += char(std::tolower(c));
  return s;
}

// The label a folder names: the same text, else the only label equal to it
// without case and punctuation; -1 when none (or more than one) is.
int64_t label_index(const std::string& folder, const std::vector<std::string>& labels) {
  const auto exact = std::find(labels.begin(), labels.end(), folder);
  if (exact != labels.end()) return exact - labels.begin();
  int64_t found = -1;
  for (size_t k = 0; k < labels.size(); ++k) {
    if (comparable(labels[k]) != comparable(folder) || comparable(folder).empty()) continue;
    if (found >= 0) return -1;
    found = int64_t(k);
  }
  return found;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

}  // namespace

bool is_image_folder(const std::string& dir) {
  std::error_code ec;
  bool subfolder = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().find("-idx") != std::string::npos) return false;
    subfolder |= it->is_directory(ec);
  }
  return subfolder;
}

ImageFolderSet scan_image_folder(const std::string& dir, const ModelInfo& info) {
  ImageFolderSet set;
  set.dir = dir;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) set.classes.push_back(it->path().filename().string());
  if (ec) throw Error(ErrorCode::kIO, fmt::format("{}: cannot list the folder: {}", dir, ec.message()));
  if (set.classes.empty()) throw Error(ErrorCode::kBadInput, fmt::format("{}: no class subfolder", dir));
  std::sort(set.classes.begin(), set.classes.end());

  const auto& labels = info.metadata.labels;
  std::vector<std::string> unknown;
  for (const auto& c : set.classes) {
    const int64_t index = label_index(c, labels);
    if (index < 0) unknown.push_back(c);
    set.class_index.push_back(index);
  }
  set.matched_by_name = unknown.empty();
  if (!set.matched_by_name && unknown.size() != set.classes.size())
    throw Error(ErrorCode::kBadInput,
                fmt::format("{}: the subfolders {} are not labels of the model, the others are; name every "
                            "subfolder after a label, or none (then the sorted order gives the classes)",
                            dir, joined(unknown)));
  if (!set.matched_by_name) {
    const auto& out = info.outputs.at(0).shape;
    const int64_t model_classes = out.size() >= 2 ? out.back() : 0;
    if (model_classes > 0 && int64_t(set.classes.size()) > model_classes)
      throw Error(ErrorCode::kBadInput, fmt::format("{}: {} class subfolders but the model has {} classes",
                                                    dir, set.classes.size(), model_classes));
    for (size_t k = 0; k < set.classes.size(); ++k) set.class_index[k] = int64_t(k);
  }

  for (size_t k = 0; k < set.classes.size(); ++k) {
    std::vector<std::string> files;
    const fs::path sub = fs::path(dir) / set.classes[k];
    for (fs::directory_iterator it(sub, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && is_image(it->path())) files.push_back(it->path().string());
    if (ec)
      throw Error(ErrorCode::kIO, fmt::format("{}: cannot list the folder: {}", sub.string(), ec.message()));
    std::sort(files.begin(), files.end());
    set.files.insert(set.files.end(), files.begin(), files.end());
    set.labels.insert(set.labels.end(), files.size(), set.class_index[k]);
  }
  if (set.files.empty())
    throw Error(ErrorCode::kBadInput,
                fmt::format("{}: no image (.png .jpg .jpeg .bmp .pgm .ppm) in its class subfolders", dir));
  return set;
}

void image_folder_input(const ImageFolderSet& set, int64_t first, int64_t count, const Model& model,
                        Tensor& out) {
  out.shape.clear();
  out.data.clear();
  for (int64_t i = first; i < first + count; ++i) {
    Tensor one = load_image(set.files[size_t(i)], model.info(), model.limits());
    if (out.shape.empty()) out.shape = one.shape, out.shape[0] = 0;
    out.shape[0] += one.shape[0];
    out.data.insert(out.data.end(), one.data.begin(), one.data.end());
  }
}

}  // namespace tspike::cli
