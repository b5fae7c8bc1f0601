// SPDX-License-Identifier: Apache-2.0
// tsrun --trace DIR: every TernarySpike node's output and every graph
// output at every timestep, as .npy files with time as the leading axis, and
// DIR/trace.json naming them (docs/getting-started.md shows the layout).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "tspike/session.hpp"

namespace tspike::cli {

// Runs `input` through `session` as Session::run does (the same outputs,
// the same readout, the same checks), watching the spike nodes, and writes
// the trace into `dir` (created if missing). `requested_timesteps` is the
// T the caller asked for (0: none), checked against a sequence's length.
// Returns the outputs after the readout.
std::vector<Tensor> run_traced(Session& session, const Tensor& input, const std::string& dir,
                               int requested_timesteps = 0);

// A file name stem for an untrusted name (a node or output name from the
// model file): only [A-Za-z0-9_-] (so no path separator and never "." or
// ".."), at most 80 characters, not empty, and not in `used` compared
// without case (some file systems ignore case); the result is added to `used`.
std::string file_stem(const std::string& name, std::set<std::string>& used);

}  // namespace tspike::cli
