// SPDX-License-Identifier: Apache-2.0
// tsconvert --from-reference: runs the Python exporter in a child process.
#include "tools/from_reference.hpp"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "tspike/error.hpp"

extern char** environ;

namespace tspike::cli {

namespace fs = std::filesystem;

namespace {

// Imports first, so that a missing PyTorch or package is one line naming
// what to install, not a traceback.
constexpr const char* kLauncher = R"py(import sys
try:
    import torch
except ImportError as e:
    sys.exit(f"error: {e}: tsconvert --from-reference needs PyTorch (Debian: python3-torch)")
try:
    from tspike.torch.reference_checkpoint import main
except ImportError as e:
    sys.exit(f"error: {e}: the Python package tspike is not found (build it, or set TSPIKE_PYTHONPATH)")
sys.exit(main(sys.argv[1:])))py";

// Where the package tspike (with tspike/torch) is: $TSPIKE_PYTHONPATH, else
// beside this program in the build tree (build/tools -> build/python) or
// the install (bin -> the site directory), else the source tree it was
// built from; empty: the interpreter's own path.
std::string package_dir() {
  if (const char* env = std::getenv("TSPIKE_PYTHONPATH"); env && *env) return env;
  std::error_code ec;
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(exe_dir.parent_path() / "python");
#ifdef TSPIKE_PYTHON_INSTALL_DIR
    candidates.push_back(exe_dir.parent_path() / TSPIKE_PYTHON_INSTALL_DIR);
#endif
  }
#ifdef TSPIKE_SOURCE_PYTHON_DIR
  candidates.push_back(TSPIKE_SOURCE_PYTHON_DIR);
#endif
  for (const auto& dir : candidates)
    if (fs::exists(dir / "tspike" / "torch" / "reference_checkpoint.py", ec)) return dir.string();
  return {};
}

}  // namespace

std::vector<std::string> export_reference_checkpoint(const ReferenceExport& e) {
  const char* env_python = std::getenv("TSPIKE_PYTHON");
  const std::string python = env_python && *env_python ? env_python : "/usr/bin/python3";
  std::vector<std::string> args = {python, "-c", kLauncher, e.arch, e.checkpoint, "-o", e.output};
  args.insert(args.end(), e.options.begin(), e.options.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The environment, with the package's folder in front of PYTHONPATH.
  std::vector<std::string> env_strings;
  const std::string dir = package_dir();
  const char* old_path = std::getenv("PYTHONPATH");
  for (char** v = environ; *v; ++v)
    if (std::strncmp(*v, "PYTHONPATH=", 11) != 0) env_strings.emplace_back(*v);
  if (!dir.empty())
    env_strings.push_back("PYTHONPATH=" + dir + (old_path && *old_path ? ":" + std::string(old_path) : ""));
  else if (old_path)
    env_strings.push_back(std::string("PYTHONPATH=") + old_path);
  std::vector<char*> envp;
  for (auto& v : env_strings) envp.push_back(v.data());
  envp.push_back(nullptr);

  // The child's stdout (its notes) comes back through a pipe; stderr is ours.
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0)
    throw Error(ErrorCode::kIO, fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, python.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    throw Error(ErrorCode::kIO,
                fmt::format("cannot run {} ({}): --from-reference needs Python 3 with PyTorch "
                            "(Debian: python3-torch), or TSPIKE_PYTHON naming such an interpreter",
                            python, std::strerror(spawned)));
  }
  std::string out;
  char buf[4096];
  for (ssize_t got; (got = read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, size_t(got));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(
        ErrorCode::kInvalidModel,
        fmt::format("{}: exporting it as {} failed (the exporter's message is above)", e.checkpoint, e.arch));
  std::vector<std::string> notes;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.rfind("wrote ", 0) != 0) notes.push_back(line);
  return notes;
}

}  // namespace tspike::cli
