// SPDX-License-Identifier: Apache-2.0
// A runner subprocess (tools/bench/torch_eager.py, ort_bench.mjs) that speaks
// a line protocol on its stdin/stdout: it prints {"ready": true} once loaded;
// "run" runs one inference and prints {"ms": ...}; "done" prints its final
// JSON and exits. Its stderr goes to ours.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tspike::bench {

class Child {
 public:
  // Starts argv[0] (looked up in PATH) with argv. Throws std::runtime_error.
  Child(std::string name, const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void send(const std::string& line);
  // The next line of its stdout; throws std::runtime_error when it exited.
  std::string read_line();
  // Waits for the exit; returns the exit status (or -1 when killed).
  int wait();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
};

}  // namespace tspike::bench
