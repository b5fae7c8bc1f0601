// SPDX-License-Identifier: Apache-2.0
#include "tools/output_file.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tspike/error.hpp"
#include "tspike/input.hpp"

namespace tspike::cli {

namespace fs = std::filesystem;

TempFile::TempFile(const std::string& target, const char* tag) : target_(target) {
  std::string pattern = target + "." + tag + "-XXXXXX";
  const int fd = mkstemp(pattern.data());
  if (fd < 0)
    throw Error(ErrorCode::kIO,
                fmt::format("{}: cannot create a file beside it: {}", target, std::strerror(errno)));
  // mkstemp makes it 0600; the output gets what a new file would get.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  path_ = pattern;
}

TempFile::~TempFile() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
  }
}

void TempFile::commit() { commit(target_); }

void TempFile::commit(const std::string& target) {
  std::error_code ec;
  fs::rename(path_, target, ec);
  if (ec) throw Error(ErrorCode::kIO, fmt::format("{}: cannot write it: {}", target, ec.message()));
  path_.clear();
}

namespace {
// An error about the temporary file, told about the target.
Error about_target(const Error& e, const TempFile& file) {
  std::string m = e.what();
  for (size_t at = 0; (at = m.find(file.path(), at)) != std::string::npos; at += file.target().size())
    m.replace(at, file.path().size(), file.target());
  return Error(e.code(), m);
}
}  // namespace

void write_text(TempFile& file, const std::string& contents) {
  std::FILE* f = std::fopen(file.path().c_str(), "wb");
  if (!f)
    throw Error(ErrorCode::kIO, fmt::format("{}: cannot write it: {}", file.target(), std::strerror(errno)));
  const bool written = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed)
    throw Error(ErrorCode::kIO, fmt::format("{}: cannot write it: {}", file.target(),
                                            std::strerror(written ? errno : write_errno)));
}

void write_npy(TempFile& file, const Tensor& tensor) {
  try {
    save_npy(file.path(), tensor);
  } catch (const Error& e) {
    throw about_target(e, file);
  }
}

void write_file(const std::string& target, const std::string& contents) {
  TempFile file(target, "tmp");
  write_text(file, contents);
  file.commit();
}

void write_npy_file(const std::string& target, const Tensor& tensor) {
  TempFile file(target, "tmp");
  write_npy(file, tensor);
  file.commit();
}

}  // namespace tspike::cli
