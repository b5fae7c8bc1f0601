// SPDX-License-Identifier: Apache-2.0
// Every file a tool writes goes through a temporary file beside its target
// and is renamed onto it only once complete: a failure (a bad input, a full
// disk, a file size limit) leaves no output behind, and an older file of
// that name stays as it was until the new one is whole.
#pragma once

#include <string>

#include "tspike/tensor.hpp"

namespace tspike::cli {

// A file beside `target` that no one else uses (target.TAG-XXXXXX), removed
// when this goes unless committed.
class TempFile {
 public:
  TempFile(const std::string& target, const char* tag);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  const std::string& target() const { return target_; }
  // Renames it to the target; it is then no longer removed.
  void commit();
  // The same onto another name (tsconvert's output when the export went
  // beside it).
  void commit(const std::string& target);

 private:
  std::string path_, target_;
};

// Writes `contents` to a TempFile of `target`, ready to commit. Errors name
// `target`, not the temporary name.
void write_text(TempFile& file, const std::string& contents);
// save_npy into a TempFile of `target`; errors name `target`.
void write_npy(TempFile& file, const Tensor& tensor);

// One file written whole or not at all: write_text + commit.
void write_file(const std::string& target, const std::string& contents);
// save_npy, written whole or not at all.
void write_npy_file(const std::string& target, const Tensor& tensor);

}  // namespace tspike::cli
