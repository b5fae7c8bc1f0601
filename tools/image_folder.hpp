// SPDX-License-Identifier: Apache-2.0
// tseval --dataset DIR for a folder of images laid out one subfolder per
// class (the ImageFolder convention of torchvision: DIR/CLASS/IMAGE).
#pragma once

#include <string>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::cli {

struct ImageFolderSet {
  std::string dir;
  std::vector<std::string> classes;  // subfolder names, sorted
  std::vector<int64_t> class_index;  // the model's class for each subfolder
  bool matched_by_name = false;      // true: by the model's labels; false: by sorted order
  std::vector<std::string> files;    // every image, subfolder by subfolder, each sorted by name
  std::vector<int64_t> labels;       // the model's class of each file
};

// True when `dir` holds subfolders and no IDX file (*-idx?-ubyte[.gz]).
bool is_image_folder(const std::string& dir);

// Lists DIR/CLASS/* images (.png .jpg .jpeg .bmp .pgm .ppm) and gives each
// subfolder a class of the model:
// - every subfolder name is one of the model's labels (tspike.labels):
//   the class of that label, whatever the order of the folders. A name
//   equals a label as it is, or else when both are the same without case and
//   without everything but letters and digits (a folder cannot hold "/":
//   "t-shirt_top" is "T-shirt/top", "ankle_boot" is "Ankle boot");
// - no subfolder name is a label (or the model has none): the subfolders
//   sorted by name are classes 0, 1, 2, ... (as torchvision's ImageFolder
//   numbers them);
// - some are labels and some are not: an error naming those that are not
//   (a misspelt class would otherwise shift every class after it).
// Throws Error(kBadInput) for a folder with no class subfolder or no image,
// or more subfolders than the model has classes.
ImageFolderSet scan_image_folder(const std::string& dir, const ModelInfo& info);

// Images [first, first + count) read and preprocessed as tsrun does
// (load_image), stacked as the model's input [count, C, H, W].
void image_folder_input(const ImageFolderSet& set, int64_t first, int64_t count, const Model& model,
                        Tensor& out);

}  // namespace tspike::cli
